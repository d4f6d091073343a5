import pytest
from textfmt.wrap import indent, wrap


def test_wrap_short_text_is_one_line():
    assert wrap("hello world", 20) == ["hello world"]


def test_wrap_collapses_whitespace():
    assert wrap("  a   b\n c ", 10) == ["a b c"]


def test_wrap_breaks_between_words():
    assert wrap("the quick brown fox", 10) == ["the quick", "brown fox"]


def test_wrap_line_may_fill_width_exactly():
    assert wrap("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]


def test_wrap_splits_long_words():
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_wrap_rejects_zero_width():
    with pytest.raises(ValueError):
        wrap("x", 0)


def test_indent_hanging():
    assert indent(["one", "two"], "  ", first="- ") == ["- one", "  two"]
