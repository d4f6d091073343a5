"""Fill paragraphs: blank-line separated blocks, each wrapped on its own."""

from __future__ import annotations

from textfmt.wrap import indent, wrap


def paragraphs(text: str) -> list[str]:
    """The non-empty blocks of ``text`` separated by blank lines."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line.strip())
        elif blocks[-1]:
            blocks.append([])
    return [" ".join(block) for block in blocks if block]


def fill(text: str, width: int, bullet: str | None = None) -> str:
    """Each paragraph wrapped to ``width``; with ``bullet`` they become a hanging list."""
    out = []
    for paragraph in paragraphs(text):
        if bullet is None:
            out.append("\n".join(wrap(paragraph, width)))
        else:
            pad = " " * len(bullet)
            lines = wrap(paragraph, width - len(bullet))
            out.append("\n".join(indent(lines, pad, first=bullet)))
    return "\n\n".join(out)
