"""``fathom locate``: rank the functions the failing tests point at (no model involved)."""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.commands.repo import JsonOption, RepoOption
from app.output import console, emit_json, err_console, fail


class Formula(StrEnum):
    """Suspiciousness formulas: the names of ``tools.locate.FORMULAS`` (not imported here,
    so that ``fathom --help`` does not load coverage and tree-sitter)."""

    ochiai = "ochiai"
    dstar = "dstar"
    tarantula = "tarantula"


def locate_command(
    test_cmd: Annotated[
        str, typer.Option("--test-cmd", help="The pytest command, run in the repository.")
    ],
    repo: RepoOption = Path("."),
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many functions.")] = 10,
    formula: Annotated[
        Formula, typer.Option("--formula", help="Suspiciousness formula.")
    ] = Formula.ochiai,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds before the tests are stopped.")
    ] = 600.0,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="Environment variable passed on to the tests (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the tests under coverage and rank suspicious functions (fault localisation)."""
    from tools.locate import LocateError, locate

    allow = tuple(env or ())
    try:
        if as_json or not err_console.is_terminal:
            suspects = locate(repo, test_cmd, formula.value, limit, timeout, allow)
        else:
            with err_console.status("running the tests under coverage"):
                suspects = locate(repo, test_cmd, formula.value, limit, timeout, allow)
    except LocateError as error:
        fail(str(error))
    if as_json:
        emit_json([suspect.to_json() for suspect in suspects])
        return
    if not suspects:
        console.print("no function of the repository ran in a failing test")
        return
    from rich.table import Table  # only for people: --json never loads it

    table = Table("rank", "score", "function", "location", box=None, header_style="bold")
    for rank, suspect in enumerate(suspects, start=1):
        table.add_row(str(rank), f"{suspect.score:.3f}", suspect.name,
                      f"{suspect.path}:{suspect.line}-{suspect.end_line}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``locate`` to ``app``."""
    app.command("locate")(locate_command)
