"""Agent commands: ask, fix, repair, review, resume.

Each runs a graph of `agents.graphs` as a durable run (an id, a checkpoint per step) in
the repository given by `--repo` (default: the current directory). On a terminal they
show progress on stderr, and `ask` streams its answer on stdout as the model writes it
(its reasoning, on the Slow Path, dimmed on stderr); with `--json` stdout carries one
JSON document and nothing else. `fix` and `repair` ask before touching the user's
branch: `--yes` answers yes; without a terminal to ask, the run stops at that point,
keeps its branch and says how to apply or resume it.

Exit codes: 0 done (or stopped at the approval point), 1 the run finished without
success (tests still failing, budget spent), 2 bad input or configuration, 130
interrupted (resume it with `fathom resume RUN_ID`).
"""

import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from app.output import LazyConsole, console, emit_json, err_console, escape, fail

if TYPE_CHECKING:
    from rich.console import Console

    from agents.events import Event
    from agents.graphs.ask import AskResult
    from agents.graphs.base import Budgets
    from agents.graphs.runner import Approver, RunOutcome
    from agents.llm import ChatModel
    from agents.runs import RunKind

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
EXIT_FAILED, EXIT_INTERRUPTED = 1, 130


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected failures into a one-line error and exit code 2."""
    from agents.llm import ChatModelError
    from agents.runs import RunNotFoundError
    from tools.git import GitError

    try:
        yield
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (FileNotFoundError, NotADirectoryError, ValueError, GitError, ChatModelError,
            RunNotFoundError, sqlite3.DatabaseError) as error:
        fail(str(error))


def load_model(repo: Path, no_model: bool) -> "ChatModel | None":
    """The configured model; None with `--no-model` or backend "none".

    Settings come from `FATHOM_*` variables and `fathom.toml` (the repository's, when
    `FATHOM_CONFIG_FILE` does not name another).
    """
    from pydantic import ValidationError

    from agents.llm import ChatModelError, chat_model_from_config
    from agents.settings import ModelSettings

    if no_model:
        return None
    own = repo / "fathom.toml"
    try:
        settings = (ModelSettings(config_file=own)
                    if "FATHOM_CONFIG_FILE" not in os.environ and own.is_file()
                    else ModelSettings())
    except ValidationError as err:
        raise ChatModelError(f"model settings: {err}") from err
    if settings.backend == "none":
        return None
    return chat_model_from_config(settings)


PROGRESS_UNITS = {"indexing": "bytes", "packing": "files", "prefill": "tokens"}


class _Display:
    """The event sink of a command on a terminal: progress lines on stderr, and a reply
    streamed as it comes — its text on stdout, its reasoning dimmed on stderr. Silent
    with --json or without a terminal, except that an interrupted run is always reported.
    """

    _LINES: dict[str, Callable[[Any], str]] = {
        "step_started": lambda e: f"[dim]·[/] {escape(e.step)}",
        "tool_call": lambda e: (f"  [cyan]{escape(e.name)}[/] "
                                f"{'ok' if e.ok else '[red]failed[/]'}"),
        "test_result": lambda e: f"  tests: {'[green]passed' if e.ok else '[red]failing'}[/]",
        "notice": lambda e: f"  [yellow]{escape(e.message)}[/]",
        "error": lambda e: f"  [red]{escape(e.message)}[/]",
    }

    def __init__(self, quiet: bool) -> None:
        """`quiet` (--json) shows nothing but an interruption."""
        self.quiet = quiet
        self.streamed: list[str] = []     # the answer text shown so far
        self._open: Console | LazyConsole | None = None  # the console whose last line is unfinished

    def __call__(self, event: "Event") -> None:
        """Show one event: a piece of a reply, or a short line."""
        if event.kind == "run_finished" and event.status == "interrupted":
            self._end_line()
            err_console.print(f"[yellow]{escape(event.summary)}[/]", highlight=False)
        if self.quiet:
            return
        if event.kind == "answer_delta" and console.is_terminal:
            self._piece(console, event.text)
            self.streamed.append(event.text)
        elif event.kind == "reasoning_delta" and err_console.is_terminal:
            self._piece(err_console, event.text, "dim")
        elif event.kind == "progress" and err_console.is_terminal:
            self._progress(event.task, event.done, event.total)
        elif event.kind in self._LINES and err_console.is_terminal:
            self._end_line()
            err_console.print(self._LINES[event.kind](event), highlight=False)

    def _progress(self, task: str, done: int, total: int) -> None:
        """One line per long task (indexing, packing, prefill), rewritten as it advances."""
        if self._open is not None and self._open is not err_console:
            self._end_line()
        unit = PROGRESS_UNITS.get(task, "")
        # A carriage return rewrites the line; rich would strip it, so write it directly.
        err_console.file.write(f"\r  {task} {done:,}/{total:,} {unit}")
        err_console.file.flush()
        self._open = err_console
        if done >= total:
            self._end_line()

    def _piece(self, target: "Console | LazyConsole", text: str, style: str | None = None) -> None:
        """Write a piece of a reply as it is, continuing the line it belongs to."""
        if self._open is not None and self._open is not target:
            self._end_line()
        target.out(text, end="", style=style, highlight=False)
        self._open = target

    def _end_line(self) -> None:
        """Finish the line a streamed reply left open."""
        if self._open is not None:
            self._open.out("")
            self._open = None

    def answer(self, result: "AskResult", root: Path) -> None:
        """Print the answer on stdout, unless the model's text as written is what
        streamed (dropped citations were shown as notices; the span numbers it cites
        are the numbers of the sources), then the sources the model read."""
        streamed = "".join(self.streamed).strip()
        self._end_line()
        if not streamed or streamed != result.written.strip():
            console.print(result.answer, markup=False, highlight=False, soft_wrap=True)
        if result.model != "none":  # without a model the answer lists them already
            _print_sources(result, root)


def _print_sources(result: "AskResult", root: Path) -> None:
    """The spans the model read, numbered as in its prompt, each a link to its file."""
    if not result.sources:
        return
    console.print("\nSources:", highlight=False)
    for number, source in enumerate(result.sources, 1):
        target = (root / source.path).resolve().as_uri()
        name = f"  [dim]{escape(source.name)}[/]" if source.name else ""
        where = f"[link={target}]{escape(str(source))}[/link]"
        console.print(f"  {escape(f'[{number}]')} {where}{name}", highlight=False)


def _approver(yes: bool) -> "Approver | None":
    """Ask on the terminal; None (stop at the approval point) without one."""
    if yes or not sys.stdin.isatty():
        return None
    return lambda request: typer.confirm(request.get("question", "Apply?"), default=False,
                                         err=True)


def _budgets(steps: int, tokens: int, seconds: float) -> "Budgets":
    from agents.graphs.base import Budgets

    return Budgets(max_steps=steps, max_tokens=tokens, max_seconds=seconds)


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
    from agents.graphs.ask import AskResult
    from agents.graphs.runner import start_run
    from agents.llm import ChatModelError
    from agents.router import route

    with _errors():
        if path not in (None, "fast", "slow"):
            raise ValueError(f"--path must be fast or slow, not {path!r}")
        routed = route(question, path)  # type: ignore[arg-type]
        root = repo.resolve(strict=True)
        try:
            model = load_model(root, no_model)
        except ChatModelError as err:
            err_console.print(f"[yellow]warning:[/] no model ({escape(str(err))}); "
                              "showing ranked code", highlight=False)
            model = None
        inputs = {"question": question, "repo": str(root), "path": routed.path,
                  "context_tokens": context_tokens}
        display = _Display(as_json)
        outcome = start_run("ask", root, inputs, model=model, emit=display)
    result = AskResult.from_state(outcome.state)
    if as_json:
        emit_json(result.to_json())
        return
    display.answer(result, root)
    if routed.graph != "ask":
        err_console.print(f"[dim]this reads as a change request; `fathom {routed.graph}` "
                          "makes it[/]", highlight=False)
    seen = result.manifest
    saw = (f"saw {seen.count('full')} whole files, {seen.count('signatures')} outlines, "
           f"{seen.count('omitted')} listed" if seen and seen.included else "saw no pack")
    err_console.print(f"[dim]{routed.path} path · {escape(result.model)} · {saw}, "
                      f"{len(result.sources)} sources · {len(result.citations)} citations · "
                      f"run {outcome.run_id}[/]", highlight=False)


def _patch_json(outcome: "RunOutcome") -> dict[str, Any]:
    state, record = outcome.state, outcome.record
    tests = state.get("tests") or state.get("baseline")
    return {
        "run_id": outcome.run_id, "kind": outcome.kind, "status": outcome.status,
        "outcome": state.get("outcome") or None, "branch": state.get("branch"),
        "commit": state.get("commit"), "files": state.get("files", []),
        "applied": bool(state.get("applied")),
        "tests": {k: v for k, v in tests.items() if k != "output"} if tests else None,
        "summary": state.get("summary") or record.summary,
        "approval": outcome.approval,
        "usage": {"calls": record.calls, "prompt_tokens": record.prompt_tokens,
                  "cached_prompt_tokens": record.cached_prompt_tokens,
                  "completion_tokens": record.completion_tokens, "cost": record.cost},
    }


def _report(outcome: "RunOutcome", as_json: bool, display: "_Display") -> None:
    """Print a run's outcome and exit with its code (`display` showed the run)."""
    if outcome.kind == "ask":
        from agents.graphs.ask import AskResult

        result = AskResult.from_state(outcome.state)
        if as_json:
            emit_json(result.to_json())
        else:
            display.answer(result, Path(outcome.state["repo"]))
        return
    if outcome.kind == "review":
        data = _review_json(outcome)
        if as_json:
            emit_json(data)
        else:
            _print_review(data)
        return
    data = _patch_json(outcome)
    if as_json:
        emit_json(data)
    else:
        console.print(data["summary"] or outcome.status, markup=False, highlight=False)
        if outcome.status == "awaiting_approval" and outcome.approval:
            console.print(outcome.approval.get("instructions", ""), markup=False,
                          highlight=False)
        record = outcome.record
        cached = (f" ({record.cached_prompt_tokens / record.prompt_tokens:.0%} of the prompt "
                  "from the server's cache)" if record.cached_prompt_tokens else "")
        console.print(f"[dim]run {outcome.run_id} · {record.total_tokens} tokens{cached} · "
                      f"${record.cost:.4f}[/]", highlight=False)
    if outcome.status == "failed":
        raise typer.Exit(EXIT_FAILED)


