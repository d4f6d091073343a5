"""Check an answer's `path:line` citations against the files they point at.

A citation is `path:LINE` or `path:LINE-END` (also inside backticks), or the number of a
span the model was shown (`[2]`, `[1, 3]`), which `render_span_numbers` first writes out
as the span's `path:LINE-END`. It is kept only
when the file exists inside the repository (the same path rules as editing: no escape,
no `.git/`, no secrets), the lines exist, and the cited lines — give or take `slack`
lines, for off-by-one answers — contain what the claim around it mentions: one of the
identifiers it names, or, when it names none, one of its significant words. A
citation whose claim names nothing checkable cannot be verified and is dropped too.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tools.edit import EditPathError, resolve_repo_path
from tools.repo.grams import STOPWORDS
from tools.repo.showable import hidden_reason

SLACK = 2   # lines around a cited range that still count
# What a citation is, wherever one is read or linked: `path:LINE` or `path:LINE-END` (a
# hyphen or an en dash), the path relative to the repository, its file name with a suffix.
CITATION = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z0-9_]+):(\d+)(?:\s*[-–]\s*(\d+))?(?!\d)")
_CODE = re.compile(r"`([^`\n]+)`")
_FILE_NAME = re.compile(
    r"(?:[\w.-]+/)+[\w.-]+|\b[\w-]+\.(?:py|pyi|js|jsx|ts|tsx|md|rst|txt|toml|json|ya?ml|cfg|"
    r"ini|c|h|cc|cpp|hpp|go|rs|java|kt|rb|php|cs|swift|scala|sh|sql|html|css)\b")
# `[2]`, `[1, 3]` or `[1][3]`, not an index (`items[2]`), a Markdown link (`[2](url)`)
# or a link definition (`[2]: url`).
_SPAN_NUMBERS = re.compile(
    r"(?<![\w\]\)`])((?:\[\d{1,3}(?:\s*,\s*\d{1,3})*\])+)(?![(:])")
# Where span numbers are not citations: fenced code and inline code (odd split parts).
_CODE_PARTS = re.compile(r"(```.*?(?:```|$)|~~~.*?(?:~~~|$)|`[^`\n]+`)", re.DOTALL)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\[-])|\n")
_EXTRA_STOPWORDS = frozenset({
    "this", "that", "these", "those", "which", "where", "line", "lines", "file", "files",
    "function", "method", "class", "defined", "defines", "code", "here", "there", "called",
    "returns", "return", "value", "values", "uses", "used", "also", "see", "shown", "module",
})


@dataclass(frozen=True)
class Citation:
    """A cited range of a file: `path`, 1-based `line` to `end_line` inclusive."""

    path: str
    line: int
    end_line: int

    def __str__(self) -> str:
        """`path:line` or `path:line-end_line`."""
        tail = f"-{self.end_line}" if self.end_line != self.line else ""
        return f"{self.path}:{self.line}{tail}"

    def to_json(self) -> dict[str, object]:
        """`{"path", "line", "end_line"}`."""
        return asdict(self)


@dataclass(frozen=True)
class CheckedCitation:
    """A citation, the claim it supports, and whether (and why not) it holds."""

    citation: Citation
    text: str       # the citation as written in the answer
    claim: str
    ok: bool
    reason: str | None = None
    start: int = 0  # where `text` is in the answer

    def to_json(self) -> dict[str, object]:
        """`{"citation": text as written, "claim", "reason", "path", "line", "end_line",
        "start"}` (JSON data, for a graph's state)."""
        return {"citation": self.text, "claim": self.claim, "reason": self.reason,
                **self.citation.to_json(), "start": self.start}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckedCitation:
        """A dropped citation back from `to_json` data."""
        return cls(Citation(data["path"], data["line"], data["end_line"]), data["citation"],
                   data["claim"], False, data["reason"], data["start"])


@dataclass(frozen=True)
class CitationReport:
    """The verified citations (first-seen order, no repeats) and the dropped ones."""

    verified: list[Citation]
    dropped: list[CheckedCitation]


def citation_of(match: re.Match[str]) -> Citation:
    """The citation a match of `CITATION` names (a leading `./` dropped)."""
    line = int(match.group(2))
    return Citation(match.group(1).removeprefix("./"), line, int(match.group(3) or line))


def _sentences(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of the sentences (or lines) of `text`."""
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    return bounds


def claim_terms(claim: str) -> tuple[set[str], set[str]]:
    """What a claim mentions: identifiers (in backticks, or shaped like code) and words."""
    bare = _FILE_NAME.sub(" ", CITATION.sub(" ", claim))
    identifiers = set()
    for code in _CODE.findall(bare):
        identifiers.update(t for t in _IDENTIFIER.findall(code) if len(t) > 1)
    for token in _IDENTIFIER.findall(_CODE.sub(" ", bare)):
        if "_" in token or "." in token or re.search(r"[a-z][A-Z]", token):
            identifiers.add(token)
    identifiers.update(re.findall(r"\b([A-Za-z_]\w*)\(", bare))  # called: name(...)
    words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", _CODE.sub(" ", bare))}
    words -= STOPWORDS | _EXTRA_STOPWORDS
    return identifiers, words


def _mentions(lines: str, identifiers: set[str], words: set[str]) -> bool:
    """Whether the cited text holds one of the identifiers (or, if none, one of the words)."""
    lowered = lines.lower()
    if identifiers:
        parts = {p for ident in identifiers for p in (ident, ident.rsplit(".", 1)[-1])}
        return any(re.search(rf"(?<!\w){re.escape(p.lower())}(?!\w)", lowered) for p in parts)
    return any(word in lowered for word in words)


def check_citation(root: str | Path, citation: Citation, claim: str,
                   slack: int = SLACK) -> str | None:
    """Why `citation` does not support `claim` (None when it does)."""
    try:
        path, rel = resolve_repo_path(root, citation.path)
    except EditPathError as err:
        return str(err)
    if not path.is_file():
        return f"{rel}: no such file"
    data = path.read_bytes()
    hidden = hidden_reason(rel, data)
    if hidden:
        return f"{rel}: not shown ({hidden})"
    lines = data.decode("utf-8", "replace").splitlines()
    if citation.line < 1 or citation.end_line < citation.line:
        return f"{citation}: not a line range"
    if citation.line > len(lines):
        return f"{rel} has {len(lines)} lines; line {citation.line} does not exist"
    identifiers, words = claim_terms(claim)
    if not identifiers and not words:
        return "the claim names nothing that the cited lines could be checked against"
    start = max(1, citation.line - slack)
    end = min(len(lines), citation.end_line + slack)
    if not _mentions("\n".join(lines[start - 1:end]), identifiers, words):
        named = ", ".join(sorted(identifiers or words)[:4])
        return f"lines {start}-{end} of {rel} do not mention {named}"
    return None


def verify_citations(root: str | Path, answer: str, slack: int = SLACK) -> CitationReport:
    """Check every citation in `answer`; keep those that hold, report the rest."""
    verified: list[Citation] = []
    dropped: list[CheckedCitation] = []
    for start, end in _sentences(answer):
        claim = answer[start:end]
        for match in CITATION.finditer(claim):
            citation = citation_of(match)
            reason = check_citation(root, citation, claim, slack)
            if reason is None:
                if citation not in verified:
                    verified.append(citation)
            else:
                dropped.append(CheckedCitation(citation, match.group(0), claim.strip(), False,
                                               reason, start + match.start()))
    return CitationReport(verified, dropped)


def render_span_numbers(text: str, spans: list[str]) -> str:
    """`text` with each citation of a span by number (`[2]`, `[1, 3]`) written out as
    the span's `path:LINE-END` (`spans[i - 1]` for number i), in parentheses unless it
    already stands in some. Numbers that name no span, and code, are left as they are."""
    def written(match: re.Match[str]) -> str:
        """One bracketed group of numbers, as citations if every number names a span."""
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        if not all(1 <= n <= len(spans) for n in numbers):
            return match.group(0)
        cited = ", ".join(spans[n - 1] for n in numbers)
        before, after = match.string[:match.start()], match.string[match.end():]
        wrapped = before.rstrip().endswith("(") and after.lstrip().startswith(")")
        return cited if wrapped else f"({cited})"

    parts = _CODE_PARTS.split(text)
    return "".join(part if i % 2 else _SPAN_NUMBERS.sub(written, part)
                   for i, part in enumerate(parts))


def mark_dropped(answer: str, dropped: list[CheckedCitation]) -> str:
    """The answer with each dropped citation marked, and a note listing why at the end."""
    if not dropped:
        return answer
    for item in sorted(dropped, key=lambda d: d.start, reverse=True):
        end = item.start + len(item.text)
        if answer[item.start:end] == item.text:
            answer = f"{answer[:end]} [unverified]{answer[end:]}"
    notes = "\n".join(f"- {d.text}: {d.reason}" for d in dropped)
    return f"{answer.rstrip()}\n\nUnverified citations (dropped):\n{notes}"
