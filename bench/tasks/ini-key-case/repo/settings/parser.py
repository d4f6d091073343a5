"""Parse INI text: [sections], key = value pairs, comments, indented continuation lines."""

from __future__ import annotations


class ParseError(ValueError):
    """Malformed INI text; the message names the line."""


def parse(text: str) -> dict[str, dict[str, str]]:
    """Sections to {key: value}; keys and section names are lower-cased.

    Keys before any section header go to the ``default`` section. A line starting with
    ``#`` or ``;`` is a comment; an indented line continues the previous value.
    """
    sections: dict[str, dict[str, str]] = {"default": {}}
    current = sections["default"]
    last_key: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if raw[0].isspace() and last_key is not None:
            current[last_key] += "\n" + stripped
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise ParseError(f"line {number}: unclosed section header")
            name = stripped[1:-1].strip().lower()
            current = sections.setdefault(name, {})
            last_key = None
            continue
        key, sep, value = stripped.partition("=")
        if not sep:
            raise ParseError(f"line {number}: expected 'key = value'")
        last_key = key.strip().lower()
        if not last_key:
            raise ParseError(f"line {number}: empty key")
        current[last_key] = value.strip()
    return sections
