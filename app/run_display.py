"""How agent runs show on a terminal: their events as they happen, and their results.

`RunDisplay` is the event sink of an agent command: progress lines on stderr, a reply
streamed as the model writes it. `show_result` prints what a run ended with — an answer
and its sources, a patch run's summary and how to apply it, a review's findings, a pull
request's description — for `fathom ask|fix|repair|review|describe|resume` and the
headless `fathom tui`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.api import AskResult, DescribeResult, PatchResult, ReviewResult, RunResult
from app.output import LazyConsole, console, emit_json, err_console, escape

if TYPE_CHECKING:
    from rich.console import Console

    from agents.events import Event

PROGRESS_UNITS = {"indexing": "bytes", "packing": "files", "prefill": "tokens"}


class RunDisplay:
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

    def __call__(self, event: Event) -> None:
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

    def _piece(self, target: Console | LazyConsole, text: str, style: str | None = None) -> None:
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

    def answer(self, result: AskResult, root: Path) -> None:
        """Print the answer on stdout, unless the model's text as written is what
        streamed (dropped citations were shown as notices; the span numbers it cites
        are the numbers of the sources), then the sources the model read."""
        streamed = "".join(self.streamed).strip()
        self._end_line()
        if not streamed or streamed != result.written.strip():
            console.print(result.answer, markup=False, highlight=False, soft_wrap=True)
        if result.model != "none":  # without a model the answer lists them already
            _print_sources(result, root)


def _print_sources(result: AskResult, root: Path) -> None:
    """The spans the model read, numbered as in its prompt, each a link to its file."""
    if not result.sources:
        return
    console.print("\nSources:", highlight=False)
    for number, source in enumerate(result.sources, 1):
        target = (root / source.path).resolve().as_uri()
        name = f"  [dim]{escape(source.name)}[/]" if source.name else ""
        where = f"[link={target}]{escape(str(source))}[/link]"
        console.print(f"  {escape(f'[{number}]')} {where}{name}", highlight=False)


def show_result(result: RunResult, root: Path, as_json: bool, display: RunDisplay) -> None:
    """Print a run's result: one JSON document with `as_json`, else for people."""
    if as_json:
        emit_json(result.to_json())
    elif isinstance(result, AskResult):
        display.answer(result, root)
        _ask_footer(result)
    elif isinstance(result, ReviewResult):
        _print_review(result)
    elif isinstance(result, DescribeResult):
        console.print(f"[bold]{escape(result.title)}[/]\n", highlight=False)
        console.print(result.body, markup=False, highlight=False)
    else:
        _print_patch(result)


def _ask_footer(result: AskResult) -> None:
    """How the answer came about, on stderr: the path, the model, what it saw."""
    routed = result.route
    if routed is not None and routed.graph != "ask":
        err_console.print(f"[dim]this reads as a change request; `fathom {routed.graph}` "
                          "makes it[/]", highlight=False)
    seen = result.manifest
    saw = (f"saw {seen.count('full')} whole files, {seen.count('signatures')} outlines, "
           f"{seen.count('omitted')} listed" if seen and seen.included else "saw no pack")
    err_console.print(f"[dim]{result.path} path · {escape(result.model)} · {saw}, "
                      f"{len(result.sources)} sources · {len(result.citations)} citations · "
                      f"run {result.run_id}[/]", highlight=False)


def _print_review(result: ReviewResult) -> None:
    """The findings, each with its evidence, then the summary (their text is shown as is)."""
    for f in result.findings:
        severity = escape("[" + f.severity + "]")
        console.print(f"[bold]{escape(f.path)}:{f.line}[/] {severity} {escape(f.message)}\n"
                      f"  [dim]{escape(f.evidence.kind)}: {escape(f.evidence.text)}[/]",
                      highlight=False)
    console.print(result.summary, markup=False, highlight=False)


def _print_patch(result: PatchResult) -> None:
    """A fix or repair run's summary, how to apply it when it waits, and what it used."""
    console.print(result.summary or result.status, markup=False, highlight=False)
    if result.status == "awaiting_approval" and result.approval:
        console.print(result.approval.instructions, markup=False, highlight=False)
    usage = result.usage
    cached = (f" ({usage.cached_prompt_tokens / usage.prompt_tokens:.0%} of the prompt "
              "from the server's cache)" if usage.cached_prompt_tokens else "")
    console.print(f"[dim]run {result.run_id} · {usage.total_tokens} tokens{cached} · "
                  f"${usage.cost:.4f}[/]", highlight=False)
