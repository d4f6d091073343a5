"""Convert quantities between units: ``convert("72 F", "C")``."""

from unitconv.quantity import Quantity, convert, parse

__all__ = ["Quantity", "convert", "parse"]
