"""Search code spans: BM25 over span text fused with an exact lookup of grams.

Two rankers see the query differently.  BM25 scores words, stemmed, across all text
including comments and docs.  The exact lookup hashes the query's words and phrases
into the same 64-bit keys as the grams of identifiers and string literals, and finds the
spans holding them: one term lookup per key, rare and longer grams weighing more.
Their scores are fused after scaling each ranker's best to 1 (the exact lookup's to
EXACT_WEIGHT), so a span that both rank high comes first, and either alone surfaces.
(Reciprocal-rank fusion was tried and dropped: it lets any span that both lists hold
low down outrank a span that one ranker finds far above everything else — exactly the
shape of a needle question.)
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from tools.repo.fulltext import FullTextIndex, TextHit
from tools.repo.grams import gram_key, query_grams

CANDIDATES = 50          # hits taken from each ranker before fusion
EXACT_WEIGHT = 0.5       # the exact lookup refines BM25; alone it cannot outvote BM25's best


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A span of a file that matches the query (``fathom search --json``)."""

    path: str
    line: int
    end_line: int
    score: float
    name: str | None = None


def search(
    conn: sqlite3.Connection, fulltext: FullTextIndex, query: str, limit: int = 10
) -> list[SearchHit]:
    """The ``limit`` best spans for ``query``, best first."""
    if limit <= 0 or not query.strip():
        return []
    text_hits = fulltext.search(query, CANDIDATES)
    exact_hits = exact_lookup(fulltext, query, CANDIDATES)
    ids = _blob_ids(conn, [h.sha for h in text_hits + exact_hits])
    fused: dict[tuple[int, int], float] = defaultdict(float)
    for hits, weight in ((text_hits, 1.0), (exact_hits, EXACT_WEIGHT)):
        best = max((h.score for h in hits), default=0.0)
        for h in hits:
            if h.sha in ids and best > 0:
                fused[(ids[h.sha], h.start)] += weight * h.score / best
    return _resolve(conn, fused, limit)


def exact_lookup(fulltext: FullTextIndex, query: str, limit: int) -> list[TextHit]:
    """Spans holding the query's identifier and phrase grams, best first."""
    keys = {gram_key(gram): float(length) for gram, length in query_grams(query).items()}
    return fulltext.lookup(keys, limit)


def _blob_ids(conn: sqlite3.Connection, shas: list[str]) -> dict[str, int]:
    """Map blob shas to their ids (shas no longer indexed are left out)."""
    if not shas:
        return {}
    marks = ",".join("?" * len(shas))
    return dict(conn.execute(f"SELECT sha, id FROM blobs WHERE sha IN ({marks})", shas))


def _resolve(
    conn: sqlite3.Connection, fused: dict[tuple[int, int], float], limit: int
) -> list[SearchHit]:
    """Turn fused (blob, span) scores into hits on live, non-secret files."""
    hits: list[SearchHit] = []
    for (blob_id, start), score in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])):
        span = conn.execute(
            "SELECT s.end, s.name FROM spans s JOIN blobs b ON b.id = s.blob_id "
            "WHERE s.blob_id = ? AND s.start = ? AND b.secret IS NULL",
            (blob_id, start),
        ).fetchone()
        if span is None:
            continue
        paths = conn.execute(
            "SELECT path FROM files WHERE blob_id = ? AND skip_reason IS NULL ORDER BY path",
            (blob_id,),
        ).fetchall()
        for (path,) in paths:
            hits.append(SearchHit(path, start, span[0], round(score, 6), span[1]))
        if len(hits) >= limit:
            break
    return hits[:limit]
