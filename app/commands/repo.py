"""Repository engine commands: index, find, map, search, pack.

Each command imports the engine modules it needs when it runs, so `fathom index` does
not pay for loading scipy (ranking) at start-up.
"""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from app.output import console, emit_json, err_console, fail, progress_bar
from tools.git import GitError
from tools.repo.files import DEFAULT_EXCLUDES, FileOptions
from tools.repo.index import IndexStats, RepoIndex

RepoOption = Annotated[
    Path, typer.Option("--repo", help="Repository root (default: the current directory).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
ExcludeOption = Annotated[
    list[str] | None, typer.Option("--exclude", help="Extra gitignore-style pattern to skip.")
]
MaxBytesOption = Annotated[
    int, typer.Option("--max-file-bytes", help="Skip files larger than this.")
]


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected failures into a one-line error and exit code 2."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError, ValueError, GitError) as error:
        fail(str(error))
    except sqlite3.DatabaseError as error:
        fail(f"index database error: {error}; run `fathom index` to rebuild it")


def _open(
    root: Path, quiet: bool, excludes: list[str] | None = None, max_bytes: int = 1_000_000
) -> tuple[RepoIndex, IndexStats]:
    """The repository's index, brought up to date (incremental, usually milliseconds)."""
    options = FileOptions(
        max_bytes=max_bytes, excludes=DEFAULT_EXCLUDES, extra_excludes=tuple(excludes or ())
    )
    index = RepoIndex(root, options)
    with progress_bar("indexing", quiet) as progress:
        stats = index.update(progress)
    for warning in stats.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return index, stats


def index_command(
    path: Annotated[Path, typer.Argument(help="Repository to index.")] = Path("."),
    as_json: JsonOption = False,
    check: Annotated[bool, typer.Option("--check", help="Also verify every page.")] = False,
    exclude: ExcludeOption = None,
    max_file_bytes: MaxBytesOption = 1_000_000,
) -> None:
    """Index a repository (incremental: only changed files are re-parsed)."""
    from tools.repo.store import integrity_errors

    with _errors():
        index, stats = _open(path, as_json, exclude, max_file_bytes)
        if check:
            with index.connect() as conn:
                problems = integrity_errors(conn)
            if problems:
                fail(f"index integrity check failed: {problems[:3]}")
    if as_json:
        emit_json(stats.to_json())
        return
    languages = ", ".join(f"{k} {v}" for k, v in stats.languages.items())
    console.print(
        f"[bold]{stats.files}[/] files ({languages}); {stats.definitions} definitions, "
        f"{stats.references} references; {stats.parsed} parsed in {stats.seconds:.2f}s; "
        f"{stats.skipped} skipped",
        highlight=False,
    )
    if stats.decode_errors:
        console.print(f"{len(stats.decode_errors)} files had invalid UTF-8 (replaced)")


def find_command(
    name: Annotated[str, typer.Argument(help="Name, or Class.method.")],
    repo: RepoOption = Path("."),
    kind: Annotated[str | None, typer.Option(help="Only this kind (class, function…).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Find definitions by name."""
    from tools.repo.find import find_definitions

    with _errors():
        index, _ = _open(repo, as_json)
        with index.connect() as conn:
            hits = find_definitions(conn, name, kind)
    if as_json:
        emit_json([
            {"name": h.name, "kind": h.kind, "path": h.path, "line": h.line,
             "end_line": h.end_line}
            for h in hits
        ])
        return
    if not hits:
        fail(f"no definition named {name!r} in {index.root}", code=1)
    for h in hits:
        console.print(f"[cyan]{h.path}:{h.line}[/]  {h.kind}  {h.signature}", highlight=False)


def map_command(
    repo: RepoOption = Path("."),
    tokens: Annotated[int, typer.Option("--tokens", help="Exact token budget.")] = 1024,
    focus: Annotated[list[str] | None, typer.Option(help="File in focus (repeatable).")] = None,
    query: Annotated[str, typer.Option(help="What the map is for.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Print the repository map: top-ranked definitions within exactly N tokens."""
    from tools.repo.rank import RankQuery, rank
    from tools.repo.repomap import render_map

    with _errors():
        index, _ = _open(repo, as_json)
        with index.connect() as conn:
            ranking = rank(conn, RankQuery(query, tuple(focus or ())))
        repo_map = render_map(ranking, tokens)
    if as_json:
        emit_json(repo_map)
    else:
        console.out(repo_map.text, end="", highlight=False)


def search_command(
    query: Annotated[str, typer.Argument(help="Words, identifiers or a question.")],
    repo: RepoOption = Path("."),
    limit: Annotated[int, typer.Option(help="How many hits.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Search code spans (BM25 fused with exact identifier and literal lookup)."""
    from tools.repo.search import search

    with _errors():
        index, _ = _open(repo, as_json)
        with index.connect() as conn:
            hits = search(conn, index.fulltext(), query, limit)
    if as_json:
        emit_json([
            {"path": h.path, "line": h.line, "end_line": h.end_line, "score": h.score}
            for h in hits
        ])
        return
    from rich.table import Table  # only for people: --json never loads it

    table = Table("score", "location", "span", box=None)
    for h in hits:
        table.add_row(f"{h.score:.4f}", f"{h.path}:{h.line}-{h.end_line}", h.name or "")
    console.print(table)


def pack_command(
    path: Annotated[Path, typer.Argument(help="Repository to pack.")] = Path("."),
    budget: Annotated[int, typer.Option(help="Most tokens (DeepSeek V4 tokenizer).")] = 1_000_000,
    query: Annotated[str, typer.Option(help="What the context is for.")] = "",
    focus: Annotated[list[str] | None, typer.Option(help="File to show whole first.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the packed text here.")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Write the JSON manifest here.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Pack the repository into one model context within an exact token budget."""
    from tools.repo.pack import PackOptions, pack_repository, write_pack

    with _errors():
        index, _ = _open(path, as_json)
        options = PackOptions(budget=budget, query=query, focus=tuple(focus or ()))
        with progress_bar("packing", as_json) as progress:
            pack = pack_repository(index, options, progress)
        if out is not None:
            write_pack(pack, out, manifest)
        elif manifest is not None:
            fail("--manifest needs --out")
    summary = {k: v for k, v in pack.manifest().items() if k != "files"}
    summary.update(out=str(out) if out else None, manifest=str(manifest) if manifest else None)
    if as_json:
        emit_json(summary)
    elif out is None:
        console.out(pack.text, end="", highlight=False)
    else:
        counts = summary["counts"]
        console.print(
            f"packed {pack.total_tokens} of {budget} tokens into {out}: "
            f"{counts['full']} whole, {counts['signatures']} signatures, "
            f"{counts['omitted']} listed",
            highlight=False,
        )


COMMANDS: dict[str, Callable[..., None]] = {
    "index": index_command,
    "find": find_command,
    "map": map_command,
    "search": search_command,
    "pack": pack_command,
}


def register(app: typer.Typer) -> None:
    """Add the repository commands to ``app``."""
    for name, command in COMMANDS.items():
        app.command(name)(command)
