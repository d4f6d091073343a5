"""The ``fathom`` command line: one typer app, one sub-module per family of commands."""

from __future__ import annotations

import typer

from app.commands import agent, doctor, locate, repo, tui

app = typer.Typer(
    name="fathom",
    help="Understand whole code repositories and change them safely, with DeepSeek V4 inside.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
repo.register(app)
locate.register(app)
agent.register(app)
tui.register(app)
doctor.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
