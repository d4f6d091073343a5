"""The ``fathom`` command line: one typer app, one sub-module per family of commands."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

import typer

from app.commands import agent, doctor, faults, repo, serve, tui

app = typer.Typer(
    name="fathom",
    help="Understand whole code repositories and change them safely, with DeepSeek V4 inside.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
repo.register(app)
faults.register(app)
agent.register(app)
tui.register(app)
serve.register(app)
doctor.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as done:
        _exit(done.code)
    _exit(0)


def _exit(code: object) -> NoReturn:
    """End the process once the command is done, skipping the interpreter's teardown.

    Deallocating the ~400 modules a command has imported, one by one, costs 10–25 ms: a
    tenth of ``fathom index`` after an edit. So exit handlers run and standard streams are
    flushed here, then ``os._exit`` ends the process; exit statuses are those of
    ``SystemExit``. While other threads still run, the normal shutdown (which waits for
    them) is kept.
    """
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what the interpreter reports as 120
            status = status or 120
    os._exit(status)
