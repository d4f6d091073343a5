"""Split a restaurant bill between people, tip included, to the cent."""

from __future__ import annotations

from decimal import Decimal

from ledger.money import Money


def with_tip(total: Money, percent: Decimal | int | str) -> Money:
    """``total`` plus a tip of ``percent`` per cent, rounded half up."""
    return total + total.multiply(Decimal(percent) / 100)


def split_bill(
    total: Money, people: list[str], percent: Decimal | int | str = 0
) -> dict[str, Money]:
    """What each person owes; the first people in the list cover any odd cents."""
    if not people:
        raise ValueError("nobody to split the bill between")
    if len(set(people)) != len(people):
        raise ValueError("the same person is listed twice")
    shares = with_tip(total, percent).allocate([1] * len(people))
    return dict(zip(people, shares, strict=True))


def summary(shares: dict[str, Money]) -> str:
    """One line per person, names left-aligned, amounts right-aligned."""
    width = max(len(name) for name in shares)
    amounts = {name: money.format() for name, money in shares.items()}
    amount_width = max(len(text) for text in amounts.values())
    return "\n".join(
        f"{name:<{width}}  {amounts[name]:>{amount_width}}" for name in shares
    )
