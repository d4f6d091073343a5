"""Rank files and definitions with PageRank over the definition/reference graph.

Files are nodes; a file that references an identifier points at every file defining it,
weighted by how often it does and by how specific the identifier is.  A query
personalises the walk: files in focus, files it names, and files defining identifiers it
mentions start with the walker's mass.  A definition's score is the rank that flows
into it along those edges (the scheme aider's repo map made popular), computed here
from the SQLite index without re-reading a file.

The graph is built as numpy arrays and PageRank runs as power iteration on a scipy
sparse matrix: building a networkx graph of a 1,000-file repository costs about a second
per ranking, more than everything else here together.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import NamedTuple

import numpy as np
from scipy import sparse

from tools.repo.grams import STOPWORDS, phrase_grams, words

FOCUS_WEIGHT = 50.0       # edges from files in focus
MENTION_WEIGHT = 10.0     # identifiers the query mentions
SPECIFIC_WEIGHT = 10.0    # long structured names (snake_case/CamelCase, ≥ 8 chars)
PRIVATE_WEIGHT = 0.1      # names starting with "_"
COMMON_WEIGHT = 0.1       # names defined in more than COMMON_DEFINERS files
COMMON_DEFINERS = 5
_PATHISH = re.compile(r"[\w./-]+")


@dataclass(frozen=True, slots=True)
class RankQuery:
    """What to personalise a ranking by: free text, and files in focus."""

    text: str = ""
    focus: tuple[str, ...] = ()


class RankedDefinition(NamedTuple):
    """A definition with the rank that flows into it (a named tuple: a ranking makes one
    per definition of the repository, ~5·10⁴ on a large one)."""

    path: str
    name: str
    kind: str
    line: int
    end_line: int
    signature: str
    scope: str | None
    score: float


@dataclass(slots=True)
class Ranking:
    """Files and definitions, best first; ``mentioned`` are identifiers the query names."""

    files: dict[str, float]
    definitions: list[RankedDefinition]
    mentioned: set[str] = field(default_factory=set)

    def file_order(self) -> list[str]:
        """Paths by descending rank (ties by path, so the order is deterministic)."""
        return sorted(self.files, key=lambda p: (-self.files[p], p))


DAMPING = 0.85
MAX_ITERATIONS = 100
TOLERANCE = 1e-10


@dataclass(slots=True)
class _Graph:
    """Definitions and references of the live files, read from the index."""

    paths: list[str]
    definers: dict[str, set[str]]                     # name → paths defining it
    referencers: dict[str, list[tuple[str, int]]]     # name → (path, count) referencing it


@dataclass(slots=True)
class _Edges:
    """One row per (referencing file, identifier, defining file), as parallel arrays."""

    source: np.ndarray   # path index
    target: np.ndarray   # path index
    name: np.ndarray     # index into names
    weight: np.ndarray
    names: list[str]


def rank(
    conn: sqlite3.Connection,
    query: RankQuery = RankQuery(),
    exclude: Collection[str] = (),
    *,
    definitions: bool = True,
) -> Ranking:
    """Rank the indexed files (minus ``exclude``) and their definitions for ``query``.

    With ``definitions=False`` only the files are ranked and ``Ranking.definitions`` is
    empty: an order of files does not need a score per definition, which costs as much
    as the rest of the ranking.
    """
    graph = _load(conn, set(exclude))
    mentioned = mentioned_identifiers(query.text, graph.definers)
    focus = {p for p in query.focus if p in set(graph.paths)}
    edges = _edges(graph, mentioned, focus)
    restart = _personalisation(graph, query, mentioned, focus)
    scores = pagerank(len(graph.paths), edges.source, edges.target, edges.weight, restart)
    files = dict(zip(graph.paths, scores.tolist(), strict=True))
    if not definitions:
        return Ranking(files, [], mentioned)
    flow = _definition_flow(edges, graph.paths, scores)
    ranked = _ranked_definitions(conn, set(exclude), files, flow, mentioned)
    return Ranking(files, ranked, mentioned)


def pagerank(
    n: int,
    source: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    restart: np.ndarray | None = None,
) -> np.ndarray:
    """PageRank of ``n`` nodes over weighted edges; dangling mass goes to ``restart``."""
    if n == 0:
        return np.zeros(0)
    restart = np.full(n, 1.0 / n) if restart is None else restart / restart.sum()
    out = np.bincount(source, weights=weight, minlength=n)
    matrix = sparse.csr_matrix(
        (weight / out[source], (target, source)), shape=(n, n)
    )  # column-stochastic over nodes with out-edges
    dangling = out == 0
    rank = restart.copy()
    for _ in range(MAX_ITERATIONS):
        previous = rank
        rank = DAMPING * (matrix @ rank + rank[dangling].sum() * restart) + (1 - DAMPING) * restart
        if np.abs(rank - previous).sum() < n * TOLERANCE:
            break
    return rank


def mentioned_identifiers(text: str, definers: Iterable[str]) -> set[str]:
    """Defined names the text mentions, as written or as words ("connection pool")."""
    if not text:
        return set()
    tokens = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    phrases = phrase_grams(text)
    found = set()
    for name in definers:
        if len(name) < 3 or name.lower() in STOPWORDS:
            continue
        if name in tokens:
            found.add(name)
        elif len(name) > 3:
            parts = " ".join(words(name))
            if parts in phrases or name.lower() in phrases:
                found.add(name)
    return found


def _load(conn: sqlite3.Connection, exclude: set[str]) -> _Graph:
    """Read the live (indexed, not secret) files' definitions and references."""
    blob_paths: dict[int, list[str]] = defaultdict(list)
    for path, blob_id in conn.execute(
        "SELECT f.path, f.blob_id FROM files f JOIN blobs b ON b.id = f.blob_id "
        "WHERE f.skip_reason IS NULL AND b.secret IS NULL ORDER BY f.path"
    ):
        if path not in exclude:
            blob_paths[blob_id].append(path)
    definers: dict[str, set[str]] = defaultdict(set)
    for blob_id, name in conn.execute("SELECT DISTINCT blob_id, name FROM defs"):
        for path in blob_paths.get(blob_id, ()):
            definers[name].add(path)
    referencers: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for blob_id, name, count in conn.execute(
        "SELECT blob_id, name, count FROM refs"
    ):
        if name in definers:
            for path in blob_paths.get(blob_id, ()):
                referencers[name].append((path, count))
    paths = sorted(p for ps in blob_paths.values() for p in ps)
    return _Graph(paths, dict(definers), dict(referencers))


