import pytest
from settings.values import to_bool, to_list, to_seconds


@pytest.mark.parametrize(("text", "expected"), [("Yes", True), ("off", False), ("1", True)])
def test_to_bool(text, expected):
    assert to_bool(text) is expected


def test_to_bool_rejects():
    with pytest.raises(ValueError):
        to_bool("maybe")


def test_to_list():
    assert to_list("a, b,,c\nd") == ["a", "b", "c", "d"]


def test_to_seconds():
    assert to_seconds("250ms") == 0.25
    assert to_seconds("5m") == 300
    assert to_seconds("7") == 7
    with pytest.raises(ValueError):
        to_seconds("soon")
