import pytest
from tabular.reader import CsvError, parse_line, read_rows


def test_plain_fields():
    assert parse_line("a,b,,c") == ["a", "b", "", "c"]


def test_quoted_field_with_delimiter():
    assert parse_line('1,"Smith, John",x') == ["1", "Smith, John", "x"]


def test_doubled_quote_is_one_quote():
    assert parse_line('"say ""hi""",2') == ['say "hi"', "2"]


def test_other_delimiter():
    assert parse_line("a;b", delimiter=";") == ["a", "b"]


def test_unterminated_quote():
    with pytest.raises(CsvError, match="unterminated"):
        parse_line('"abc')


def test_stray_quote():
    with pytest.raises(CsvError, match="column 3"):
        parse_line('ab"c"')


def test_read_rows_reports_line():
    with pytest.raises(CsvError, match="line 2"):
        read_rows('a,b\n"x,y\n')
