"""Split CSV lines into fields (RFC 4180 quoting: "" inside quotes is one quote)."""

from __future__ import annotations


class CsvError(ValueError):
    """A line that is not valid CSV; says where."""


def parse_line(line: str, delimiter: str = ",", quote: str = '"') -> list[str]:
    """The fields of one CSV line."""
    fields: list[str] = []
    field: list[str] = []
    in_quotes = False
    i = 0
    while i < len(line):
        char = line[i]
        if in_quotes:
            if char == quote:
                if i + 1 < len(line) and line[i + 1] == quote:
                    field.append(quote)
                    i += 1
                    continue
                in_quotes = False
            else:
                field.append(char)
        elif char == quote:
            if field:
                raise CsvError(f"quote inside an unquoted field at column {i + 1}")
            in_quotes = True
        elif char == delimiter:
            fields.append("".join(field))
            field = []
        else:
            field.append(char)
        i += 1
    if in_quotes:
        raise CsvError("unterminated quoted field")
    fields.append("".join(field))
    return fields


def read_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    """Every non-blank line of ``text`` parsed; errors name the line number."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(parse_line(line, delimiter))
        except CsvError as error:
            raise CsvError(f"line {number}: {error}") from None
    return rows