def _patch_run(kind: "RunKind", repo: Path, inputs: dict[str, Any], yes: bool, as_json: bool,
               budgets: "Budgets", no_model: bool) -> None:
    from agents.graphs.runner import start_run

    with _errors():
        root = repo.resolve(strict=True)
        model = load_model(root, no_model)
        if model is None:
            raise ValueError(f"`fathom {kind}` needs a model: configure one in fathom.toml "
                             "or FATHOM_* variables")
        display = _Display(as_json)
        outcome = start_run(kind, root, {**inputs, "kind": kind, "repo": str(root)},
                            model=model, emit=display, budgets=budgets,
                            auto_approve=yes, approver=_approver(yes))
    _report(outcome, as_json, display)


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
    _patch_run("fix", repo, {"task": task, "test_command": test_cmd}, yes, as_json,
               _budgets(max_steps, max_tokens, max_seconds), no_model)


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
    _patch_run("repair", repo, {"task": f"make the failing tests pass ({test_cmd})",
                                "test_command": test_cmd}, yes, as_json,
               _budgets(max_steps, max_tokens, max_seconds), no_model)


def _review_json(outcome: "RunOutcome") -> dict[str, Any]:
    state = outcome.state
    return {"run_id": outcome.run_id, "base": state.get("base"), "head": state.get("head"),
            "model": state.get("model", "none"), "findings": state.get("findings", []),
            "dropped": state.get("dropped", []), "lint": state.get("lint", []),
            "failing_tests": state.get("failing", []), "summary": state.get("summary", "")}


