"""JSON Patch (RFC 6902): add, remove, replace, move, copy and test operations."""

from __future__ import annotations

import copy
from typing import Any

from jsondoc.pointer import PointerError, _index, parent, resolve


class PatchError(ValueError):
    """An operation that cannot be applied; the message names the operation."""


def _add(document: Any, path: str, value: Any) -> Any:
    if path == "":
        return value
    container, token = parent(document, path)
    if isinstance(container, dict):
        container[token] = value
    elif isinstance(container, list):
        container.insert(_index(container, token, path, allow_end=True), value)
    else:
        raise PointerError(f"{path}: cannot add to {type(container).__name__}")
    return document


def _remove(document: Any, path: str) -> Any:
    container, token = parent(document, path)
    if isinstance(container, dict):
        if token not in container:
            raise PointerError(f"{path}: no member {token!r}")
        return container.pop(token)
    if isinstance(container, list):
        return container.pop(_index(container, token, path))
    raise PointerError(f"{path}: cannot remove from {type(container).__name__}")


def apply_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """A patched deep copy of ``document``; the original is never changed.

    The operations apply in order, all or nothing.
    """
    result = copy.deepcopy(document)
    for number, operation in enumerate(operations):
        op = operation.get("op")
        path = operation.get("path")
        if not isinstance(path, str):
            raise PatchError(f"operation {number}: missing 'path'")
        try:
            if op == "add":
                result = _add(result, path, copy.deepcopy(operation["value"]))
            elif op == "remove":
                _remove(result, path)
            elif op == "replace":
                resolve(result, path)
                if path == "":
                    result = copy.deepcopy(operation["value"])
                else:
                    _remove(result, path)
                    result = _add(result, path, copy.deepcopy(operation["value"]))
            elif op in ("move", "copy"):
                source = operation["from"]
                value = copy.deepcopy(resolve(result, source))
                if op == "move":
                    _remove(result, source)
                result = _add(result, path, value)
            elif op == "test":
                if resolve(result, path) != operation["value"]:
                    raise PatchError(f"operation {number}: test failed at {path}")
            else:
                raise PatchError(f"operation {number}: unknown op {op!r}")
        except (PointerError, KeyError) as error:
            raise PatchError(f"operation {number} ({op}): {error}") from None
    return result
