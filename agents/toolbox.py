"""The tools a model may call, bound to one repository root (or worktree).

Each tool has a name, a description, a pydantic model of its arguments — whose JSON
Schema is what the model is shown — and a handler returning text. `ToolBox.call` is
the only way in: it looks the tool up, validates the arguments and runs the handler,
and whatever the model sent it returns a `ToolResult`; a malformed call, a refused path
or a failing edit comes back as a structured error for the model to read, never as an
exception. Reading goes through the same path checks as editing (`tools.edit`), so the
model cannot read outside the repository, into `.git/`, or a secret.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pathspec
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.llm import ChatMessage, ToolCall, ToolSpec
from agents.prompts.edit_formats import APPLY_EDIT_DESCRIPTION
from tools import git as gitlib
from tools.edit import EditError, EditPathError, resolve_repo_path
from tools.edit_formats import apply_edit
from tools.repo.files import discover
from tools.repo.find import find_definitions
from tools.repo.index import RepoIndex
from tools.repo.rank import RankQuery, rank
from tools.repo.repomap import render_map
from tools.repo.search import search
from tools.repo.secrets import secret_file_reason
from tools.repo.showable import hidden_reason
from tools.testing import TestCommandError, TestRun, run_tests

MAX_READ_LINES = 400      # lines one read_file call returns at most
MAX_LINE_CHARS = 400      # longer lines are cut
MAX_LISTED = 500          # paths one list_files call returns at most
MAX_RESULT_CHARS = 30_000  # any tool result is cut to this many characters (tail kept)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadFileArgs(_Args):
    """Arguments of read_file."""

    path: str = Field(description="File path relative to the repository root.")
    start: int = Field(1, ge=1, description="First line to show (1-based).")
    end: int | None = Field(None, ge=1, description="Last line to show (default: up to "
                            f"{MAX_READ_LINES} lines from start).")


class ListFilesArgs(_Args):
    """Arguments of list_files."""

    glob: str = Field("*", description="gitignore-style pattern, e.g. '*.py' (any depth) or "
                      "'src/**/test_*.py'.")


class SearchArgs(_Args):
    """Arguments of search."""

    query: str = Field(min_length=1, description="Words, identifiers or a phrase.")
    limit: int = Field(10, ge=1, le=50, description="Most results.")


class FindSymbolArgs(_Args):
    """Arguments of find_symbol."""

    name: str = Field(min_length=1, description="A definition's name; 'Class.method' narrows "
                      "by scope.")


class RepoMapArgs(_Args):
    """Arguments of repo_map."""

    tokens: int = Field(1024, ge=64, le=32_768, description="Token budget of the map.")
    focus: list[str] = Field(default_factory=list, description="Files to centre the map on.")


class ApplyEditArgs(_Args):
    """Arguments of apply_edit."""

    format: Literal["search_replace", "udiff"] = Field(description="The edit format.")
    text: str = Field(min_length=1, description="The edit, in that format.")


class RunTestsArgs(_Args):
    """Arguments of run_tests."""

    command: str | None = Field(None, description="Test command; default: the session's.")


class GitDiffArgs(_Args):
    """git_diff takes no arguments."""


@dataclass(frozen=True)
class Tool:
    """One tool: what the model sees (name, description, argument schema) and its handler."""

    name: str
    description: str
    args: type[BaseModel]
    run: Callable[[Any], str]

    def spec(self) -> ToolSpec:
        """The tool as offered to the model."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return ToolSpec(name=self.name, description=self.description, parameters=schema)


@dataclass(frozen=True)
class ToolResult:
    """What a call returned: the text for the model, and whether the tool succeeded."""

    call_id: str
    name: str
    ok: bool
    content: str

    def message(self) -> ChatMessage:
        """The result as the `tool` message that answers the call."""
        return ChatMessage.tool(self.call_id, self.content)


def _error(kind: str, message: str, details: list[dict[str, str]] | None = None) -> str:
    body: dict[str, Any] = {"type": kind, "message": message}
    if details:
        body["details"] = details
    return json.dumps({"error": body}, ensure_ascii=False)


