"""The TUI's screens: one per view (Ask, Code, Context, Runs) and the help overlay."""
