"""Inline Markdown: code spans, links, strong and emphasis, with HTML escaped first."""

from __future__ import annotations

import html
import re

_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "/", "#")


def _link(match: re.Match[str]) -> str:
    text, url = match.group(1), match.group(2)
    if not url.startswith(_SAFE_SCHEMES):
        return text
    return f'<a href="{url}">{text}</a>'


def _emphasise(text: str) -> str:
    """``**strong**`` first, then ``*emphasis*``; each span ends at its nearest marker."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*(.+)\*", r"<em>\1</em>", text)


def render_inline(text: str) -> str:
    """HTML for one line of inline Markdown; code spans are left untouched inside."""
    escaped = html.escape(text, quote=True)
    spans: list[str] = []

    def stash(match: re.Match[str]) -> str:
        spans.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(spans) - 1}\x00"

    out = _CODE.sub(stash, escaped)
    out = _LINK.sub(_link, out)
    out = _emphasise(out)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], out)
