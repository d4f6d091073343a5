"""What the `ask` graph shows the model: the packed repository and numbered spans.

The budget is what the model's window leaves after the answer, the earlier turns and
the instructions. The spans come first: the definitions the question names (their
bodies), then the spans that best match it, each numbered (`[1]`, `[2]`, ...) so a model
can cite one by its number, with numbered lines so it can cite `path:line`. They are the
answer's sources, best first. The rest of the budget goes to the packed repository
(`tools.repo.pack`):

- when the whole repository fits beside the spans (SPAN_SHARE of the budget at most),
  it is packed whole, in a layout that does not depend on the question, so the prompt's
  prefix is the same for every question and a model's cached KV prefix survives;
- when it cannot fit (a small model's window), the question gets the room first: the
  spans may take FOCUSED_SPAN_SHARE, and the pack shows whole only the files that are
  relevant (defining what the question names) before every other file's outline.

The manifest says which file went in how, and what was left out and why (secrets
included).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from agents.citations import Citation, claim_terms
from agents.events import PackedFile, PackedSpan, PackManifest, ProgressTask
from agents.prompts.ask import SPANS_FOOTER, SPANS_HEADER
from tools.repo.find import find_definitions
from tools.repo.index import IndexStats, RepoIndex
from tools.repo.pack import Pack, PackOptions, may_fit_whole, pack_repository
from tools.repo.rank import RankQuery, rank
from tools.repo.search import SearchHit, search
from tools.repo.tokens import count_tokens

PROMPT_OVERHEAD = 400          # system prompt, chat template and question
TOKENIZER_MARGIN = 0.8         # budgets count V4 tokens; other tokenizers may need more
CENTRAL_KINDS = frozenset({"class", "function", "method", "interface", "struct", "trait"})
SPAN_SHARE = 0.5               # of the budget, at most, for spans when the repository fits
FOCUSED_SPAN_SHARE = 0.7       # ... and when it does not: the question gets the room first
MAX_SPANS = 8                  # spans that match the question's words
MAX_NAMED = 3                  # definitions shown per name the question mentions
MAX_SPAN_LINES = 60            # of a matching span
MAX_NAMED_LINES = 200          # of a definition the question names
MIN_SPAN_LINES = 8             # a named definition cut shorter than this is left out
MIN_PACK_TOKENS = 128          # below this the pack is left out, only spans are shown

ContextProgress = Callable[[ProgressTask, int, int], None]  # (task, done, total)


@dataclass(frozen=True)
class Source(Citation):
    """A span the model read: `path`, 1-based `line` to `end_line` as shown (written as a
    citation, `path:line-end_line`), and the definition it holds (`name`, None for a
    window of lines). `to_json` gives `{"path", "line", "end_line", "name"}`, the
    `ask --json` contract."""

    name: str | None = None


@dataclass(frozen=True)
class Context:
    """The packed repository and the spans for one question, and what they hold.

    `pack` is empty when no pack was made (see `manifest.reason`); `spans` is the
    numbered spans block and `sources` the spans it shows, in its order (number i is
    `sources[i - 1]`); `focused` says the repository did not fit, so the question
    decided what was packed; `index` is the update of the index that came first.
    """

    pack: str
    spans: str
    sources: list[Source]
    manifest: PackManifest
    index: IndexStats
    focused: bool = False


@dataclass(frozen=True)
class _Candidate:
    """A span that may be shown: where, its definition's name, and whether the question
    named it (such a span may be cut to fit rather than left out)."""

    path: str
    line: int
    end_line: int
    name: str | None
    named: bool = False


@dataclass(frozen=True)
class _Shown:
    """The spans chosen for a budget: their block of text, sources, tokens in all and
    each span's tokens."""

    text: str
    sources: list[Source]
    tokens: int
    costs: tuple[int, ...] = ()

    def manifest(self) -> tuple[PackedSpan, ...]:
        """The spans as the manifest lists them."""
        return tuple(PackedSpan(number=n, path=s.path, line=s.line, end_line=s.end_line,
                                name=s.name, tokens=cost)
                     for n, (s, cost) in enumerate(zip(self.sources, self.costs, strict=True),
                                                   1))


