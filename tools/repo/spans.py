"""Cut a file into search spans aligned with its definitions.

A span is the largest definition that is at most ``MAX_DEF_LINES`` long (a small class,
a function, a method of a big class); the lines between such definitions are cut into
windows of at most ``MAX_WINDOW_LINES``; a gap shorter than ``MIN_WINDOW_LINES`` (a
class header, decorators, a blank line) joins the span after it.  Spans never overlap
and cover every line, so any line of a file belongs to exactly one span.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

MAX_DEF_LINES = 60
MAX_WINDOW_LINES = 40
MIN_WINDOW_LINES = 5


class Span(NamedTuple):
    """Lines ``start``..``end`` (1-based, inclusive); ``name`` is the definition it holds."""

    start: int
    end: int
    name: str | None


def cut_spans(line_count: int, definitions: Sequence[tuple[int, int, str]]) -> list[Span]:
    """Spans covering lines 1..``line_count`` given (line, end_line, qualified name) defs."""
    if line_count <= 0:
        return []
    fitting = sorted(
        (d for d in definitions if d[1] - d[0] + 1 <= MAX_DEF_LINES and d[0] >= 1),
        key=lambda d: (d[0], -d[1]),
    )
    chosen: list[Span] = []
    for start, end, name in fitting:
        end = min(end, line_count)
        if chosen and start <= chosen[-1].end:
            continue  # nested in (or overlapping) a larger definition already chosen
        chosen.append(Span(start, end, name))
    spans: list[Span] = []
    cursor = 1
    for span in chosen:
        spans.extend(_windows(cursor, span.start - 1))
        spans.append(span)
        cursor = span.end + 1
    spans.extend(_windows(cursor, line_count))
    return _merge_short_gaps(spans)


def _merge_short_gaps(spans: list[Span]) -> list[Span]:
    """Fold each short window into the following span (the last one into its predecessor)."""
    merged: list[Span] = []
    pending: int | None = None  # first line of short windows waiting for a next span
    for span in spans:
        start = span.start if pending is None else pending
        if span.name is None and span.end - span.start + 1 < MIN_WINDOW_LINES:
            pending = start
            continue
        merged.append(Span(start, span.end, span.name))
        pending = None
    if pending is not None:
        if merged:
            last = merged.pop()
            merged.append(Span(last.start, spans[-1].end, last.name))
        else:
            merged.append(Span(pending, spans[-1].end, None))
    return merged


def _windows(start: int, end: int) -> list[Span]:
    """Even windows of at most MAX_WINDOW_LINES over lines start..end."""
    total = end - start + 1
    if total <= 0:
        return []
    count = -(-total // MAX_WINDOW_LINES)
    size = -(-total // count)
    return [Span(s, min(s + size - 1, end), None) for s in range(start, end + 1, size)]
