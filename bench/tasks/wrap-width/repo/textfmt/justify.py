"""Full justification and centring of wrapped lines."""

from __future__ import annotations

from textfmt.wrap import wrap


def justify_line(line: str, width: int) -> str:
    """Spread the words of ``line`` so it is exactly ``width`` wide; extra spaces go left."""
    words = line.split()
    if len(words) < 2:
        return line.ljust(width)
    gaps = len(words) - 1
    spaces, extra = divmod(width - sum(len(w) for w in words), gaps)
    out = []
    for i, word in enumerate(words[:-1]):
        out.append(word + " " * (spaces + (1 if i < extra else 0)))
    out.append(words[-1])
    return "".join(out)


def justify(text: str, width: int) -> list[str]:
    """Wrap ``text`` and justify every line but the last, which stays ragged."""
    lines = wrap(text, width)
    return [justify_line(line, width) for line in lines[:-1]] + lines[-1:]


def center(line: str, width: int, fill: str = " ") -> str:
    """``line`` centred in ``width``; an odd leftover goes to the right."""
    if len(fill) != 1:
        raise ValueError("fill must be one character")
    room = max(0, width - len(line))
    left = room // 2
    return fill * left + line + fill * (room - left)
