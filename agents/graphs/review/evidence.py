"""Evidence for reviews: numbered diffs, findings read and checked.

A finding is only as good as its evidence, and evidence is checked mechanically: a
quoted line must be in the file at the reviewed commit, near the line the finding
names; a failing test must be one that actually failed; a lint hit must be one the
linter reported. What cannot be checked is dropped, with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from unidiff import PatchSet, UnidiffParseError

from agents.graphs.checks import LintHit
from tools.git import show_file

QUOTE_SLACK = 3        # lines around a finding's line where its quote may be
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


def parse_findings(text: str) -> list[Finding]:
    """Findings from a model's reply (a JSON array, bare or in a code block).

    Raises `ValueError` saying what is wrong when the reply cannot be read; single
    findings that do not fit the schema are skipped.
    """
    block = _JSON_BLOCK.search(text)
    findings = []
    for item in _json_array(block.group(1) if block else text):
        try:
            findings.append(Finding.model_validate(item))
        except ValidationError:
            continue
    return findings


def parse_keep(text: str, count: int) -> list[int]:
    """The 1-based finding numbers a self-check keeps; `ValueError` if unreadable."""
    return sorted({n for n in _json_array(text) if isinstance(n, int) and 1 <= n <= count})


def _json_array(text: str) -> list[Any]:
    """The JSON array from the first `[` to the last `]` of `text`; ValueError saying
    what is wrong when there is none or it is not valid JSON."""
    start, end = text.find("["), text.rfind("]")
    if start < 0 or end < start:
        raise ValueError("no JSON array in the reply")
    try:
        data = json.loads(text[start:end + 1])
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON: {err.msg} at character {err.pos}") from err
    if not isinstance(data, list):
        raise ValueError("the reply's JSON is not an array")
    return data


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