def prompt_budget(context: int, reserve: int) -> int:
    """Tokens of repository text a prompt may hold in a context of `context` tokens."""
    return max(0, int((context - reserve - PROMPT_OVERHEAD) * TOKENIZER_MARGIN))


def numbered_span(number: int, path: str, lines: list[str], line: int, end: int) -> str:
    """Lines `line`..`end` (1-based, inclusive) of a file as span `[number]`, each line
    numbered."""
    body = "".join(f"{n:>5}| {lines[n - 1]}\n" for n in range(line, end + 1))
    return f'[{number}] <span path="{path}" lines="{line}-{end}">\n{body}</span>\n'


def build_context(root: Path, query: str, context: int, budget: int,
                  with_pack: bool = True, progress: ContextProgress | None = None) -> Context:
    """The numbered spans and the packed repository for `query`, within `budget` tokens
    of a model window of `context` tokens (the pack is left out when `with_pack` is
    false: nobody will read it). `progress("indexing" | "packing", done, total)` hears
    how the index update and the pack go, in files."""
    index = RepoIndex(root)
    stats = index.update(partial(progress, "indexing") if progress else None)
    with closing(index.connect()) as conn:
        candidates = _named_definitions(conn, query) + _matching_spans(conn, index, query)
    texts = _FileLines(root)
    shown = _choose_spans(candidates, texts, budget * SPAN_SHARE)
    manifest = PackManifest(query=query, context=context, budget=budget,
                            spans_tokens=shown.tokens, spans=shown.manifest(),
                            reason=None if with_pack else "no model will read it")
    if not with_pack:
        return Context("", shown.text, shown.sources, manifest, stats)
    pack_progress = _Forward(partial(progress, "packing")) if progress else None
    pack: Pack | str | None = None
    if may_fit_whole(index, budget - shown.tokens):
        pack = _pack(index, PackOptions(budget=budget - shown.tokens, query=query),
                     pack_progress)
    focused = not (isinstance(pack, Pack) and pack.complete)
    if focused:
        shown = _choose_spans(candidates, texts, budget * FOCUSED_SPAN_SHARE)
        manifest = manifest.model_copy(update={"spans_tokens": shown.tokens, "focused": True,
                                               "spans": shown.manifest()})
        pack = _pack(index, PackOptions(budget=budget - shown.tokens, query=query,
                                        relevant_first=True), pack_progress)
    if not isinstance(pack, Pack):
        return Context("", shown.text, shown.sources,
                       manifest.model_copy(update={"reason": pack}), stats, focused)
    files = tuple(PackedFile(path=e.path, tokens=e.tokens, mode=e.mode,  # type: ignore[arg-type]
                             reason=e.reason, section=e.section) for e in pack.entries)
    manifest = manifest.model_copy(update={"pack_tokens": pack.total_tokens, "files": files,
                                           "included": True})
    return Context(pack.text, shown.text, shown.sources, manifest, stats, focused)


def _pack(index: RepoIndex, options: PackOptions, progress: _Forward | None) -> Pack | str:
    """The pack, or why there is none (too little room even to list the files)."""
    if options.budget < MIN_PACK_TOKENS:
        return f"only {options.budget} tokens left after the spans"
    try:
        return pack_repository(index, options, progress)
    except ValueError as err:
        return str(err)