def _identifier_weight(name: str, definer_count: int, mentioned: set[str]) -> float:
    """How much an edge through identifier ``name`` counts."""
    weight = 1.0
    if name in mentioned:
        weight *= MENTION_WEIGHT
    structured = "_" in name.strip("_") or (name[:1].isupper() and any(c.islower() for c in name))
    if structured and len(name) >= 8:
        weight *= SPECIFIC_WEIGHT
    if name.startswith("_"):
        weight *= PRIVATE_WEIGHT
    if definer_count > COMMON_DEFINERS:
        weight *= COMMON_WEIGHT
    return weight


def _edges(graph: _Graph, mentioned: set[str], focus: set[str]) -> _Edges:
    """Expand references into weighted file→file edges, one per identifier carried.

    Built with numpy: a common name referenced from many files and defined in many
    expands to ~10⁶ edges on a 1,000-file repository. The order is by name, then
    reference, then definer, so the same index always gives the same arrays.
    """
    index = {p: i for i, p in enumerate(graph.paths)}
    names = sorted(graph.referencers)
    counts, starts, definer_ids = [], [0], []
    ref_name, ref_source, ref_base, ref_focus = [], [], [], []
    for name_id, name in enumerate(names):
        definers = sorted(index[p] for p in graph.definers[name])
        definer_ids += definers
        starts.append(len(definer_ids))
        base = _identifier_weight(name, len(definers), mentioned)
        for path, count in graph.referencers[name]:
            ref_name.append(name_id)
            ref_source.append(index[path])
            counts.append(count)
            ref_base.append(base)
            ref_focus.append(FOCUS_WEIGHT if path in focus else 1.0)
    first = np.array(starts, dtype=np.int64)
    name_ids = np.array(ref_name, dtype=np.int64)
    fan_out = first[name_ids + 1] - first[name_ids]  # definers per reference
    offsets = np.arange(int(fan_out.sum())) - np.repeat(np.cumsum(fan_out) - fan_out, fan_out)
    target = np.array(definer_ids, dtype=np.int64)[np.repeat(first[name_ids], fan_out) + offsets]
    source = np.repeat(np.array(ref_source, dtype=np.int64), fan_out)
    weight = np.array(ref_base) * np.sqrt(np.array(counts, dtype=np.float64)) * ref_focus
    keep = source != target
    return _Edges(
        source[keep], target[keep], np.repeat(name_ids, fan_out)[keep],
        np.repeat(weight, fan_out)[keep], names,
    )


