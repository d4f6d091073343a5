"""Convert configuration strings to booleans, numbers, lists and durations."""

from __future__ import annotations

import re

_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def to_bool(text: str) -> bool:
    """yes/no, true/false, on/off, 1/0 (any case)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def to_list(text: str) -> list[str]:
    """Comma- or newline-separated items, blanks dropped."""
    return [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]


def to_seconds(text: str) -> float:
    """``250ms``, ``30s``, ``5m``, ``2h`` or a bare number of seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r}")
    number, unit = match.groups()
    return float(number) * _SECONDS[unit or "s"]
