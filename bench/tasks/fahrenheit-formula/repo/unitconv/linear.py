"""Units that convert by a factor: lengths and masses, relative to metres and grams."""

from __future__ import annotations

FACTORS: dict[str, dict[str, float]] = {
    "length": {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048,
               "yd": 0.9144, "mi": 1609.344},
    "mass": {"g": 1.0, "kg": 1000.0, "oz": 28.349523125, "lb": 453.59237},
}


def dimension(unit: str) -> str | None:
    """``length`` or ``mass`` for a linear unit, else None."""
    for name, units in FACTORS.items():
        if unit in units:
            return name
    return None


def convert_linear(value: float, source: str, target: str) -> float:
    """``value`` from ``source`` to ``target``; both must measure the same thing."""
    kind = dimension(source)
    if kind is None or dimension(target) != kind:
        raise ValueError(f"cannot convert {source} to {target}")
    return value * FACTORS[kind][source] / FACTORS[kind][target]
