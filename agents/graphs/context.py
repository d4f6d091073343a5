"""What the `ask` graph shows the model: the packed repository and numbered spans.

The budget is what the model's window leaves after the answer, the earlier turns and
the instructions. Up to SPAN_SHARE of it goes to the spans that best match the question,
with numbered lines (what citations point at); the rest to the packed repository —
whole when it fits, else the top of the ranking (`tools.repo.pack`). The manifest says
which file went in how, and what was left out and why (secrets included).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from agents.events import PackedFile, PackManifest, ProgressTask
from agents.prompts.ask import SPANS_FOOTER, SPANS_HEADER
from tools.repo.index import IndexStats, RepoIndex
from tools.repo.pack import PackOptions, pack_repository
from tools.repo.rank import RankQuery, rank
from tools.repo.search import SearchHit, search
from tools.repo.tokens import count_tokens

DEFAULT_CONTEXT = 131_072     # tokens assumed for a remote model that does not say
PROMPT_OVERHEAD = 400          # system prompt, chat template and question
TOKENIZER_MARGIN = 0.8         # budgets count V4 tokens; other tokenizers may need more
CENTRAL_KINDS = frozenset({"class", "function", "method", "interface", "struct", "trait"})
SPAN_SHARE = 0.5               # at most this share of the budget goes to numbered spans
MAX_SPANS = 8
MAX_SPAN_LINES = 60
MIN_PACK_TOKENS = 128          # below this the pack is left out, only spans are shown

ContextProgress = Callable[[ProgressTask, int, int], None]  # (task, done, total)


@dataclass(frozen=True)
class Context:
    """The packed repository and the spans for one question, and what they hold.

    `pack` is empty when no pack was made (see `manifest.reason`); `spans` is the
    numbered spans block, `hits` the spans shown (best first); `index` is the update of
    the index that came first.
    """

    pack: str
    spans: str
    hits: list[SearchHit]
    manifest: PackManifest
    index: IndexStats


def prompt_budget(context: int, reserve: int) -> int:
    """Tokens of repository text a prompt may hold in a context of `context` tokens."""
    return max(0, int((context - reserve - PROMPT_OVERHEAD) * TOKENIZER_MARGIN))


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """A span as JSON data: path, line, end_line, score, name."""
    return asdict(hit)


def numbered_span(root: Path, hit: SearchHit) -> str:
    """A span of a file with numbered lines (at most MAX_SPAN_LINES)."""
    lines = (root / hit.path).read_text(encoding="utf-8", errors="replace").splitlines()
    end = min(hit.end_line, hit.line + MAX_SPAN_LINES - 1, len(lines))
    body = "".join(f"{n:>5}| {lines[n - 1]}\n" for n in range(hit.line, end + 1))
    return f'<span path="{hit.path}" lines="{hit.line}-{end}">\n{body}</span>\n'


def build_context(root: Path, query: str, context: int, budget: int,
                  with_pack: bool = True, progress: ContextProgress | None = None) -> Context:
    """The numbered spans and the packed repository for `query`, within `budget` tokens
    of a model window of `context` tokens (the pack is left out when `with_pack` is
    false: nobody will read it). `progress("indexing" | "packing", done, total)` hears
    how the index update and the pack go, in files."""
    index = RepoIndex(root)
    stats = index.update(partial(progress, "indexing") if progress else None)
    with closing(index.connect()) as conn:
        hits = search(conn, index.fulltext(), query, MAX_SPANS) or _central_spans(
            conn, query, MAX_SPANS)
    shown, parts, used = [], [], count_tokens(SPANS_HEADER + SPANS_FOOTER)
    for hit in hits:
        text = numbered_span(root, hit)
        cost = count_tokens(text)
        if used + cost > budget * SPAN_SHARE:
            continue
        shown.append(hit)
        parts.append(text)
        used += cost
    spans = SPANS_HEADER + "".join(parts) + SPANS_FOOTER if parts else ""
    used = used if parts else 0
    manifest = PackManifest(query=query, context=context, budget=budget, spans_tokens=used,
                            reason=None if with_pack else "no model will read it")
    if not with_pack:
        return Context("", spans, shown, manifest, stats)
    if budget - used < MIN_PACK_TOKENS:
        reason = f"only {budget - used} tokens left after the spans"
        return Context("", spans, shown, manifest.model_copy(update={"reason": reason}), stats)
    try:
        pack = pack_repository(index, PackOptions(budget=budget - used, query=query),
                               partial(progress, "packing") if progress else None)
    except ValueError as err:  # too small even to list the files
        return Context("", spans, shown, manifest.model_copy(update={"reason": str(err)}),
                       stats)
    files = tuple(PackedFile(path=e.path, tokens=e.tokens, mode=e.mode,  # type: ignore[arg-type]
                             reason=e.reason, section=e.section) for e in pack.entries)
    manifest = manifest.model_copy(update={"pack_tokens": pack.total_tokens, "files": files,
                                           "included": True})
    return Context(pack.text, spans, shown, manifest, stats)


def _central_spans(conn: sqlite3.Connection, question: str, limit: int) -> list[SearchHit]:
    """When no span matches the question's words: the repository's top-ranked definitions."""
    ranking = rank(conn, RankQuery(question))
    tops = [d for d in ranking.definitions if d.kind in CENTRAL_KINDS][:limit]
    return [SearchHit(d.path, d.line, d.end_line, round(d.score, 6), d.name) for d in tops]
