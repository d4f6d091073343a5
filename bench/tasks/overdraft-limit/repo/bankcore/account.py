"""An account with an arranged overdraft and a transaction history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


class InsufficientFunds(Exception):
    """A withdrawal would take the balance below the overdraft limit."""


@dataclass(frozen=True)
class Entry:
    """One booked transaction: positive for money in, negative for money out."""

    day: date
    amount: int
    memo: str


@dataclass
class Account:
    """``overdraft`` is how far below zero the balance may go (in cents, >= 0)."""

    number: str
    owner: str
    overdraft: int = 0
    entries: list[Entry] = field(default_factory=list)

    @property
    def balance(self) -> int:
        """The sum of all entries."""
        return sum(entry.amount for entry in self.entries)

    def available(self) -> int:
        """What can still be withdrawn, overdraft included."""
        return self.balance + self.overdraft

    def deposit(self, day: date, amount: int, memo: str = "deposit") -> None:
        """Book money in."""
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self.entries.append(Entry(day, amount, memo))

    def withdraw(self, day: date, amount: int, memo: str = "withdrawal") -> None:
        """Book money out; refused if it would exceed the arranged overdraft."""
        if amount <= 0:
            raise ValueError("withdrawal must be positive")
        if amount > self.balance:
            raise InsufficientFunds(
                f"{self.number}: {amount} requested, {self.available()} available"
            )
        self.entries.append(Entry(day, -amount, memo))
