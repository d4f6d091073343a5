import pytest
from exprcalc.lexer import ParseError, tokenize


def test_tokens():
    tokens = tokenize("x1 + 2.5 ** (3)")
    assert [(t.kind, t.text) for t in tokens] == [
        ("name", "x1"), ("op", "+"), ("number", "2.5"), ("op", "^"), ("op", "("),
        ("number", "3"), ("op", ")"), ("end", ""),
    ]
    assert tokens[2].column == 6


def test_bad_character():
    with pytest.raises(ParseError, match="column 3"):
        tokenize("1 $ 2")
