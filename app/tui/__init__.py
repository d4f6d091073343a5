"""Fathom's terminal UI (Textual): Ask, Code, What the model saw, Runs.

`run_tui(path, settings)` opens it; `app.tui.services` is its only door to the engine.
"""
