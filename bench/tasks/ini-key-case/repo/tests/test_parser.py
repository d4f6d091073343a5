import pytest
from settings.parser import ParseError, parse


def test_sections_keys_and_comments():
    text = "top = 1\n# comment\n[Server]\nHost = example.org\n; another\nport=80\n"
    assert parse(text) == {"default": {"top": "1"},
                           "server": {"host": "example.org", "port": "80"}}


def test_continuation_lines():
    assert parse("[a]\nhosts = one\n  two\n")["a"]["hosts"] == "one\ntwo"


def test_errors_name_the_line():
    with pytest.raises(ParseError, match="line 2"):
        parse("[a]\nnot a pair\n")
    with pytest.raises(ParseError, match="unclosed"):
        parse("[a\n")
