"""How commands talk to people and machines: JSON on stdout, progress on a TTY, errors."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    """A rich ``Console`` made on first use: rich costs ~30 ms to import, and a command
    answering with ``--json`` (an agent, a script, the benchmarks) never prints through it."""

    def __init__(self, stderr: bool = False) -> None:
        """Remember how to make the console (stdout or stderr)."""
        self._stderr = stderr
        self._console: Console | None = None

    @property
    def real(self) -> Console:
        """The console itself, for APIs that need a ``Console`` instance."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        """Everything else is the console's."""
        return getattr(self.real, name)


console = LazyConsole()
err_console = LazyConsole(stderr=True)


def escape(text: str) -> str:
    """``rich.markup.escape``, with rich imported only when something is shown."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def emit_json(data: Any) -> None:
    """Print ``data`` (dataclasses included) as JSON on stdout."""
    def default(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        if isinstance(value, set | frozenset):
            return sorted(value)
        raise TypeError(f"cannot serialise {type(value).__name__}")

    sys.stdout.write(json.dumps(data, default=default, ensure_ascii=False, indent=1) + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error (what and where) on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing a bar on a TTY; silent otherwise."""
    if quiet or not err_console.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(), console=err_console.real, transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
