import pytest
from exprcalc import evaluate
from exprcalc.evaluate import EvaluationError
from exprcalc.lexer import ParseError


@pytest.mark.parametrize(("text", "value"), [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("2 ^ 3 ^ 2", 512), ("-2 ^ 2", -4),
    ("7 % 4", 3), ("sqrt(16) + max(1, 5, 2)", 9), ("+3", 3),
])
def test_precedence(text, value):
    assert evaluate(text) == value


@pytest.mark.parametrize(("text", "value"), [("10 - 3 - 2", 5), ("100 / 10 / 5", 2),
                                             ("1 - 2 + 3", 2)])
def test_left_associative(text, value):
    assert evaluate(text) == value


def test_variables():
    assert evaluate("rate * hours", {"rate": 12.5, "hours": 8}) == 100


@pytest.mark.parametrize(("text", "message"), [
    ("1 / 0", "division by zero"), ("y + 1", "unknown variable"), ("nope(1)", "unknown function"),
])
def test_evaluation_errors(text, message):
    with pytest.raises(EvaluationError, match=message):
        evaluate(text)


@pytest.mark.parametrize("text", ["1 +", "(1 + 2", "1 2", "max(1,"])
def test_syntax_errors(text):
    with pytest.raises(ParseError):
        evaluate(text)
