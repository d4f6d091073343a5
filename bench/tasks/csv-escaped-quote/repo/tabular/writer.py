"""Write CSV: quote a field only when it needs it."""

from __future__ import annotations

from collections.abc import Iterable


def format_field(value: object, delimiter: str = ",", quote: str = '"') -> str:
    """``value`` as a CSV field; quoted when it holds a delimiter, quote or line break."""
    text = "" if value is None else str(value)
    if any(special in text for special in (delimiter, quote, "\n", "\r")):
        return quote + text.replace(quote, quote * 2) + quote
    return text


def format_row(values: Iterable[object], delimiter: str = ",") -> str:
    """One CSV line (no line break)."""
    return delimiter.join(format_field(value, delimiter) for value in values)
