"""Split an expression into number, name, operator and parenthesis tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"(\d+\.?\d*|\.\d+)|([A-Za-z_]\w*)|(\*\*|[-+*/%^(),])")


class ParseError(ValueError):
    """The expression cannot be read; the message gives the column."""


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    column: int


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text`` followed by an ``end`` token."""
    tokens = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            raise ParseError(f"unexpected character at column {position + 1}: {text[position]!r}")
        number, name, op = match.groups()
        column = position + 1
        if number is not None:
            tokens.append(Token("number", number, column))
        elif name is not None:
            tokens.append(Token("name", name, column))
        else:
            tokens.append(Token("op", "^" if op == "**" else op, column))
        position = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens
