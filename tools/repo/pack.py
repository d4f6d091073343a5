"""Pack a whole repository into one model context within an exact token budget.

Layout (deterministic, so the same repository always packs to the same bytes):
docs and configuration first, then the other files by structural rank, then the files
changed recently (uncommitted, or in the last commits), the most recent last — so an
edit, which usually touches a recent file, invalidates only the tail of a model's KV
cache.  The query never reorders the layout: it only decides, when the budget is short,
which files are shown whole, which by their signatures, and which are only listed.
Secrets are never packed; the manifest says, per file, what was included and why not.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from tools.git import GitError, recently_changed, repo_root
from tools.repo.index import ProgressFn, RepoIndex
from tools.repo.rank import RankQuery, rank
from tools.repo.repomap import INDENT
from tools.repo.segments import CachedCounter, PackFile, Segments

MANIFEST_VERSION = 1
RECENT_COMMITS = 10
# At most this many recent files go to the tail, and commits touching more than
# BULK_COMMIT_FILES files (an import, a mass reformat) are not "recent work".
RECENT_MAX = 32
BULK_COMMIT_FILES = 50
# A file whose size suggests more tokens than are left is not tokenized to check: at
# fewer than this many bytes per token it would be cheaper to count (rare for code).
BYTES_PER_TOKEN_FLOOR = 6
COUNT_BATCH = 64
# No source text averages more bytes per V4 token than this (code averages 3-5): a
# repository with more bytes than budget × this cannot fit whole, without counting.
BYTES_PER_TOKEN_CEILING = 16
# At most this share of the budget goes to the signature skeleton before whole files.
SKELETON_SHARE = 0.3
DOC_SUFFIXES = {".md", ".rst", ".txt", ".adoc", ".org"}
CONFIG_NAMES = {
    "pyproject.toml", "setup.cfg", "setup.py", "package.json", "tsconfig.json", "Cargo.toml",
    "go.mod", "Makefile", "CMakeLists.txt", "Dockerfile", "docker-compose.yml", "pom.xml",
    "build.gradle", "build.gradle.kts", "Gemfile", "composer.json", "tox.ini", "noxfile.py",
    "requirements.txt", ".pre-commit-config.yaml", "mkdocs.yml",
}
CONFIG_SUFFIXES = {".toml", ".cfg", ".ini", ".yaml", ".yml"}


@dataclass(frozen=True, slots=True)
class PackOptions:
    """How to pack.

    Attributes:
        budget: the most tokens the packed text may hold (V4 tokenizer, exact).
        query: what the context is for; decides which files are shown whole.
        focus: paths that must be shown whole first if they fit.
        recent_commits: files touched by this many last commits go to the tail.
        relevant_first: for a window that cannot hold the repository: the first room
            for whole files goes only to the relevant ones (in focus, or defining what
            the query names); every other file gets its outline before any of them is
            shown whole, so small unrelated files do not crowd out the map.
    """

    budget: int = 1_000_000
    query: str = ""
    focus: tuple[str, ...] = ()
    recent_commits: int = RECENT_COMMITS
    relevant_first: bool = False


@dataclass(slots=True)
class ManifestEntry:
    """One file of the repository and what the pack did with it."""

    path: str
    blob: str | None
    tokens: int
    mode: str            # "full" | "signatures" | "omitted"
    reason: str | None
    section: str         # "docs" | "ranked" | "recent" | "skipped"


@dataclass(slots=True)
class Pack:
    """A packed repository: the text and its manifest."""

    root: str
    budget: int
    query: str
    text: str
    total_tokens: int
    entries: list[ManifestEntry] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every packable file is shown whole (the repository fit the budget)."""
        return all(e.mode == "full" for e in self.entries if e.section != "skipped")

    def manifest(self) -> dict[str, object]:
        """The manifest as JSON-ready data."""
        modes = ("full", "signatures", "omitted")
        counts = {m: sum(e.mode == m for e in self.entries) for m in modes}
        return {
            "version": MANIFEST_VERSION,
            "root": self.root,
            "budget": self.budget,
            "query": self.query,
            "total_tokens": self.total_tokens,
            "counts": counts,
            "files": [asdict(e) for e in self.entries],
        }


def pack_repository(index: RepoIndex, options: PackOptions = PackOptions(),
                    progress: ProgressFn | None = None) -> Pack:
    """Pack the (already updated) index's repository within ``options.budget`` tokens.

    ``progress(done, total)`` hears how many of the ``total`` packable files have been
    counted and decided: ``(0, total)`` first, then growing, ``(total, total)`` last.
    """
    conn = index.connect()
    try:
        files = _load_files(conn)
        tracker = _Progress(progress, sum(f.reason is None for f in files.values()))
        recent = _recent(index.root, options.recent_commits, files)
        order = _layout(conn, files, recent)
        priority, relevant = _priority(conn, files, recent, options)
        counter = CachedCounter(index.root, conn)
        segments = Segments(index.root, files, counter)
        first_whole = relevant if options.relevant_first else priority
        _choose_modes(files, order, (priority, first_whole), segments, options.budget,
                      tracker)
        text, total = segments.assemble(order)
        counter.save()
        tracker.reach(tracker.total)
    finally:
        conn.close()
    entries = [
        ManifestEntry(
            f.path, f.sha, segments.tokens_of(f), f.mode, segments.reason_of(f), f.section
        )
        for f in (files[p] for p in order + sorted(p for p in files if p not in set(order)))
    ]
    return Pack(str(index.root), options.budget, options.query, text, total, entries)


def may_fit_whole(index: RepoIndex, budget: int) -> bool:
    """Whether the (already updated) index's packable files might all fit whole within
    ``budget`` tokens: False only when their size alone rules it out."""
    with closing(index.connect()) as conn:
        (size,) = conn.execute(
            "SELECT COALESCE(SUM(f.size), 0) FROM files f JOIN blobs b ON b.id = f.blob_id "
            "WHERE f.skip_reason IS NULL AND b.secret IS NULL").fetchone()
    return size <= budget * BYTES_PER_TOKEN_CEILING


def write_pack(pack: Pack, out: Path, manifest: Path | None = None) -> None:
    """Write the packed text (and manifest) atomically: a temp file, then a rename."""
    _atomic_write(out, pack.text)
    if manifest is not None:
        _atomic_write(manifest, json.dumps(pack.manifest(), indent=1) + "\n")


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_files(conn: sqlite3.Connection) -> dict[str, PackFile]:
    """Every file the index knows, with the reason it can never be packed, if any."""
    files: dict[str, PackFile] = {}
    for path, sha, skip, secret in conn.execute(
        "SELECT f.path, b.sha, f.skip_reason, b.secret FROM files f "
        "LEFT JOIN blobs b ON b.id = f.blob_id ORDER BY f.path"
    ):
        reason = skip or secret
        files[path] = PackFile(path, sha, reason, "skipped" if reason else "ranked")
    return files


def _recent(root: Path, commits: int, files: dict[str, PackFile]) -> list[str]:
    """Packable files changed recently, least recent first (the most recent goes last)."""
    try:
        top = repo_root(root)
        changed = recently_changed(top, commits, max_files_per_commit=BULK_COMMIT_FILES)
    except GitError:
        return []
    prefix = "" if top == root else root.relative_to(top).as_posix() + "/"
    local = [p[len(prefix):] for p in changed if p.startswith(prefix)]
    packable = [p for p in local if p in files and files[p].reason is None]
    return list(reversed(packable[:RECENT_MAX]))


def is_doc_or_config(path: str) -> bool:
    """Documentation and configuration: packed first, as the map to everything else."""
    pure = PurePosixPath(path)
    if pure.name in CONFIG_NAMES or pure.name.upper().startswith(("README", "CONTRIBUTING")):
        return True
    top_level = len(pure.parts) == 1
    in_docs = pure.parts[0].lower() in {"doc", "docs", "documentation"}
    return (pure.suffix.lower() in DOC_SUFFIXES and (top_level or in_docs)) or (
        top_level and pure.suffix.lower() in CONFIG_SUFFIXES
    )


def _doc_order(path: str) -> tuple[bool, bool, int, str]:
    """README first (the plain one before variants), then shallow before deep."""
    name = PurePosixPath(path).name.upper()
    plain_readme = name.split(".")[0] == "README" and name.count(".") <= 1
    return (not name.startswith("README"), not plain_readme, path.count("/"), path)


def _layout(
    conn: sqlite3.Connection, files: dict[str, PackFile], recent: list[str]
) -> list[str]:
    """The stable order of packable files: docs/config, ranked, recent."""
    recent_set = set(recent)
    packable = [p for p, f in files.items() if f.reason is None and p not in recent_set]
    docs = sorted((p for p in packable if is_doc_or_config(p)), key=_doc_order)
    doc_set = set(docs)
    # Ranked without the recent files, so editing one of them cannot reorder the middle.
    ranking = rank(conn, RankQuery(), exclude=recent_set | doc_set, definitions=False)
    ranked = [p for p in ranking.file_order() if p in files]
    unranked = sorted(set(packable) - doc_set - set(ranked))
    for path in docs:
        files[path].section = "docs"
    for path in recent:
        files[path].section = "recent"
    _attach_signatures(conn, files)
    return docs + ranked + unranked + recent


def _priority(
    conn: sqlite3.Connection, files: dict[str, PackFile], recent: list[str], options: PackOptions
) -> tuple[list[str], list[str]]:
    """Who gets the budget first — focus, what the query names, recent work, top docs,
    rank — and the relevant files among them (focus, and files defining what the query
    names), both as packable paths."""
    # Definitions matter only where the query names some.
    ranking = rank(conn, RankQuery(options.query, options.focus), definitions=bool(options.query))
    named = [d.path for d in ranking.definitions if d.name in ranking.mentioned]
    top_docs = [p for p, f in files.items() if f.section == "docs" and "/" not in p]
    relevant = [p for p in options.focus if p in files] + named
    first = relevant + list(reversed(recent)) + top_docs
    rest = ranking.file_order() + sorted(files)

    def packable(paths: list[str]) -> list[str]:
        """`paths` without repeats and without files that can never be packed."""
        return [p for p in dict.fromkeys(paths) if files[p].reason is None]

    return packable(first + rest), packable(relevant)


