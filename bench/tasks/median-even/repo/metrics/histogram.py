"""Fixed-width histograms and a text rendering for terminals."""

from __future__ import annotations

from collections.abc import Sequence


def bins(values: Sequence[float], count: int) -> list[tuple[float, float, int]]:
    """``count`` equal-width bins over [min, max]: (low, high, how many); max is in the last."""
    if count < 1:
        raise ValueError("need at least one bin")
    if not values:
        return []
    low, high = min(values), max(values)
    width = (high - low) / count or 1.0
    counts = [0] * count
    for value in values:
        index = min(int((value - low) / width), count - 1)
        counts[index] += 1
    return [(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(counts)]


def render(values: Sequence[float], count: int = 5, bar_width: int = 20) -> str:
    """One line per bin: its range, a bar scaled to the fullest bin, the count."""
    table = bins(values, count)
    if not table:
        return "(no data)"
    fullest = max(n for _, _, n in table)
    lines = []
    for low, high, n in table:
        bar = "#" * round(bar_width * n / fullest)
        lines.append(f"{low:8.1f} - {high:8.1f} | {bar:<{bar_width}} {n}")
    return "\n".join(lines)
