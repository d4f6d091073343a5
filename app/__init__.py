"""Fathom's presentation layer: the `fathom` CLI, the TUI and the CI bot."""
