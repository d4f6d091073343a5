import pytest
from tabular.reader import CsvError
from tabular.records import read_records, write_records
from tabular.writer import format_row

CSV = "name,age,member\nann,31,yes\nbob,27,no\n"


def test_typed_records():
    records = read_records(CSV, {"age": "int", "member": "bool"})
    assert records == [{"name": "ann", "age": 31, "member": True},
                       {"name": "bob", "age": 27, "member": False}]


def test_bad_value_names_row_and_column():
    with pytest.raises(CsvError, match="row 3, column 'age'"):
        read_records("name,age\nann,31\nbob,old\n", {"age": "int"})


def test_ragged_row():
    with pytest.raises(CsvError, match="row 2 has 1 fields"):
        read_records("a,b\nx\n")


def test_format_row_quotes_when_needed():
    assert format_row(["plain", "a,b", 'q"q', None]) == 'plain,"a,b","q""q",'


def test_round_trip_with_quotes():
    records = [{"title": 'The "Best" Book', "price": "9,99"}]
    assert read_records(write_records(records)) == records
