"""Agent commands: ask, fix, repair, review, describe, resume.

Each calls the agents' front door (`agents.api`) for a durable run (an id, a checkpoint
per step) in the repository given by `--repo` (default: the current directory), and
renders its typed result (`app.run_display`). On a terminal they show progress on
stderr, and `ask` streams its answer on stdout as the model writes it (its reasoning, on
the Slow Path, dimmed on stderr); with `--json` stdout carries one JSON document and
nothing else. `fix` and `repair` ask before touching the user's branch: `--yes` answers
yes; without a terminal to ask, the run stops at that point, keeps its branch and says
how to apply or resume it.

Exit codes: 0 done (or stopped at the approval point), 1 the run finished without
success (tests still failing, budget spent), 2 bad input or configuration, 130
interrupted (resume it with `fathom resume RUN_ID`).

The front door and the display are imported inside the commands: `fathom index` and
the other repository commands never pay for the agents' imports.
"""

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.output import err_console, escape, fail

if TYPE_CHECKING:
    from agents.api import Approver, Budgets, ChatModel, RunResult
    from app.run_display import RunDisplay

RepoOption = Annotated[
    Path, typer.Option("--repo", help="Repository root (default: the current directory).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Apply to your branch without "
                                         "asking.")]
TestCmdOption = Annotated[str | None, typer.Option("--test-cmd", help="Command that runs the "
                                                   "tests, e.g. 'python -m pytest -q'.")]
NoModelOption = Annotated[bool, typer.Option("--no-model", help="Run without a model "
                                             "(same as FATHOM_BACKEND=none).")]
StepsOption = Annotated[int, typer.Option("--max-steps", help="Step budget.")]
TokensOption = Annotated[int, typer.Option("--max-tokens", help="Token budget.")]
SecondsOption = Annotated[float, typer.Option("--max-seconds", help="Time budget (seconds).")]
BaseOption = Annotated[str, typer.Option("--base", help="The revision the change starts from.")]
HeadOption = Annotated[str, typer.Option("--head", help="The revision to review.")]
EXIT_FAILED, EXIT_INTERRUPTED = 1, 130


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected failures into a one-line error and exit code 2."""
    from agents.api import ChatModelError, RunNotFoundError
    from tools.git import GitError

    try:
        yield
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (FileNotFoundError, NotADirectoryError, ValueError, GitError, ChatModelError,
            RunNotFoundError, sqlite3.DatabaseError) as error:
        fail(str(error))


def _root(repo: Path) -> Path:
    """The repository directory, resolved (FileNotFoundError when it does not exist)."""
    return repo.resolve(strict=True)


def _required_model(root: Path, kind: str, no_model: bool) -> "ChatModel":
    """The configured model, for a run that cannot work without one."""
    from agents.api import model_for

    model = model_for(root, no_model=no_model)
    if model is None:
        raise ValueError(f"`fathom {kind}` needs a model: configure one in fathom.toml or "
                         "FATHOM_* variables")
    return model


def _approver(yes: bool) -> "Approver | None":
    """Ask on the terminal; None (stop at the approval point) without one."""
    if yes or not sys.stdin.isatty():
        return None
    return lambda request: typer.confirm(request.question, default=False, err=True)


def _budgets(steps: int, tokens: int, seconds: float) -> "Budgets":
    from agents.api import Budgets

    return Budgets(max_steps=steps, max_tokens=tokens, max_seconds=seconds)


def _finish(result: "RunResult", root: Path, as_json: bool, display: "RunDisplay") -> None:
    """Show the result and exit with the run's code."""
    from agents.api import PatchResult
    from app.run_display import show_result

    show_result(result, root, as_json, display)
    if isinstance(result, PatchResult) and result.status == "failed":
        raise typer.Exit(EXIT_FAILED)


def ask_command(
    question: Annotated[str, typer.Argument(help="A question about the repository.")],
    repo: RepoOption = Path("."),
    path: Annotated[str | None, typer.Option("--path", help="fast or slow (default: routed).")]
    = None,
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
    context_tokens: Annotated[int | None, typer.Option(
        "--context-tokens", help="Model context to fill (default: the model's own).")] = None,
) -> None:
    """Answer a question about the repository, citing path:line (Fast Path)."""
    with _errors():
        if path not in (None, "fast", "slow"):
            raise ValueError(f"--path must be fast or slow, not {path!r}")
        root = _root(repo)
        answer_question(root, question, as_json=as_json, no_model=no_model, path=path,
                        context_tokens=context_tokens)


