"""Rows with a header line become dictionaries; columns may carry a type."""

from __future__ import annotations

from collections.abc import Callable

from tabular.reader import CsvError, read_rows
from tabular.writer import format_row

Converter = Callable[[str], object]


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


CONVERTERS: dict[str, Converter] = {"int": int, "float": float, "bool": _boolean, "str": str}


def read_records(text: str, types: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Records keyed by the header; ``types`` maps a column to int, float, bool or str."""
    rows = read_rows(text)
    if not rows:
        return []
    header, *body = rows
    types = types or {}
    unknown = set(types) - set(header)
    if unknown:
        raise CsvError(f"typed columns not in the header: {sorted(unknown)}")
    records = []
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise CsvError(f"row {number} has {len(row)} fields, header has {len(header)}")
        record: dict[str, object] = {}
        for name, value in zip(header, row, strict=True):
            convert = CONVERTERS[types.get(name, "str")]
            try:
                record[name] = convert(value)
            except ValueError as error:
                raise CsvError(f"row {number}, column {name!r}: {error}") from None
        records.append(record)
    return records


def write_records(records: list[dict[str, object]]) -> str:
    """A header line from the first record's keys, then one line per record."""
    if not records:
        return ""
    header = list(records[0])
    lines = [format_row(header)]
    lines += [format_row(record.get(name) for name in header) for record in records]
    return "\n".join(lines) + "\n"
