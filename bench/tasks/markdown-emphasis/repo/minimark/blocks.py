"""Block Markdown: headings, fenced code, bullet lists and paragraphs."""

from __future__ import annotations

import html
import re

from minimark.inline import render_inline

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_BULLET = re.compile(r"^[-*+]\s+(.*)$")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render(markdown: str) -> str:
    """HTML for a Markdown document, one block per line of output."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    code: list[str] | None = None

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{render_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{render_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in markdown.splitlines():
        if code is not None:
            if line.strip() == "```":
                out.append("<pre><code>" + html.escape("\n".join(code)) + "</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            code = []
        elif heading := _HEADING.match(stripped):
            flush()
            level, title = len(heading.group(1)), heading.group(2)
            out.append(f'<h{level} id="{_slug(title)}">{render_inline(title)}</h{level}>')
        elif bullet := _BULLET.match(stripped):
            if paragraph:
                flush()
            items.append(bullet.group(1))
        elif not stripped:
            flush()
        else:
            if items:
                flush()
            paragraph.append(stripped)
    if code is not None:
        raise ValueError("unclosed code fence")
    flush()
    return "\n".join(out)


def table_of_contents(markdown: str) -> list[tuple[int, str, str]]:
    """(level, title, anchor) of every heading outside code fences."""
    toc = []
    fenced = False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := _HEADING.match(line.strip())):
            toc.append((len(heading.group(1)), heading.group(2), _slug(heading.group(2))))
    return toc
