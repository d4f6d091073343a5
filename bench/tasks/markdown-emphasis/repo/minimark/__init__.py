"""Render a small, safe subset of Markdown to HTML."""

from minimark.blocks import render

__all__ = ["render"]
