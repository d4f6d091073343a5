"""Shorten text for previews without cutting words in half."""

from __future__ import annotations


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` if it fits in ``limit`` characters, else a word-boundary cut plus ``ellipsis``.

    The result, ellipsis included, is never longer than ``limit``.
    """
    if limit < len(ellipsis):
        raise ValueError("limit is shorter than the ellipsis")
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if " " in cut and text[limit] != " ":
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:") + ellipsis


def truncate_middle(text: str, limit: int, marker: str = "…") -> str:
    """Keep the start and the end (file paths, ids): ``"src/…/main.py"``."""
    if len(text) <= limit:
        return text
    keep = limit - len(marker)
    if keep < 2:
        raise ValueError("limit too small")
    head = (keep + 1) // 2
    return text[:head] + marker + text[len(text) - (keep - head):]
