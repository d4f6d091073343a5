"""Typed access to parsed configuration, with ${section:key} interpolation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from settings import values
from settings.parser import parse

T = TypeVar("T")
_REFERENCE = re.compile(r"\$\{(?:([\w.-]+):)?([\w.-]+)\}")


class ConfigError(LookupError):
    """A missing section or key, or a bad value; the message names it."""


class Config:
    """Configuration sections; lookups are case-insensitive like the file format."""

    def __init__(self, sections: dict[str, dict[str, str]]) -> None:
        self._sections = sections

    @classmethod
    def from_text(cls, text: str) -> Config:
        """Parse INI text."""
        return cls(parse(text))

    def sections(self) -> list[str]:
        """Section names other than ``default``, in file order."""
        return [name for name in self._sections if name != "default"]

    def raw(self, section: str, key: str) -> str:
        """The uninterpolated value; a key missing in ``section`` falls back to ``default``."""
        table = self._sections.get(section.lower())
        if table is None:
            raise ConfigError(f"no section [{section}]")
        if key in table:
            return table[key]
        if key in self._sections["default"]:
            return self._sections["default"][key]
        raise ConfigError(f"no key {key!r} in [{section}]")

    def get(self, section: str, key: str, depth: int = 0) -> str:
        """The value with ``${key}`` / ``${section:key}`` references replaced."""
        if depth > 10:
            raise ConfigError(f"interpolation too deep at [{section}] {key}")

        def replace(match: re.Match[str]) -> str:
            return self.get(match.group(1) or section, match.group(2), depth + 1)

        return _REFERENCE.sub(replace, self.raw(section, key))

    def get_bool(self, section: str, key: str) -> bool:
        """The value as a boolean."""
        return self._convert(values.to_bool, section, key)

    def get_int(self, section: str, key: str) -> int:
        """The value as an integer."""
        return self._convert(int, section, key)

    def get_list(self, section: str, key: str) -> list[str]:
        """The value as a list of strings."""
        return values.to_list(self.get(section, key))

    def get_seconds(self, section: str, key: str) -> float:
        """The value as a duration in seconds."""
        return self._convert(values.to_seconds, section, key)

    def _convert(self, convert: Callable[[str], T], section: str, key: str) -> T:
        text = self.get(section, key)
        try:
            return convert(text)
        except ValueError as error:
            raise ConfigError(f"[{section}] {key}: {error}") from None
