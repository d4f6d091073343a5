"""Search code spans: BM25 over span text fused with an exact lookup of grams.

Two rankers see the query differently.  BM25 (tantivy) scores words, stemmed, across
all text including comments and docs.  The exact index looks up the query's words and
phrases as hashed grams of identifiers and string literals: one B-tree seek per gram,
rare grams weighing more.  Their rankings are fused by reciprocal rank, so a span that
both find comes first, and either alone still surfaces.
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from tools.repo.fulltext import FullTextIndex
from tools.repo.grams import gram_key, query_grams

RRF_K = 60
CANDIDATES = 50          # hits taken from each ranker before fusion
MAX_POSTINGS = 5000      # grams more common than this carry no signal for exact lookup


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
    ids = _blob_ids(conn, [h.sha for h in text_hits])
    bm25 = [(ids[h.sha], h.start) for h in text_hits if h.sha in ids]
    exact = exact_lookup(conn, query, CANDIDATES)
    fused: dict[tuple[int, int], float] = defaultdict(float)
    for ranking in (bm25, exact):
        for position, key in enumerate(ranking):
            fused[key] += 1.0 / (RRF_K + position + 1)
    return _resolve(conn, fused, limit)


def exact_lookup(conn: sqlite3.Connection, query: str, limit: int) -> list[tuple[int, int]]:
    """(blob id, span start) of spans holding the query's grams, best first."""
    scores: dict[tuple[int, int], float] = defaultdict(float)
    total = conn.execute("SELECT count(*) FROM spans").fetchone()[0] or 1
    for gram, length in sorted(query_grams(query).items()):
        key = gram_key(gram)
        postings = conn.execute(
            "SELECT blob_id, start FROM grams WHERE key = ? LIMIT ?", (key, MAX_POSTINGS + 1)
        ).fetchall()
        if not postings or len(postings) > MAX_POSTINGS:
            continue
        weight = length * math.log(1 + total / len(postings))
        for blob_id, start in postings:
            scores[(blob_id, start)] += weight
    return sorted(scores, key=lambda k: (-scores[k], k))[:limit]


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
