"""Roman numerals from 1 to 3999, in their standard subtractive form."""

from __future__ import annotations

import re

_VALUES = [
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
]
_SYMBOLS = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_CANONICAL = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")


def to_roman(number: int) -> str:
    """``number`` (1-3999) as a Roman numeral."""
    if not 0 < number < 4000:
        raise ValueError(f"out of range for Roman numerals: {number}")
    out = []
    for value, symbol in _VALUES:
        times, number = divmod(number, value)
        out.append(symbol * times)
    return "".join(out)


def from_roman(text: str) -> int:
    """The value of a canonical Roman numeral (case-insensitive)."""
    numeral = text.strip().upper()
    if not numeral or not _CANONICAL.match(numeral):
        raise ValueError(f"not a canonical Roman numeral: {text!r}")
    total = 0
    for index, symbol in enumerate(numeral):
        value = _SYMBOLS[symbol]
        following = _SYMBOLS[numeral[index + 1]] if index + 1 < len(numeral) else 0
        total += -value if value <= following else value
    return total
