"""Memoise a function of hashable arguments in an LRU cache."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from cachekit.lru import LRUCache

F = TypeVar("F", bound=Callable[..., Any])
_MISSING = object()


def _key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """A hashable key for a call; keyword order does not matter."""
    return args + tuple(sorted(kwargs.items()))


def memoize(capacity: int = 128) -> Callable[[F], F]:
    """Cache up to ``capacity`` results of the decorated function.

    The wrapper exposes its cache as ``.cache``.
    """

    def decorate(function: F) -> F:
        cache = LRUCache(capacity)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = _key(args, kwargs)
            result = cache.get(key, _MISSING)
            if result is _MISSING:
                result = function(*args, **kwargs)
                cache.put(key, result)
            return result

        wrapper.cache = cache  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
