"""npm-style ranges: ``^1.2.3``, ``~1.2.3``, comparators, and ``||`` alternatives."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable

from versions.version import Version

_COMPARATOR = re.compile(r"^(>=|<=|>|<|=)?\s*(\S+)$")
_OPS: dict[str, Callable[[Version, Version], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "=": operator.eq,
}


def _expand(term: str) -> list[tuple[str, Version]]:
    """One range term as comparators that must all hold."""
    if term.startswith("^"):
        low = Version.parse(term[1:])
        if low.major:
            high = low.bump("major")
        elif low.minor:
            high = low.bump("minor")
        else:
            high = low.bump("patch")
        return [(">=", low), ("<", high)]
    if term.startswith("~"):
        low = Version.parse(term[1:])
        return [(">=", low), ("<", low.bump("minor"))]
    match = _COMPARATOR.match(term)
    if match is None:
        raise ValueError(f"bad range term {term!r}")
    return [(match.group(1) or "=", Version.parse(match.group(2)))]


def satisfies(version: Version | str, spec: str) -> bool:
    """Whether ``version`` matches ``spec`` (``||`` separates alternatives)."""
    if isinstance(version, str):
        version = Version.parse(version)
    for alternative in spec.split("||"):
        terms = alternative.split()
        if not terms:
            raise ValueError(f"empty alternative in {spec!r}")
        comparators = [c for term in terms for c in _expand(term)]
        if all(_OPS[op](version, bound) for op, bound in comparators):
            return True
    return False


def max_satisfying(versions: Iterable[str], spec: str) -> str | None:
    """The highest version matching ``spec``, as written, or None."""
    matching = [v for v in versions if satisfies(v, spec)]
    return str(max(matching, key=Version.parse)) if matching else None
