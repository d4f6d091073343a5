"""Evidence for reviews: numbered diffs, lint hits, findings read and checked.

A finding is only as good as its evidence, and evidence is checked mechanically: a
quoted line must be in the file at the reviewed commit, near the line the finding
names; a failing test must be one that actually failed; a lint hit must be one the
linter reported. What cannot be checked is dropped, with the reason.
"""

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

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from unidiff import PatchSet, UnidiffParseError

from agents.graphs.syntax import source_errors
from tools.git import show_file

QUOTE_SLACK = 3        # lines around a finding's line where its quote may be
LINT_TIMEOUT = 60.0
MAX_DIFF_CHARS = 200_000
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class Evidence(BaseModel):
    """What supports a finding: a quoted line, a failing test id, or a lint hit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(pattern="^(quote|test|lint)$")
    text: str = Field(min_length=1)


class Finding(BaseModel):
    """One problem the review reports, with its evidence."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    path: str
    line: int = Field(ge=1)
    severity: str = Field("warning", pattern="^(error|warning)$")
    message: str = Field(min_length=1)
    evidence: Evidence


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


def numbered_diff(diff: str) -> tuple[str, list[str]]:
    """The diff with new-side line numbers on every kept line, and the changed paths."""
    try:
        patch = PatchSet(diff)
    except UnidiffParseError:
        return diff[:MAX_DIFF_CHARS], []
    out, paths = [], []
    for file in patch:
        path = file.path
        paths.append(path)
        out.append(f"--- {path}{' (deleted)' if file.is_removed_file else ''}")
        for hunk in file:
            out.append(f"@@ -{hunk.source_start},{hunk.source_length} "
                       f"+{hunk.target_start},{hunk.target_length} @@")
            for line in hunk:
                number = line.target_line_no or ""
                out.append(f"{number:>5} {line.line_type}{line.value.rstrip(chr(10))}")
    return "\n".join(out)[:MAX_DIFF_CHARS], paths


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


def parse_findings(text: str) -> list[Finding]:
    """Findings from a model's reply (a JSON array, bare or in a code block).

    Raises `ValueError` saying what is wrong when the reply cannot be read; single
    findings that do not fit the schema are skipped.
    """
    block = _JSON_BLOCK.search(text)
    body = block.group(1) if block else text
    start, end = body.find("["), body.rfind("]")
    if start < 0 or end < start:
        raise ValueError("no JSON array in the reply")
    try:
        data = json.loads(body[start:end + 1])
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err.msg} at character {err.pos}") from err
    findings = []
    for item in data:
        try:
            findings.append(Finding.model_validate(item))
        except ValidationError:
            continue
    return findings


def parse_keep(text: str, count: int) -> list[int]:
    """The 1-based finding numbers a self-check keeps; `ValueError` if unreadable."""
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end < start:
        raise ValueError("no JSON array in the reply")
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err.msg}") from err
    return sorted({n for n in data if isinstance(n, int) and 1 <= n <= count})


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_evidence(repo: str | Path, head: str, finding: Finding, changed: list[str],
                   failing: list[str], hits: list[LintHit]) -> str | None:
    """Why the finding's evidence does not hold (None when it does)."""
    if finding.path not in changed:
        return f"{finding.path} is not part of the change"
    evidence = finding.evidence
    if evidence.kind == "test":
        wanted = evidence.text.strip()
        if not any(test in wanted or test.endswith(f"::{wanted}") for test in failing):
            return f"{wanted!r} is not a failing test"
        return None
    if evidence.kind == "lint":
        mine = [h for h in hits if h.path == finding.path]
        if not any(h.code in evidence.text or _squash(h.message) in _squash(evidence.text)
                   or _squash(evidence.text) in h.describe() for h in mine):
            return f"no lint hit in {finding.path} matches {evidence.text!r}"
        return None
    text = show_file(repo, head, finding.path)
    if text is None:
        return f"{finding.path} does not exist at {head}"
    lines = text.splitlines()
    if finding.line > len(lines):
        return f"{finding.path} has {len(lines)} lines, not {finding.line}"
    quote = _squash(evidence.text)
    low, high = max(0, finding.line - 1 - QUOTE_SLACK), finding.line + QUOTE_SLACK
    window = _squash(" ".join(lines[low:high]))
    if not quote or quote not in window:
        return f"the quote is not in {finding.path} near line {finding.line}"
    return None


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding as JSON data."""
    return finding.model_dump(mode="json")


def lint_json(hit: LintHit) -> dict[str, Any]:
    """A lint hit as JSON data."""
    return asdict(hit)
