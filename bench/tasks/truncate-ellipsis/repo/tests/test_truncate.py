import pytest
from snippets.truncate import truncate, truncate_middle


def test_short_text_unchanged():
    assert truncate("short  text", 20) == "short text"


def test_cut_at_word_boundary_within_limit():
    result = truncate("The quick brown fox jumps", 12)
    assert result == "The quick…"
    assert len(result) <= 12


def test_result_never_exceeds_limit():
    text = "alpha beta gamma delta epsilon"
    for limit in range(2, len(text)):
        assert len(truncate(text, limit)) <= limit


def test_custom_ellipsis():
    assert truncate("one two three", 10, ellipsis="...") == "one two..."


def test_limit_too_small():
    with pytest.raises(ValueError):
        truncate("abc", 2, ellipsis="...")


def test_truncate_middle():
    assert truncate_middle("src/package/module/main.py", 12) == "src/pa…in.py"
    assert truncate_middle("short", 12) == "short"
