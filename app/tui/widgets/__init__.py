"""Fathom's own widgets: status bar, navigation, answers, code viewer, file tree, budget bar."""
