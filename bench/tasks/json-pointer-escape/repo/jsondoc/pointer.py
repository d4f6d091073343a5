"""JSON Pointer (RFC 6901): ``/a/b/0`` addresses a value inside a document."""

from __future__ import annotations

from typing import Any


class PointerError(LookupError):
    """A pointer that is malformed or does not resolve; the message names it."""


def escape(token: str) -> str:
    """A reference token as written in a pointer: ``~`` → ``~0``, ``/`` → ``~1``."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The reference token a pointer segment stands for (the reverse of ``escape``)."""
    return token.replace("~0", "~").replace("~1", "/")


def split(pointer: str) -> list[str]:
    """The unescaped reference tokens of ``pointer`` (``""`` is the whole document)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError(f"pointer must start with '/': {pointer!r}")
    return [unescape(token) for token in pointer[1:].split("/")]


def join(tokens: list[str]) -> str:
    """The pointer made of ``tokens``."""
    return "".join("/" + escape(token) for token in tokens)


def _index(container: list[Any], token: str, pointer: str, allow_end: bool = False) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (token.startswith("0") and token != "0"):
        raise PointerError(f"{pointer}: {token!r} is not an array index")
    index = int(token)
    limit = len(container) + (1 if allow_end else 0)
    if index >= limit:
        raise PointerError(f"{pointer}: index {index} out of range")
    return index


def resolve(document: Any, pointer: str) -> Any:
    """The value ``pointer`` addresses in ``document``."""
    value = document
    for token in split(pointer):
        if isinstance(value, dict):
            if token not in value:
                raise PointerError(f"{pointer}: no member {token!r}")
            value = value[token]
        elif isinstance(value, list):
            value = value[_index(value, token, pointer)]
        else:
            raise PointerError(f"{pointer}: cannot descend into {type(value).__name__}")
    return value


def parent(document: Any, pointer: str) -> tuple[Any, str]:
    """The container holding the target of ``pointer``, and the last token."""
    tokens = split(pointer)
    if not tokens:
        raise PointerError("the whole document has no parent")
    return resolve(document, join(tokens[:-1])), tokens[-1]
