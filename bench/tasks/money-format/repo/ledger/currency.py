"""ISO 4217 currencies this ledger knows, with their minor-unit exponent and symbol."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Currency:
    """A currency: its code, how many decimal places it has, and how it is written."""

    code: str
    exponent: int
    symbol: str

    @property
    def factor(self) -> int:
        """Minor units per major unit (100 for USD, 1 for JPY)."""
        return 10**self.exponent


_CURRENCIES = {
    c.code: c
    for c in (
        Currency("USD", 2, "$"),
        Currency("EUR", 2, "€"),
        Currency("GBP", 2, "£"),
        Currency("JPY", 0, "¥"),
        Currency("KWD", 3, "KD "),
    )
}


def get_currency(code: str) -> Currency:
    """The currency with ISO code ``code`` (case-insensitive)."""
    try:
        return _CURRENCIES[code.upper()]
    except KeyError:
        raise ValueError(f"unknown currency {code!r}") from None
