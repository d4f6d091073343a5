"""Line prices with quantity breaks and a percentage coupon, in cents."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PriceList:
    """Unit prices per SKU, and per-SKU quantity breaks {min quantity: unit price}."""

    unit: dict[str, int]
    breaks: dict[str, dict[int, int]]

    def unit_price(self, sku: str, quantity: int) -> int:
        """The unit price for buying ``quantity`` of ``sku``."""
        try:
            price = self.unit[sku]
        except KeyError:
            raise KeyError(f"no price for {sku!r}") from None
        for minimum, discounted in sorted(self.breaks.get(sku, {}).items()):
            if quantity >= minimum:
                price = discounted
        return price


def order_total(prices: PriceList, lines: dict[str, int], coupon_percent: int = 0) -> int:
    """Sum of line prices, less the coupon, rounded down to the cent."""
    if not 0 <= coupon_percent <= 100:
        raise ValueError("coupon must be between 0 and 100 per cent")
    subtotal = sum(prices.unit_price(sku, qty) * qty for sku, qty in lines.items())
    return subtotal * (100 - coupon_percent) // 100
