"""Monthly statements: opening balance, the month's entries, closing balance."""

from __future__ import annotations

from dataclasses import dataclass

from bankcore.account import Account, Entry


@dataclass(frozen=True)
class Statement:
    """One calendar month of an account."""

    opening: int
    entries: list[Entry]
    closing: int


def statement(account: Account, year: int, month: int) -> Statement:
    """The statement for ``year``-``month``."""
    before = [e for e in account.entries if (e.day.year, e.day.month) < (year, month)]
    during = [e for e in account.entries if (e.day.year, e.day.month) == (year, month)]
    opening = sum(e.amount for e in before)
    closing = opening + sum(e.amount for e in during)
    return Statement(opening, sorted(during, key=lambda e: e.day), closing)


def render(st: Statement) -> str:
    """A plain-text statement with a running balance column."""
    lines = [f"{'opening balance':<30}{st.opening / 100:>12.2f}"]
    running = st.opening
    for entry in st.entries:
        running += entry.amount
        lines.append(f"{entry.day.isoformat()} {entry.memo:<19}{entry.amount / 100:>12.2f}"
                     f"{running / 100:>12.2f}")
    lines.append(f"{'closing balance':<30}{st.closing / 100:>12.2f}")
    return "\n".join(lines)
