"""Evaluate expression trees with variables and a few math functions."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

from exprcalc.parser import Node, parse

FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt, "abs": abs, "min": min, "max": max, "round": round,
}
_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "%": operator.mod, "^": operator.pow,
}


class EvaluationError(ValueError):
    """An unknown name, a bad call or a division by zero."""


def _eval(node: Node, variables: dict[str, float]) -> float:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        try:
            return variables[node[1]]
        except KeyError:
            raise EvaluationError(f"unknown variable {node[1]!r}") from None
    if kind == "neg":
        return -_eval(node[1], variables)
    if kind == "call":
        function = FUNCTIONS.get(node[1])
        if function is None:
            raise EvaluationError(f"unknown function {node[1]!r}")
        return function(*(_eval(arg, variables) for arg in node[2]))
    left, right = _eval(node[1], variables), _eval(node[2], variables)
    if kind in "/%" and right == 0:
        raise EvaluationError("division by zero")
    return _OPERATORS[kind](left, right)


def evaluate(text: str, variables: dict[str, float] | None = None) -> float:
    """The value of the expression ``text``."""
    return _eval(parse(text), variables or {})