def _personalisation(
    graph: _Graph, query: RankQuery, mentioned: set[str], focus: set[str]
) -> np.ndarray | None:
    """Where the random walk restarts: focus, named files, definers of mentioned names."""
    index = {p: i for i, p in enumerate(graph.paths)}
    weights = np.zeros(len(graph.paths))
    for path in focus:
        weights[index[path]] += 10.0
    for path in _mentioned_paths(query.text, graph.paths):
        weights[index[path]] += 5.0
    for name in mentioned:
        for path in graph.definers.get(name, ()):
            weights[index[path]] += 1.0
    return weights if weights.any() else None


def _mentioned_paths(text: str, paths: list[str]) -> set[str]:
    """Files the text names: a path, a path suffix, a file name, or a distinctive stem."""
    tokens = {t.strip("./") for t in _PATHISH.findall(text)}
    tokens = {t for t in tokens if len(t) >= 3}
    if not tokens:
        return set()
    found = set()
    for path in paths:
        pure = PurePosixPath(path)
        if path in tokens or pure.name in tokens or (len(pure.stem) >= 4 and pure.stem in tokens):
            found.add(path)
        elif any("/" in t and path.endswith(t) for t in tokens):
            found.add(path)
    return found


def _definition_flow(
    edges: _Edges, paths: list[str], scores: np.ndarray
) -> dict[tuple[str, str], float]:
    """Rank flowing into each (file, identifier) along the edges that carry it."""
    if not len(edges.source):
        return {}
    out = np.bincount(edges.source, weights=edges.weight, minlength=len(paths))
    amount = scores[edges.source] * edges.weight / out[edges.source]
    key = edges.target * len(edges.names) + edges.name
    unique, inverse = np.unique(key, return_inverse=True)
    totals = np.bincount(inverse, weights=amount)
    n_names = len(edges.names)
    return {
        (paths[k // n_names], edges.names[k % n_names]): float(total)
        for k, total in zip(unique.tolist(), totals.tolist(), strict=True)
    }


def _ranked_definitions(
    conn: sqlite3.Connection,
    exclude: set[str],
    files: dict[str, float],
    flow: dict[tuple[str, str], float],
    mentioned: set[str],
) -> list[RankedDefinition]:
    """Every definition of the live files with its score, best first.

    A definition the query names outranks the structure around it (×MENTION_WEIGHT).
    """
    rows = conn.execute(
        "SELECT f.path, d.name, d.kind, d.line, d.end_line, d.signature, d.scope "
        "FROM files f JOIN defs d ON d.blob_id = f.blob_id "
        "WHERE f.skip_reason IS NULL"
    )
    ranked = []
    for path, name, kind, line, end_line, signature, scope in rows:
        if path in exclude or path not in files:
            continue
        # Unreferenced definitions still order by their file's rank, far below the rest.
        score = flow.get((path, name), 0.0) + files[path] * 1e-6
        if name in mentioned:
            score = (score + files[path]) * MENTION_WEIGHT
        ranked.append(RankedDefinition(path, name, kind, line, end_line, signature, scope, score))
    ranked.sort(key=lambda d: (-d.score, d.path, d.line, d.name))
    return ranked
