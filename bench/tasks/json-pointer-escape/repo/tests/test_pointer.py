import pytest
from jsondoc.pointer import PointerError, escape, join, resolve, split, unescape

DOC = {"foo": ["bar", "baz"], "": 0, "a/b": 1, "m~n": 8, "~1": 9, "k": {"x": None}}


@pytest.mark.parametrize(("pointer", "value"), [
    ("", DOC), ("/foo", ["bar", "baz"]), ("/foo/0", "bar"), ("/", 0),
    ("/a~1b", 1), ("/m~0n", 8), ("/k/x", None),
])
def test_rfc6901_examples(pointer, value):
    assert resolve(DOC, pointer) == value


def test_tilde_then_one_is_a_tilde_one_member():
    assert unescape("~01") == "~1"
    assert resolve(DOC, "/~01") == 9


def test_escape_round_trip():
    for token in ["a/b", "m~n", "~1", "plain"]:
        assert unescape(escape(token)) == token
    assert join(split("/a~1b/~0")) == "/a~1b/~0"


@pytest.mark.parametrize("pointer", ["foo", "/foo/2", "/foo/01", "/nope", "/foo/0/x"])
def test_errors(pointer):
    with pytest.raises(PointerError):
        resolve(DOC, pointer)
