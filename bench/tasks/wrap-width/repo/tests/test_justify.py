import pytest
from textfmt.fill import fill, paragraphs
from textfmt.justify import center, justify, justify_line


def test_justify_line_spreads_spaces_left_first():
    assert justify_line("a b c", 8) == "a   b  c"


def test_justify_single_word_pads():
    assert justify_line("word", 6) == "word  "


def test_justify_keeps_last_line_ragged():
    assert justify("aa bb cc dd", 8) == ["aa bb cc", "dd"]


def test_center():
    assert center("ab", 5, "*") == "*ab**"
    with pytest.raises(ValueError):
        center("ab", 5, "--")


def test_paragraphs():
    assert paragraphs("one\ntwo\n\n\nthree\n") == ["one two", "three"]


def test_fill_bullets():
    text = "first item is long\n\nsecond"
    assert fill(text, 10, bullet="- ") == "- first\n  item is\n  long\n\n- second"
