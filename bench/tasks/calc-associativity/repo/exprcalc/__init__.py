"""Evaluate arithmetic expressions safely: no eval, just a lexer and a parser."""

from exprcalc.evaluate import evaluate

__all__ = ["evaluate"]