def _print_review(data: dict[str, Any]) -> None:
    """The findings, each with its evidence, then the summary (their text is shown as is)."""
    for f in data["findings"]:
        severity = escape("[" + f["severity"] + "]")
        console.print(f"[bold]{escape(f['path'])}:{f['line']}[/] "
                      f"{severity} {escape(f['message'])}\n"
                      f"  [dim]{escape(f['evidence']['kind'])}: "
                      f"{escape(f['evidence']['text'])}[/]", highlight=False)
    console.print(data["summary"], markup=False, highlight=False)


def review_command(
    base: Annotated[str, typer.Option("--base", help="The revision the change starts from.")],
    head: Annotated[str, typer.Option("--head", help="The revision to review.")] = "HEAD",
    repo: RepoOption = Path("."),
    test_cmd: TestCmdOption = None,
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
) -> None:
    """Review base..head: findings with evidence, self-checked."""
    from agents.graphs.runner import start_run

    with _errors():
        root = repo.resolve(strict=True)
        model = load_model(root, no_model)
        inputs = {"repo": str(root), "base": base, "head": head, "test_command": test_cmd}
        display = _Display(as_json)
        outcome = start_run("review", root, inputs, model=model, emit=display)
    _report(outcome, as_json, display)


def resume_command(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    repo: RepoOption = Path("."),
    yes: YesOption = False,
    as_json: JsonOption = False,
    no_model: NoModelOption = False,
) -> None:
    """Continue a run after a crash or kill, or past its approval point."""
    from agents.graphs.runner import resume_run

    with _errors():
        root = repo.resolve(strict=True)
        display = _Display(as_json)
        outcome = resume_run(root, run_id, model=load_model(root, no_model),
                             emit=display, auto_approve=yes, approver=_approver(yes))
    _report(outcome, as_json, display)


COMMANDS: dict[str, Callable[..., None]] = {
    "ask": ask_command,
    "fix": fix_command,
    "repair": repair_command,
    "review": review_command,
    "resume": resume_command,
}


def register(app: typer.Typer) -> None:
    """Add the agent commands to `app`."""
    for name, command in COMMANDS.items():
        app.command(name)(command)
