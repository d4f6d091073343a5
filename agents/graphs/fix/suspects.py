"""Where to look: the locate step of `fix` and `repair`, from four signals.

- spectrum-based fault localisation (`tools.locate`: per-test coverage of the failing
  and passing tests), when a test command exists and some test fails;
- tracebacks in the failing tests' output (frames outside the tests, innermost first);
- definitions of the identifiers the task names (the symbol index);
- full-text search for the task (and the failure messages).

Each signal scores its leads in [0, 1]; a lead's score is the weighted sum over the
signals that found it, so a function that coverage, a traceback and the task all point
at comes first. No model is involved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from agents.citations import claim_terms
from tools.repo.find import find_definitions
from tools.repo.index import RepoIndex
from tools.repo.search import search

WEIGHTS = {"coverage": 1.0, "traceback": 0.8, "symbol": 0.6, "search": 0.4}
MAX_LEADS = 10
SEARCH_HITS = 6
_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<name>[\w<>]+))?')
_SHORT_FRAME = re.compile(r"^(?P<path>[\w./-]+\.\w+):(?P<line>\d+):", re.MULTILINE)
_TEST_FILE = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*$|_test\.\w+$|(^|/)conftest\.py$")

Lead = dict[str, Any]


def _lead(path: str, name: str, line: int, end_line: int, score: float, source: str) -> Lead:
    return {"path": path, "name": name, "line": line, "end_line": end_line,
            "score": round(score, 6), "source": source}


def is_test_file(path: str) -> bool:
    """Whether a repository path is a test file (tests are evidence, not suspects)."""
    return bool(_TEST_FILE.search(path))


def from_tracebacks(root: Path, output: str) -> list[Lead]:
    """Frames of the repository's non-test code in test output, innermost weighing most."""
    frames: list[tuple[str, int, str]] = []
    for match in [*_FRAME.finditer(output), *_SHORT_FRAME.finditer(output)]:
        raw = Path(match["path"])
        full = raw if raw.is_absolute() else root / raw
        try:
            rel = full.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
        if not is_test_file(rel) and full.is_file():
            frames.append((rel, int(match["line"]), match.groupdict().get("name") or ""))
    leads: dict[tuple[str, int], Lead] = {}
    for depth, (rel, line, name) in enumerate(reversed(frames)):
        leads.setdefault((rel, line), _lead(rel, name, line, line, 1.0 / (1 + depth),
                                            "traceback"))
    return list(leads.values())


def from_index(root: Path, text: str) -> list[Lead]:
    """Definitions of identifiers `text` names, and the spans search finds for it."""
    index = RepoIndex(root)
    index.update()
    leads = []
    identifiers, _ = claim_terms(text)
    with closing(index.connect()) as conn:
        for name in sorted(identifiers):
            for hit in find_definitions(conn, name):
                if not is_test_file(hit.path):
                    leads.append(_lead(hit.path, hit.name, hit.line, hit.end_line, 1.0,
                                       "symbol"))
        hits = [h for h in search(conn, index.fulltext(), text, SEARCH_HITS * 2)
                if not is_test_file(h.path)][:SEARCH_HITS]
    best = max((h.score for h in hits), default=0.0) or 1.0
    leads += [_lead(h.path, h.name or "", h.line, h.end_line, h.score / best, "search")
              for h in hits]
    return leads


def from_coverage(root: Path, test_command: str, timeout: float,
                  note: Callable[[str], None]) -> list[Lead]:
    """Spectrum-based suspects from `tools.locate`, if it is available and applies."""
    try:
        from tools.locate import LocateError, locate
    except ImportError as err:
        note(f"fault localisation skipped: tools.locate is not available ({err})")
        return []
    try:
        suspects = locate(root, test_command, limit=MAX_LEADS, timeout=timeout)
    except LocateError as err:
        note(f"fault localisation skipped: {err}")
        return []
    return [_lead(s.path, s.name, s.line, s.end_line, s.score, "coverage") for s in suspects]


def merge(groups: list[list[Lead]]) -> list[Lead]:
    """One ranked list: leads at the same place add their weighted scores."""
    merged: dict[tuple[str, int], Lead] = {}
    for group in groups:
        for lead in group:
            key = (lead["path"], lead["line"])
            weighted = WEIGHTS[lead["source"]] * lead["score"]
            if key not in merged:
                merged[key] = {**lead, "score": weighted, "sources": [lead["source"]]}
                continue
            known = merged[key]
            known["score"] += weighted
            known["name"] = known["name"] or lead["name"]
            known["end_line"] = max(known["end_line"], lead["end_line"])
            if lead["source"] not in known["sources"]:
                known["sources"].append(lead["source"])
    ranked = sorted(merged.values(), key=lambda d: (-d["score"], d["path"], d["line"]))
    for lead in ranked:
        lead["score"] = round(lead["score"], 6)
        lead.pop("source", None)
    return ranked[:MAX_LEADS]


def gather(root: str | Path, task: str, test_command: str | None, test_output: str,
           failing: bool, timeout: float, note: Callable[[str], None]) -> list[Lead]:
    """Leads for the task, best first (see the module docstring for the signals)."""
    root = Path(root)
    groups = []
    if test_command and failing:
        groups.append(from_coverage(root, test_command, timeout, note))
    groups.append(from_tracebacks(root, test_output))
    groups.append(from_index(root, f"{task}\n{test_output[-2000:]}" if failing else task))
    return merge(groups)


def describe(leads: list[Lead]) -> str:
    """Leads as lines for a prompt: `path:line-end name (sources)`."""
    return "\n".join(f"- {d['path']}:{d['line']}-{d['end_line']} {d['name']} "
                     f"({', '.join(d['sources'])})".replace("  ", " ") for d in leads)
