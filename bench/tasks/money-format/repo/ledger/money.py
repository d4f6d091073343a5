"""An amount of money held as an integer count of minor units (cents)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ledger.currency import Currency, get_currency


@dataclass(frozen=True, order=True)
class Money:
    """``minor`` units of ``currency``; arithmetic refuses to mix currencies."""

    minor: int
    currency: Currency

    @classmethod
    def parse(cls, text: str, code: str) -> Money:
        """Parse ``"1,234.50"`` or an accounting negative ``"(12.00)"`` in currency ``code``."""
        currency = get_currency(code)
        cleaned = text.strip().replace(",", "")
        negative = cleaned.startswith("(") and cleaned.endswith(")")
        if negative:
            cleaned = cleaned[1:-1]
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"not an amount: {text!r}") from None
        minor = int((amount * currency.factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return cls(-minor if negative else minor, currency)

    def _check(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency.code} and {other.currency.code}")

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def multiply(self, factor: Decimal | int | str) -> Money:
        """This amount times ``factor``, rounded half up to a whole minor unit."""
        product = Decimal(self.minor) * Decimal(factor)
        return Money(int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP)), self.currency)

    def allocate(self, ratios: list[int]) -> list[Money]:
        """Split into parts proportional to ``ratios``; leftover units go to the first parts."""
        total = sum(ratios)
        if total <= 0 or any(r < 0 for r in ratios):
            raise ValueError("ratios must be non-negative and not all zero")
        shares = [self.minor * r // total for r in ratios]
        remainder = self.minor - sum(shares)
        for index in range(remainder):
            shares[index % len(shares)] += 1
        return [Money(share, self.currency) for share in shares]

    def format(self) -> str:
        """``$1,234.05``, ``-€3.10``, ``¥500``: symbol, grouped units, fixed decimals."""
        sign = "-" if self.minor < 0 else ""
        units, fraction = divmod(abs(self.minor), self.currency.factor)
        text = f"{units:,}"
        if self.currency.exponent:
            text += f".{fraction}"
        return f"{sign}{self.currency.symbol}{text}"