def answer_question(root: Path, question: str, *, as_json: bool = False,
                    no_model: bool = False, path: str | None = None,
                    context_tokens: int | None = None) -> None:
    """Ask `question` about the repository at `root` and show the answer (a model that
    cannot be made is reported, and the ranked code answers instead)."""
    from agents.api import AskRequest, ChatModelError, ask, model_for
    from app.run_display import RunDisplay, show_result

    try:
        model = model_for(root, no_model=no_model)
    except ChatModelError as err:
        err_console.print(f"[yellow]warning:[/] no model ({escape(str(err))}); "
                          "showing ranked code", highlight=False)
        model = None
    display = RunDisplay(as_json)
    result = ask(AskRequest(root, question, path, context_tokens),  # type: ignore[arg-type]
                 model=model, events=display)
    show_result(result, root, as_json, display)


def fix_command(
    task: Annotated[str, typer.Argument(help="What to change, in words.")],
    repo: RepoOption = Path("."),
    test_cmd: TestCmdOption = None,
    yes: YesOption = False,
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
    max_steps: StepsOption = 60,
    max_tokens: TokensOption = 400_000,
    max_seconds: SecondsOption = 1_800.0,
) -> None:
    """Make a change on a new branch, checked and tested, then offer to apply it."""
    from agents.api import FixRequest, fix
    from app.run_display import RunDisplay

    with _errors():
        root = _root(repo)
        display = RunDisplay(as_json)
        result = fix(FixRequest(root, task, test_cmd,
                                _budgets(max_steps, max_tokens, max_seconds)),
                     model=_required_model(root, "fix", no_model), events=display, yes=yes,
                     approve=_approver(yes))
    _finish(result, root, as_json, display)


def repair_command(
    test_cmd: Annotated[str, typer.Option("--test-cmd", help="Command that runs the tests.")],
    repo: RepoOption = Path("."),
    yes: YesOption = False,
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
    max_steps: StepsOption = 60,
    max_tokens: TokensOption = 400_000,
    max_seconds: SecondsOption = 1_800.0,
) -> None:
    """Make failing tests pass on a new branch, or report what still fails."""
    from agents.api import RepairRequest, repair
    from app.run_display import RunDisplay

    with _errors():
        root = _root(repo)
        display = RunDisplay(as_json)
        result = repair(RepairRequest(root, test_cmd,
                                      _budgets(max_steps, max_tokens, max_seconds)),
                        model=_required_model(root, "repair", no_model), events=display,
                        yes=yes, approve=_approver(yes))
    _finish(result, root, as_json, display)


def review_command(
    base: BaseOption,
    head: HeadOption = "HEAD",
    repo: RepoOption = Path("."),
    test_cmd: TestCmdOption = None,
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
) -> None:
    """Review base..head: findings with evidence, self-checked."""
    from agents.api import ReviewRequest, model_for, review
    from app.run_display import RunDisplay

    with _errors():
        root = _root(repo)
        display = RunDisplay(as_json)
        result = review(ReviewRequest(root, base, head, test_cmd),
                        model=model_for(root, no_model=no_model), events=display)
    _finish(result, root, as_json, display)


def describe_command(
    base: BaseOption,
    head: Annotated[str, typer.Option("--head", help="The revision to describe.")] = "HEAD",
    repo: RepoOption = Path("."),
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
) -> None:
    """Describe base..head as a pull request: a title and a description."""
    from agents.api import DescribeRequest, describe, model_for
    from app.run_display import RunDisplay

    with _errors():
        root = _root(repo)
        display = RunDisplay(as_json)
        result = describe(DescribeRequest(root, base, head),
                          model=model_for(root, no_model=no_model), events=display)
    _finish(result, root, as_json, display)


def resume_command(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    repo: RepoOption = Path("."),
    yes: YesOption = False,
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
) -> None:
    """Continue a run after a crash or kill, or past its approval point."""
    from agents.api import model_for, resume
    from app.run_display import RunDisplay

    with _errors():
        root = _root(repo)
        display = RunDisplay(as_json)
        result = resume(root, run_id, model=model_for(root, no_model=no_model),
                        events=display, yes=yes, approve=_approver(yes))
    _finish(result, root, as_json, display)


COMMANDS: dict[str, Callable[..., None]] = {
    "ask": ask_command,
    "fix": fix_command,
    "repair": repair_command,
    "review": review_command,
    "describe": describe_command,
    "resume": resume_command,
}


def register(app: typer.Typer) -> None:
    """Add the agent commands to `app`."""
    for name, command in COMMANDS.items():
        app.command(name)(command)
