"""Move money between accounts: both sides are booked or neither is."""

from __future__ import annotations

from datetime import date

from bankcore.account import Account

FEE_FREE_LIMIT = 100_000  # cents per transfer before a fee applies
FEE_PERCENT = 1


def transfer_fee(amount: int) -> int:
    """1 % of the part above the fee-free limit, rounded down."""
    return max(0, amount - FEE_FREE_LIMIT) * FEE_PERCENT // 100


def transfer(source: Account, target: Account, amount: int, day: date) -> int:
    """Move ``amount`` (plus any fee, paid by the sender); returns the fee."""
    if source is target:
        raise ValueError("cannot transfer to the same account")
    fee = transfer_fee(amount)
    source.withdraw(day, amount + fee, f"transfer to {target.number}")
    target.deposit(day, amount, f"transfer from {source.number}")
    return fee
