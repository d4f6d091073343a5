"""Prompt text for Fathom's agents, kept as data: one module per concern."""