def _attach_signatures(conn: sqlite3.Connection, files: dict[str, PackFile]) -> None:
    """Give every file its outline as map lines (for signatures mode).

    The outline is the file's API: top-level definitions and their members, without
    fields and without definitions nested in functions or inner classes.
    """
    by_sha: dict[str, list[str]] = {}
    rows = conn.execute(
        "SELECT b.sha, d.line, d.scope, d.signature, d.name FROM defs d "
        "JOIN blobs b ON b.id = d.blob_id WHERE d.kind != 'field' "
        "AND (d.scope IS NULL OR instr(d.scope, '.') = 0) ORDER BY b.sha, d.line, d.name"
    )
    for sha, line, scope, signature, name in rows:
        depth = 1 if scope else 0
        by_sha.setdefault(sha, []).append(f"{line}│{INDENT * depth}{signature or name}\n")
    for f in files.values():
        if f.sha:
            f.signature_lines = by_sha.get(f.sha, [])


def _choose_modes(
    files: dict[str, PackFile],
    order: list[str],
    priority: tuple[list[str], list[str]],
    segments: Segments,
    budget: int,
    progress: _Progress,
) -> None:
    """Decide each file's mode, by priority, so the total stays within ``budget``.

    ``priority`` is every packable file in priority order and the files that may be
    shown whole in the first pass (all of them, or only the relevant ones). Whole files
    first, up to (1 - SKELETON_SHARE) of the budget; then the signatures of the files
    still only listed; then whatever room is left goes to more whole files and more
    signatures, each pass in priority order.
    """
    counter = segments.counter
    fixed = [segments.preamble(), "<omitted>\n", "</omitted>\n"]
    every = list(files.values())
    used = counter.count(fixed) + counter.count(segments.omitted_line(f) for f in every)
    if used > budget:
        raise ValueError(
            f"budget of {budget} tokens cannot even list the repository's {len(files)} files "
            f"({used} tokens): raise --budget"
        )
    ordered = [files[p] for p in priority[0]]
    used = _upgrade_full([files[p] for p in priority[1]], segments, used,
                         int(budget * (1 - SKELETON_SHARE)), progress)
    used = _upgrade_signatures(ordered, segments, used, budget)
    used = _upgrade_full(ordered, segments, used, budget, progress)
    _upgrade_signatures(ordered, segments, used, budget)


def _upgrade_full(ordered: list[PackFile], segments: Segments, used: int, limit: int,
                  progress: _Progress) -> int:
    """Show files whole, in order, while the total stays ≤ limit (reporting each batch)."""
    for start in range(0, len(ordered), COUNT_BATCH):
        batch = [f for f in ordered[start : start + COUNT_BATCH] if f.mode != "full"]
        segments.count_full([f for f in batch if _may_fit(segments, f, limit - used)])
        for f in batch:
            full_cost = segments.full_tokens.get(f.path)
            current = segments.tokens_of(f)
            if full_cost is not None and used - current + full_cost <= limit:
                f.mode = "full"
                used += full_cost - current
        progress.reach(start + COUNT_BATCH)
        if limit - used <= 0:
            break
    return used


def _upgrade_signatures(ordered: list[PackFile], segments: Segments, used: int,
                        limit: int) -> int:
    """Show listed files by their signatures, in order, while the total stays ≤ limit."""
    candidates = [f for f in ordered if f.mode == "omitted" and f.signature_lines]
    segments.counter.prime(segments.signatures(f) for f in candidates)  # one parallel batch
    for f in candidates:
        cost = segments.counter.of(segments.signatures(f)) - segments.tokens_of(f)
        if used + cost <= limit:
            f.mode = "signatures"
            used += cost
    return used


def _may_fit(segments: Segments, f: PackFile, left: int) -> bool:
    """Whether the file's size leaves any chance its full text fits in ``left`` tokens."""
    try:
        size = (segments.root / f.path).stat().st_size
    except OSError:
        return False
    return size <= left * BYTES_PER_TOKEN_FLOOR


class _Progress:
    """Files counted and decided so far, reported to the caller only when the count grows.

    The passes over the files overlap (a later pass revisits the first files), so the
    count is the furthest any pass has got: it never goes back.
    """

    def __init__(self, report: ProgressFn | None, total: int) -> None:
        """Report ``(0, total)`` at once."""
        self._report = report
        self.total = total
        self.done = 0
        if report is not None:
            report(0, total)

    def reach(self, done: int) -> None:
        """The first ``done`` files (at most all of them) are decided."""
        done = min(done, self.total)
        if self._report is not None and done > self.done:
            self.done = done
            self._report(done, self.total)
