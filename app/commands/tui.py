"""``fathom tui``: the terminal UI, or a headless answer where there is no terminal."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from app.output import console, err_console

HEADLESS_QUESTION = "What does this repository do, and where are its main parts?"


def tui_command(
    path: Annotated[Path, typer.Argument(help="Repository to open.")] = Path("."),
) -> None:
    """Open the terminal UI on a repository: Ask, Code, What the model saw, Runs.

    Without a terminal (CI, a pipe) it answers one question about the repository with
    the configured model instead, so `make run` does Fathom's main job anywhere.
    """
    if sys.stdin.isatty() and sys.stdout.isatty():
        from app.tui.app import run_tui

        run_tui(path)
        return
    from app.commands.agent import answer_question

    err_console.print(
        f"[yellow]no terminal: answering {HEADLESS_QUESTION!r} instead of opening the TUI[/]",
        highlight=False,
    )
    console.print(f"[bold]{HEADLESS_QUESTION}[/]", highlight=False)
    answer_question(path.resolve(strict=True), HEADLESS_QUESTION)


def register(app: typer.Typer) -> None:
    """Add ``tui`` to ``app``."""
    app.command("tui")(tui_command)
