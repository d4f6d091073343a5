"""Semantic Versioning 2.0.0: parse, compare, and match ranges."""

from versions.version import Version

__all__ = ["Version"]