def _clip(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """`text` cut to `limit` characters, keeping the end (where errors and summaries are)."""
    if len(text) <= limit:
        return text
    return f"[… {len(text) - limit} characters omitted …]\n" + text[-limit:]


class ToolBox:
    """The tools of one repository root, dispatched by name.

    `test_command` is what `run_tests` runs by default; a command chosen by the model
    runs only when `allow_model_test_commands` is set. Tests run with a timeout and a
    scrubbed environment (`tools.testing`).
    """

    def __init__(self, root: str | Path, *, test_command: str | Sequence[str] | None = None,
                 test_timeout: float = 600.0, allow_model_test_commands: bool = False) -> None:
        """Bind the tools to `root` (a repository or a worktree; it must exist)."""
        self.root = Path(root).resolve(strict=True)
        self.test_command = test_command
        self.test_timeout = test_timeout
        self.allow_model_test_commands = allow_model_test_commands
        self.last_test_run: TestRun | None = None
        self.tools: dict[str, Tool] = {t.name: t for t in (
            Tool("read_file", "Show lines of a file, numbered.", ReadFileArgs, self.read_file),
            Tool("list_files", "List the repository's files matching a pattern.",
                 ListFilesArgs, self.list_files),
            Tool("search", "Find code spans relevant to a query (ranked).", SearchArgs,
                 self.search),
            Tool("find_symbol", "Find where a function, class or variable is defined.",
                 FindSymbolArgs, self.find_symbol),
            Tool("repo_map", "An outline of the most important definitions in the repository.",
                 RepoMapArgs, self.repo_map),
            Tool("apply_edit", APPLY_EDIT_DESCRIPTION, ApplyEditArgs, self.apply_edit),
            Tool("run_tests", "Run the tests; reports passed and failing tests with messages.",
                 RunTestsArgs, self.run_tests),
            Tool("git_diff", "The changes made so far, as a unified diff.", GitDiffArgs,
                 self.git_diff),
        )}

    def specs(self) -> list[ToolSpec]:
        """Every tool, as offered to the model."""
        return [tool.spec() for tool in self.tools.values()]

    def call(self, call: ToolCall) -> ToolResult:
        """Run one tool call; malformed or failing calls return an error result."""
        def fail(kind: str, message: str, details: list[dict[str, str]] | None = None
                 ) -> ToolResult:
            return ToolResult(call.id, call.name, False, _error(kind, message, details))

        tool = self.tools.get(call.name)
        if tool is None:
            return fail("unknown_tool", f"no tool named {call.name!r}; tools: "
                        f"{', '.join(self.tools)}")
        if call.error:
            return fail("invalid_arguments", call.error)
        try:
            args = tool.args.model_validate(call.arguments)
        except ValidationError as err:
            details = [{"field": ".".join(str(p) for p in e["loc"]) or "(arguments)",
                        "problem": e["msg"]} for e in err.errors()]
            return fail("invalid_arguments", f"arguments of {call.name} do not match its "
                        "schema", details)
        try:
            return ToolResult(call.id, call.name, True, _clip(tool.run(args)))
        except (EditError, TestCommandError, gitlib.GitError, FileNotFoundError) as err:
            return fail(type(err).__name__, str(err))
        except (OSError, sqlite3.Error, ValueError) as err:
            return fail("tool_failed", f"{call.name} failed: {err}")

    # -- handlers -------------------------------------------------------------------------

    def read_file(self, args: ReadFileArgs) -> str:
        """Numbered lines `start`..`end` of a file in the repository."""
        path, rel = resolve_repo_path(self.root, args.path)
        if not path.is_file():
            raise FileNotFoundError(f"{rel}: no such file")
        data = path.read_bytes()
        hidden = hidden_reason(rel, data)
        if hidden:
            raise EditPathError(f"{rel}: refused ({hidden})")
        lines = data.decode("utf-8", "replace").splitlines()
        if not lines:
            return f"{rel} is empty"
        last = min(args.end or len(lines), args.start + MAX_READ_LINES - 1, len(lines))
        if args.start > len(lines):
            raise ValueError(f"{rel} has {len(lines)} lines; start {args.start} is past the end")
        if args.end is not None and args.end < args.start:
            raise ValueError(f"end {args.end} is before start {args.start}")
        shown = [f"{n:>5}| {line[:MAX_LINE_CHARS]}"
                 for n, line in enumerate(lines[args.start - 1:last], start=args.start)]
        more = f" (more: read from line {last + 1})" if last < len(lines) else ""
        header = f"{rel} lines {args.start}-{last} of {len(lines)}{more}"
        return "\n".join([header, *shown])

    def list_files(self, args: ListFilesArgs) -> str:
        """Files matching the glob; ignored, vendored and secret files are left out."""
        spec = pathspec.GitIgnoreSpec.from_lines([args.glob])
        paths = [f.path for f in discover(self.root).files
                 if spec.match_file(f.path) and not secret_file_reason(f.path)]
        more = f"\n… {len(paths) - MAX_LISTED} more" if len(paths) > MAX_LISTED else ""
        return ("\n".join(paths[:MAX_LISTED]) + more) if paths else "no files match"

    @contextmanager
    def _index(self) -> Iterator[tuple[RepoIndex, sqlite3.Connection]]:
        """The repository index, brought up to date (edits change files), and a connection."""
        index = RepoIndex(self.root)
        index.update()
        with closing(index.connect()) as conn:
            yield index, conn

    def search(self, args: SearchArgs) -> str:
        """Ranked spans matching the query: `path:line-end_line name`."""
        with self._index() as (index, conn):
            hits = search(conn, index.fulltext(), args.query, args.limit)
        return "\n".join(f"{h.path}:{h.line}-{h.end_line} {h.name or ''}".rstrip()
                         for h in hits) or "no matches"

    def find_symbol(self, args: FindSymbolArgs) -> str:
        """Definitions with that name: `path:line-end_line kind signature`."""
        with self._index() as (_, conn):
            hits = find_definitions(conn, args.name)
        return "\n".join(f"{h.path}:{h.line}-{h.end_line} {h.kind} {h.signature}"
                         for h in hits) or f"no definition named {args.name!r}"

    def repo_map(self, args: RepoMapArgs) -> str:
        """The highest-ranked definitions within the token budget."""
        with self._index() as (_, conn):
            ranking = rank(conn, RankQuery(focus=tuple(args.focus)))
        return render_map(ranking, args.tokens).text or "the repository has no definitions"

    def apply_edit(self, args: ApplyEditArgs) -> str:
        """Apply an edit (all blocks or none); the result as JSON."""
        result = apply_edit(self.root, args.format, args.text)
        return json.dumps(result.to_json())

    def run_tests(self, args: RunTestsArgs) -> str:
        """Run the tests and summarise: counts, failing tests with messages, output tail."""
        own = self.test_command
        if args.command and args.command != own and not self.allow_model_test_commands:
            raise TestCommandError("this session runs only its own test command "
                                   f"({own or 'none is configured'})")
        command = args.command or own
        if not command:
            raise TestCommandError("no test command is configured for this session; pass "
                                   "`command`")
        run = run_tests(command, self.root, timeout=self.test_timeout)
        self.last_test_run = run
        if run.timed_out:
            status = f"timed out after {self.test_timeout:g}s"
        else:
            status = f"exit code {run.exit_code}"
        counts = ("" if run.passed is None else
                  f", {run.passed} passed, {run.failed} failed, {run.errors} errors, "
                  f"{run.skipped} skipped")
        lines = [f"{'PASSED' if run.ok else 'FAILED'}: {status}{counts} in {run.duration}s"]
        lines += [f"{f.kind.upper()} {f.test_id}: {f.message}" for f in run.failures]
        lines += ["--- output ---", _clip(run.output, MAX_RESULT_CHARS // 2)]
        return "\n".join(lines)

    def git_diff(self, args: GitDiffArgs) -> str:
        """Tracked changes against HEAD, plus new untracked files, as one unified diff."""
        parts = [gitlib.diff_text(self.root)]
        left_out = []
        for rel in gitlib.status(self.root).untracked:
            text = self._shown_text(rel)
            if text is None:
                left_out.append(rel)
                continue
            lines = text.splitlines(keepends=True)
            parts.append("".join(difflib.unified_diff([], lines, "/dev/null", f"b/{rel}")))
        if left_out:
            parts.append(f"(new files not shown — binary or secret: {', '.join(left_out)})\n")
        return "".join(parts) or "no changes"

    def _shown_text(self, rel: str) -> str | None:
        """The text of a file the model may see, or None (refused path, binary, secret)."""
        try:
            path, _ = resolve_repo_path(self.root, rel)
        except EditPathError:
            return None
        data = path.read_bytes() if path.is_file() else b""
        if hidden_reason(rel, data):
            return None
        return data.decode("utf-8", "replace")
