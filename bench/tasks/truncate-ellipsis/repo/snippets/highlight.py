"""Highlight query terms in a snippet of text, case-insensitively."""

from __future__ import annotations

import html
import re

from snippets.truncate import truncate


def highlight(text: str, terms: list[str], tag: str = "mark") -> str:
    """HTML-escaped ``text`` with every occurrence of a term wrapped in ``<tag>``."""
    words = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return html.escape(text)
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    out = []
    position = 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[position : match.start()]))
        out.append(f"<{tag}>{html.escape(match.group())}</{tag}>")
        position = match.end()
    out.append(html.escape(text[position:]))
    return "".join(out)


def snippet(text: str, terms: list[str], limit: int = 80) -> str:
    """A preview starting near the first term, truncated to ``limit``, terms highlighted."""
    lowered = text.lower()
    hits = [lowered.find(t.lower()) for t in terms if t and t.lower() in lowered]
    start = min(hits) if hits else 0
    if start > 20:
        start = text.rfind(" ", 0, start - 10) + 1
        text = "…" + text[start:]
    return highlight(truncate(text, limit), terms)
