"""Compile route patterns like ``/posts/{slug}/{page:int}`` into regular expressions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
CONVERTERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "str": (r"[^/]+", str),
    "int": (r"\d+", int),
    "path": (r".+", str),
}


@dataclass
class Pattern:
    """A compiled route pattern: its regex and how to convert each parameter."""

    template: str
    regex: re.Pattern[str] = field(init=False)
    converters: dict[str, Callable[[str], object]] = field(init=False)

    def __post_init__(self) -> None:
        if not self.template.startswith("/"):
            raise ValueError(f"pattern must start with '/': {self.template!r}")
        parts: list[str] = []
        self.converters = {}
        position = 0
        for match in _PARAM.finditer(self.template):
            name, kind = match.group(1), match.group(2) or "str"
            if kind not in CONVERTERS:
                raise ValueError(f"unknown converter {kind!r} in {self.template!r}")
            if name in self.converters:
                raise ValueError(f"parameter {name!r} used twice in {self.template!r}")
            expression, convert = CONVERTERS[kind]
            parts.append(re.escape(self.template[position : match.start()]))
            parts.append(f"(?P<{name}>{expression})")
            self.converters[name] = convert
            position = match.end()
        parts.append(re.escape(self.template[position:]))
        self.regex = re.compile("".join(parts))

    def match(self, path: str) -> dict[str, object] | None:
        """The converted parameters when ``path`` matches the whole pattern, else None."""
        found = self.regex.match(path)
        if found is None:
            return None
        return {name: self.converters[name](value) for name, value in found.groupdict().items()}

    def build(self, **params: object) -> str:
        """The path for ``params`` (the reverse of ``match``)."""
        missing = set(self.converters) - set(params)
        if missing:
            raise KeyError(f"missing parameters: {sorted(missing)}")
        return _PARAM.sub(lambda m: str(params[m.group(1)]), self.template)
