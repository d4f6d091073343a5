"""Filter and sort dictionaries the way ``?status=open&sort=-created`` asks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Record = dict[str, Any]


def filter_records(records: Iterable[Record], filters: dict[str, str]) -> list[Record]:
    """Records whose fields equal every filter; ``field__in=a,b`` matches any of a list."""
    out = []
    for record in records:
        for key, wanted in filters.items():
            name, _, operator = key.partition("__")
            value = str(record.get(name))
            if operator == "in":
                if value not in wanted.split(","):
                    break
            elif operator:
                raise ValueError(f"unknown filter operator {operator!r}")
            elif value != wanted:
                break
        else:
            out.append(record)
    return out


def sort_records(records: list[Record], sort: str) -> list[Record]:
    """Sort by comma-separated fields, ``-`` for descending; missing values go last."""
    result = list(records)
    for field in reversed([f.strip() for f in sort.split(",") if f.strip()]):
        descending = field.startswith("-")
        name = field.lstrip("-")
        present = [r for r in result if r.get(name) is not None]
        missing = [r for r in result if r.get(name) is None]
        present.sort(key=lambda r: r[name], reverse=descending)
        result = present + missing
    return result
