"""A case-insensitive, multi-valued header map that keeps the original spelling."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Headers:
    """Header fields in arrival order; names compare case-insensitively."""

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str]] = []
        for name, value in fields:
            self.add(name, value)

    @classmethod
    def parse(cls, block: str) -> Headers:
        """Headers from ``Name: value`` lines; folded continuation lines are refused."""
        headers = cls()
        for number, line in enumerate(block.splitlines(), start=1):
            if not line:
                continue
            if line[0] in " \t":
                raise ValueError(f"line {number}: obsolete line folding")
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise ValueError(f"line {number}: malformed header field")
            headers.add(name, value.strip())
        return headers

    def add(self, name: str, value: str) -> None:
        """Append a field (repeated names are allowed)."""
        self._fields.append((name, value))

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        key = name.lower()
        return [value for field, value in self._fields if field.lower() == key]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The values of ``name`` joined with ", " (RFC 9110 5.3), or ``default``."""
        values = self.get_all(name)
        return ", ".join(values) if values else default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(field == name for field, _ in self._fields)

    def remove(self, name: str) -> int:
        """Drop every field called ``name``; how many were dropped."""
        key = name.lower()
        kept = [(f, v) for f, v in self._fields if f.lower() != key]
        dropped = len(self._fields) - len(kept)
        self._fields = kept
        return dropped

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)
