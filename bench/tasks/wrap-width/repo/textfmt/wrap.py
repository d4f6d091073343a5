"""Greedy word wrapping to a fixed width, breaking words longer than a line."""

from __future__ import annotations


def _chunks(word: str, width: int) -> list[str]:
    """``word`` cut into pieces of at most ``width`` characters."""
    return [word[i : i + width] for i in range(0, len(word), width)]


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters; whitespace runs collapse to one space."""
    if width < 1:
        raise ValueError("width must be positive")
    lines: list[str] = []
    current = ""
    for word in text.split():
        for piece in _chunks(word, width):
            if not current:
                current = piece
            elif len(current) + 1 + len(piece) < width:
                current += " " + piece
            else:
                lines.append(current)
                current = piece
    if current:
        lines.append(current)
    return lines


def indent(lines: list[str], prefix: str, first: str | None = None) -> list[str]:
    """Prefix every line; the first line gets ``first`` instead when given."""
    return [
        (first if first is not None and i == 0 else prefix) + line
        for i, line in enumerate(lines)
    ]
