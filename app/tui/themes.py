"""Fathom's dark and light themes (colours only; layout and styles live in fathom.tcss)."""

from __future__ import annotations

from textual.theme import Theme

FATHOM_DARK = Theme(
    name="fathom-dark",
    primary="#4FA3E0",
    secondary="#8E7CE6",
    accent="#F0A04B",
    foreground="#D8DEE9",
    background="#0E1621",
    surface="#15202B",
    panel="#1D2B38",
    success="#6BBF59",
    warning="#E5C07B",
    error="#E06C75",
    dark=True,
)

FATHOM_LIGHT = Theme(
    name="fathom-light",
    primary="#1F6FB2",
    secondary="#6A4FC8",
    accent="#C46A00",
    foreground="#1B2733",
    background="#F6F8FA",
    surface="#FFFFFF",
    panel="#E4EAF0",
    success="#2E8B3A",
    warning="#A66F00",
    error="#C2303E",
    dark=False,
)

THEMES = (FATHOM_DARK, FATHOM_LIGHT)
