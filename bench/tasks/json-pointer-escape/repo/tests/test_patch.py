import pytest
from jsondoc.patch import PatchError, apply_patch


def test_add_replace_remove():
    doc = {"name": "ann", "tags": ["a"]}
    patched = apply_patch(doc, [
        {"op": "add", "path": "/tags/-", "value": "b"},
        {"op": "add", "path": "/tags/0", "value": "z"},
        {"op": "replace", "path": "/name", "value": "bob"},
        {"op": "remove", "path": "/tags/1"},
    ])
    assert patched == {"name": "bob", "tags": ["z", "b"]}
    assert doc == {"name": "ann", "tags": ["a"]}


def test_move_and_copy():
    doc = {"a": {"x": 1}, "b": {}}
    patched = apply_patch(doc, [
        {"op": "copy", "from": "/a/x", "path": "/b/y"},
        {"op": "move", "from": "/a", "path": "/c"},
    ])
    assert patched == {"b": {"y": 1}, "c": {"x": 1}}


def test_escaped_member_names():
    doc = {"~1": "tilde-one", "/": "slash"}
    patched = apply_patch(doc, [{"op": "replace", "path": "/~01", "value": "changed"}])
    assert patched == {"~1": "changed", "/": "slash"}


def test_test_op_and_errors():
    doc = {"v": 1}
    assert apply_patch(doc, [{"op": "test", "path": "/v", "value": 1}]) == doc
    with pytest.raises(PatchError, match="test failed"):
        apply_patch(doc, [{"op": "test", "path": "/v", "value": 2}])
    with pytest.raises(PatchError, match="operation 0 \\(remove\\)"):
        apply_patch(doc, [{"op": "remove", "path": "/w"}])
    with pytest.raises(PatchError, match="unknown op"):
        apply_patch(doc, [{"op": "frobnicate", "path": "/v"}])