class _Forward:
    """Progress that only moves forward: a second pack (when the first showed that the
    repository does not fit) is reported where it passes the first."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        """Forward to `report(done, total)`."""
        self._report = report
        self._done = -1

    def __call__(self, done: int, total: int) -> None:
        """Report `done` of `total` if it is further than before."""
        if done > self._done:
            self._done = done
            self._report(done, total)


class _FileLines:
    """The lines of the repository's files, each file read once."""

    def __init__(self, root: Path) -> None:
        """Read files under `root`."""
        self.root = root
        self._lines: dict[str, list[str]] = {}

    def of(self, path: str) -> list[str]:
        """The lines of `path` (none when it cannot be read any more)."""
        if path not in self._lines:
            try:
                text = (self.root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            self._lines[path] = text.splitlines()
        return self._lines[path]


def _choose_spans(candidates: list[_Candidate], texts: _FileLines, limit: float) -> _Shown:
    """The candidates that fit in `limit` tokens, in order, numbered from 1.

    A span whose lines are mostly shown already is skipped; a named definition too long
    for the room left is cut short (at least MIN_SPAN_LINES), a matching span is skipped.
    """
    sources: list[Source] = []
    parts: list[str] = []
    costs: list[int] = []
    used = count_tokens(SPANS_HEADER + SPANS_FOOTER)
    for c in candidates:
        lines = texts.of(c.path)
        line, end = _trimmed(lines, c.line, min(
            c.end_line, c.line + (MAX_NAMED_LINES if c.named else MAX_SPAN_LINES) - 1))
        if line > end or _mostly_shown(sources, c.path, line, end):
            continue
        number = len(sources) + 1
        text = numbered_span(number, c.path, lines, line, end)
        cost = count_tokens(text)
        if used + cost > limit and c.named:
            # Keep the lines that fit by the span's own tokens per line, then check.
            end = line + int((end - line + 1) * (limit - used) / cost) - 1
            text = numbered_span(number, c.path, lines, line, end)
            cost = count_tokens(text)
            if end - line + 1 < MIN_SPAN_LINES:
                continue
        if used + cost > limit:
            continue
        sources.append(Source(c.path, line, end, c.name))
        parts.append(text)
        costs.append(cost)
        used += cost
    if not parts:
        return _Shown("", [], 0)
    return _Shown(SPANS_HEADER + "".join(parts) + SPANS_FOOTER, sources, used, tuple(costs))


def _trimmed(lines: list[str], line: int, end: int) -> tuple[int, int]:
    """Lines `line`..`end` of a file without blank lines at either end (and within it)."""
    end = min(end, len(lines))
    while line <= end and not lines[line - 1].strip():
        line += 1
    while end >= line and not lines[end - 1].strip():
        end -= 1
    return line, end


def _mostly_shown(sources: list[Source], path: str, line: int, end: int) -> bool:
    """Whether spans already shown hold at least half of lines `line`..`end` of `path`."""
    shown = sum(max(0, min(end, s.end_line) - max(line, s.line) + 1)
                for s in sources if s.path == path)
    return shown * 2 >= end - line + 1


def _named_definitions(conn: sqlite3.Connection, question: str) -> list[_Candidate]:
    """The definitions the question names in code form (`name`, `Class.method`,
    `snake_case`, `camelCase`, `name(...)`), at most MAX_NAMED per name."""
    identifiers, _ = claim_terms(question)
    found: list[_Candidate] = []
    for identifier in sorted(identifiers, key=question.find):
        hits = find_definitions(conn, identifier)
        hits.sort(key=lambda h: h.kind not in CENTRAL_KINDS)
        found += [_Candidate(h.path, h.line, h.end_line,
                             f"{h.scope}.{h.name}" if h.scope else h.name, named=True)
                  for h in hits[:MAX_NAMED]]
    return found


def _matching_spans(conn: sqlite3.Connection, index: RepoIndex, query: str) -> list[_Candidate]:
    """The spans that best match the question's words; when none do (a question about
    the repository as a whole), the top of its README and its top-ranked definitions."""
    hits = search(conn, index.fulltext(), query, MAX_SPANS)
    if not hits:
        hits = _readme(conn) + _central_spans(conn, query, MAX_SPANS)
    return [_Candidate(h.path, h.line, h.end_line, h.name) for h in hits]


def _readme(conn: sqlite3.Connection) -> list[SearchHit]:
    """The top-level README's first lines, if the repository has a readable one."""
    row = conn.execute(
        "SELECT f.path, b.lines FROM files f JOIN blobs b ON b.id = f.blob_id "
        "WHERE f.path NOT LIKE '%/%' AND upper(f.path) LIKE 'README%' "
        "AND f.skip_reason IS NULL AND b.secret IS NULL ORDER BY length(f.path), f.path"
    ).fetchone()
    return [SearchHit(row[0], 1, max(1, row[1]), 0.0)] if row else []


def _central_spans(conn: sqlite3.Connection, question: str, limit: int) -> list[SearchHit]:
    """When no span matches the question's words: the repository's top-ranked definitions."""
    ranking = rank(conn, RankQuery(question))
    tops = [d for d in ranking.definitions if d.kind in CENTRAL_KINDS][:limit]
    return [SearchHit(d.path, d.line, d.end_line, round(d.score, 6), d.name) for d in tops]
