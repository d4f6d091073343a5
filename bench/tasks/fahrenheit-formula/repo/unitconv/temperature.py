"""Temperatures: Celsius, Fahrenheit and Kelvin, converted through Celsius."""

from __future__ import annotations

ABSOLUTE_ZERO_C = -273.15


def to_celsius(value: float, unit: str) -> float:
    """``value`` in ``unit`` (C, F or K) as degrees Celsius."""
    if unit == "C":
        celsius = value
    elif unit == "F":
        celsius = value - 32 * 5 / 9
    elif unit == "K":
        celsius = value + ABSOLUTE_ZERO_C
    else:
        raise ValueError(f"not a temperature unit: {unit!r}")
    if celsius < ABSOLUTE_ZERO_C - 1e-9:
        raise ValueError(f"below absolute zero: {value} {unit}")
    return celsius


def from_celsius(celsius: float, unit: str) -> float:
    """Degrees Celsius expressed in ``unit``."""
    if unit == "C":
        return celsius
    if unit == "F":
        return celsius * 9 / 5 + 32
    if unit == "K":
        return celsius - ABSOLUTE_ZERO_C
    raise ValueError(f"not a temperature unit: {unit!r}")
