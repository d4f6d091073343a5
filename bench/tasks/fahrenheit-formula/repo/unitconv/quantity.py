"""Parse ``"72 F"`` / ``"5.5km"`` and convert to another unit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from unitconv.linear import convert_linear, dimension
from unitconv.temperature import from_celsius, to_celsius

_QUANTITY = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*°?\s*([A-Za-z]+)\s*$")
_ALIASES = {"c": "C", "f": "F", "k": "K", "celsius": "C", "fahrenheit": "F", "kelvin": "K",
            "miles": "mi", "feet": "ft", "inches": "in", "pounds": "lb", "lbs": "lb"}
TEMPERATURES = ("C", "F", "K")


@dataclass(frozen=True)
class Quantity:
    """A number and a canonical unit symbol."""

    value: float
    unit: str

    def __str__(self) -> str:
        text = f"{self.value:.2f}".rstrip("0").rstrip(".")
        degree = "°" if self.unit in TEMPERATURES else " "
        return f"{text}{degree}{self.unit}"


def canonical_unit(unit: str) -> str:
    """The canonical symbol for ``unit`` (case-insensitive aliases accepted)."""
    unit = _ALIASES.get(unit.lower(), unit)
    if unit in TEMPERATURES or dimension(unit) is not None:
        return unit
    raise ValueError(f"unknown unit {unit!r}")


def parse(text: str) -> Quantity:
    """``"72 F"`` → Quantity(72.0, "F")."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a quantity: {text!r}")
    return Quantity(float(match.group(1)), canonical_unit(match.group(2)))


def convert(quantity: Quantity | str, unit: str) -> Quantity:
    """``quantity`` expressed in ``unit``."""
    if isinstance(quantity, str):
        quantity = parse(quantity)
    target = canonical_unit(unit)
    if quantity.unit in TEMPERATURES and target in TEMPERATURES:
        return Quantity(from_celsius(to_celsius(quantity.value, quantity.unit), target), target)
    return Quantity(convert_linear(quantity.value, quantity.unit, target), target)
