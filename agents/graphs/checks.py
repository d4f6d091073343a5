"""Checks of code a run edits (`fix`) or a change touches (`review`): syntax errors
(compiled or parsed), and ruff's hits — all of them on a change's added lines, or only
the error-class ones an edit added."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from unidiff import PatchSet, UnidiffParseError

from tools.edit import EditPathError, resolve_repo_path
from tools.git import show_file
from tools.repo.languages import language_for_path
from tools.repo.parse import parse_source

LINT_TIMEOUT = 60.0


def source_errors(rel: str, source: bytes) -> list[str]:
    """Parse errors of one file's content: Python is compiled (what `py_compile` does,
    without writing bytecode), other languages are parsed with tree-sitter."""
    if rel.endswith((".py", ".pyi")):
        try:
            compile(source, rel, "exec", dont_inherit=True)
        except SyntaxError as err:
            return [f"{rel}:{err.lineno}: {err.msg}"]
        except ValueError as err:  # NUL bytes
            return [f"{rel}: {err}"]
        return []
    language = language_for_path(rel)
    if language is not None and parse_source(source, language).has_errors:
        return [f"{rel}: tree-sitter ({language}) found syntax errors"]
    return []


def syntax_errors(root: str | Path, paths: list[str]) -> list[str]:
    """Parse errors in the given files of the tree at `root` (missing files are skipped)."""
    errors = []
    for rel in paths:
        try:
            path, rel = resolve_repo_path(root, rel)
        except EditPathError as err:
            errors.append(str(err))
            continue
        if path.is_file():
            errors += source_errors(rel, path.read_bytes())
    return errors


@dataclass(frozen=True)
class LintHit:
    """A lint or syntax error on a changed file at the reviewed commit."""

    path: str
    line: int
    code: str
    message: str

    def describe(self) -> str:
        """`path:line code message`."""
        return f"{self.path}:{self.line} {self.code} {self.message}"


def added_lines(diff: str) -> dict[str, set[int]]:
    """New-side numbers of the added lines, per path."""
    try:
        patch = PatchSet(diff)
    except UnidiffParseError:
        return {}
    return {f.path: {line.target_line_no for hunk in f for line in hunk
                     if line.is_added and line.target_line_no} for f in patch}


# Rules whose hits are bugs, not style: undefined names, misplaced statements, bad syntax.
ERROR_RULES = ("F821", "F822", "F823", "F632", "F701", "F702", "F704", "F706", "E9")


def _ruff() -> str | None:
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.is_file() else shutil.which("ruff")


def ruff_report(path: str, text: str, select: tuple[str, ...] = ()) -> list[tuple[int, str, str]]:
    """(row, code, message) of ruff's hits on one file's text (none without ruff)."""
    ruff = _ruff()
    if ruff is None or not path.endswith(".py"):
        return []
    command = [ruff, "check", "--isolated", "--no-cache", "--output-format", "json"]
    if select:
        command += ["--select", ",".join(select)]
    done = subprocess.run([*command, "--stdin-filename", path, "-"], input=text,
                          capture_output=True, text=True, timeout=LINT_TIMEOUT, check=False)
    try:
        reported = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return []
    return [(int(item.get("location", {}).get("row", 0)), item.get("code") or "",
             item.get("message", "")) for item in reported]


def lint(repo: str | Path, head: str, diff: str) -> list[LintHit]:
    """Syntax errors of the changed files at `head`, and ruff's hits on added lines."""
    hits: list[LintHit] = []
    for path, lines in added_lines(diff).items():
        text = show_file(repo, head, path)
        if text is None:
            continue
        for error in source_errors(path, text.encode()):
            line = re.match(r".*?:(\d+):", error)
            hits.append(LintHit(path, int(line.group(1)) if line else 1, "syntax", error))
        for row, code, message in ruff_report(path, text):
            if row in lines and code and code != "invalid-syntax":  # compile() reports those
                hits.append(LintHit(path, row, code, message))
    return hits


def new_lint_errors(root: str | Path, base: str, paths: list[str]) -> list[str]:
    """Ruff's error-class hits (undefined names and the like) an edit added to `paths`.

    Hits the file already had at `base` are not the edit's doing and are not reported.
    """
    errors = []
    for rel in paths:
        path = Path(root) / rel
        if not rel.endswith(".py") or not path.is_file():
            continue
        before = Counter((code, message) for _, code, message in
                         ruff_report(rel, show_file(root, base, rel) or "", ERROR_RULES))
        for row, code, message in ruff_report(rel, path.read_text("utf-8", "replace"),
                                              ERROR_RULES):
            if before[(code, message)] > 0:
                before[(code, message)] -= 1
            else:
                errors.append(f"{rel}:{row}: {code} {message}")
    return errors


def lint_json(hit: LintHit) -> dict[str, Any]:
    """A lint hit as JSON data."""
    return asdict(hit)
