import pytest
from webroute.pattern import Pattern


def test_static_pattern():
    assert Pattern("/health").match("/health") == {}
    assert Pattern("/health").match("/status") is None


def test_converters():
    pattern = Pattern("/posts/{slug}/{page:int}")
    assert pattern.match("/posts/hello/3") == {"slug": "hello", "page": 3}
    assert Pattern("/posts/{page:int}").match("/posts/three") is None
    assert Pattern("/files/{rest:path}").match("/files/a/b.txt") == {"rest": "a/b.txt"}


def test_pattern_must_match_whole_path():
    assert Pattern("/users/{id:int}").match("/users/7/avatar") is None


def test_invalid_patterns():
    with pytest.raises(ValueError, match="start with"):
        Pattern("users")
    with pytest.raises(ValueError, match="unknown converter"):
        Pattern("/{x:uuid}")
    with pytest.raises(ValueError, match="twice"):
        Pattern("/{x}/{x}")


def test_build():
    assert Pattern("/users/{id:int}/posts/{slug}").build(id=4, slug="hi") == "/users/4/posts/hi"
    with pytest.raises(KeyError):
        Pattern("/users/{id}").build()
