"""Apply a model's edits to files inside a repository root: checked first, then all at once.

An edit is a list of `EditBlock`s — "replace these lines of this file with those" — as
produced by an edit format (`tools.edit_formats`: search/replace blocks, unified diffs).
Every model output is untrusted input, so:

- paths are resolved and must stay inside the root: absolute paths, `..` or symlinks that
  leave it, `.git/` and `.fathom/`, and secret files are refused;
- each block is located by the first tier that finds it: exact lines, then lines equal
  up to whitespace (the replacement is re-indented to the file), then a fuzzy window of
  the same number of lines scoring at least `FUZZY_THRESHOLD` with rapidfuzz; a block
  found nowhere fails with the closest lines ("did you mean");
- all blocks are validated in memory before anything is written; then every changed file
  is written to a temporary file beside it and renamed over the original. A failed rename
  restores the files already replaced, so an edit lands whole or not at all.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from rapidfuzz import fuzz, process

from tools.repo.secrets import find_secret, secret_file_reason

MatchKind = Literal["exact", "whitespace", "fuzzy", "create"]

FUZZY_THRESHOLD = 0.9          # rapidfuzz ratio (0..1) a fuzzy window needs
MAX_EDIT_BYTES = 4_000_000     # files larger than this are not edited
REFUSED_DIRS = (".git", ".fathom")  # git's data and Fathom's index are never edited
SUGGESTION_LINES = 12          # lines of "did you mean" context shown at most
NEW_FILE_MODE = 0o644
_DRIVE = re.compile(r"^[A-Za-z]:")


class EditError(ValueError):
    """An edit that was refused as a whole; nothing was written."""


class EditPathError(EditError):
    """A path that may not be edited (outside the root, in `.git/`, a secret, …)."""


class EditWriteError(EditError):
    """Writing the validated edit failed; files already replaced were restored."""


@dataclass(frozen=True)
class EditBlock:
    """Replace the lines `search` of file `path` with `replace`.

    Both texts are whole lines. An empty (or blank) `search` creates `path`, which must not
    exist or be empty. `hint_line` (1-based) is where the lines are expected, used to pick
    between several matches; `index` is the block's position in its edit (0-based).
    """

    path: str
    search: str
    replace: str
    index: int = 0
    hint_line: int | None = None


@dataclass(frozen=True)
class BlockResult:
    """How one block was applied: the tier that matched it, where, and how well."""

    index: int
    path: str
    match: MatchKind
    line: int
    end_line: int
    score: float


@dataclass(frozen=True)
class BlockFailure:
    """Why one block could not be applied, and the closest lines when there are any."""

    index: int
    path: str
    message: str
    suggestion: str | None = None

    def describe(self) -> str:
        """One paragraph for a person or a model: which block, which file, what to do."""
        text = f"block {self.index + 1} ({self.path}): {self.message}"
        return text + (f"\n{self.suggestion}" if self.suggestion else "")


class EditMatchError(EditError):
    """Some blocks could not be applied; `failures` says which, where and why."""

    def __init__(self, failures: list[BlockFailure]) -> None:
        """One error for all the failed blocks, each described on its own."""
        self.failures = failures
        count = f"{len(failures)} block{'s' if len(failures) != 1 else ''}"
        details = "\n\n".join(f.describe() for f in failures)
        super().__init__(f"edit refused, nothing was written; {count} failed:\n\n{details}")


@dataclass(frozen=True)
class EditResult:
    """What an applied (or, with `dry_run`, validated) edit did; paths relative to the root."""

    changed: list[str]
    created: list[str]
    blocks: list[BlockResult]
    dry_run: bool = False

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (`fathom ... --json`, tool results)."""
        return asdict(self)


def resolve_repo_path(root: str | Path, path: str) -> tuple[Path, str]:
    """The real absolute path of `path` under `root`, and its POSIX path relative to the root.

    Raises `EditPathError` for absolute or empty paths, backslashes, paths that resolve
    outside the root (through `..` or a symlink), paths into `.git/` or `.fathom/`, and
    secret files (by name). The file itself need not exist.
    """
    if not path or not path.strip():
        raise EditPathError("empty path")
    if "\0" in path:
        raise EditPathError(f"{path!r}: path contains a NUL character")
    if "\\" in path:
        raise EditPathError(f"{path}: use forward slashes in paths")
    if path.startswith(("/", "~")) or _DRIVE.match(path):
        raise EditPathError(f"{path}: absolute paths are refused; give a path relative to "
                            "the repository root")
    real_root = Path(root).resolve(strict=True)
    lexical = Path(os.path.normpath(real_root / path))
    try:
        target = (real_root / path).resolve(strict=False)
    except (OSError, RuntimeError) as err:
        raise EditPathError(f"{path}: cannot resolve ({err})") from err
    if not target.is_relative_to(real_root) or target == real_root:
        how = "through a symlink that leaves" if lexical.is_relative_to(real_root) else "outside"
        raise EditPathError(f"{path}: resolves {how} the repository")
    rel = target.relative_to(real_root).as_posix()
    for name in (path, rel):
        parts = PurePosixPath(name).parts
        refused = next((p for p in parts if p.casefold() in REFUSED_DIRS), None)
        if refused:
            raise EditPathError(f"{path}: files under {refused.casefold()}/ are never edited")
        reason = secret_file_reason(name)
        if reason:
            raise EditPathError(f"{path}: refused, {reason}")
    return target, rel


@dataclass
class _FileState:
    """One file's text while an edit is validated: as read, and as edited so far."""

    path: Path
    rel: str
    original: str | None          # None: the file does not exist yet
    lines: list[str] | None       # current text split on "\n"; None while it does not exist
    newline: str = "\n"
    bom: bool = False
    mode: int | None = None
    created: bool = False

    @property
    def text(self) -> str | None:
        """The current text, with the file's own line endings."""
        return None if self.lines is None else self.newline.join(self.lines)


def _load(path: Path, rel: str) -> _FileState:
    """Read a file for editing (or note that it does not exist yet)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return _FileState(path, rel, None, None)
    if not stat.S_ISREG(info.st_mode):
        raise EditPathError(f"{rel}: not a regular file")
    if info.st_size > MAX_EDIT_BYTES:
        raise EditPathError(f"{rel}: too large to edit ({info.st_size} bytes)")
    data = path.read_bytes()
    if b"\0" in data:
        raise EditPathError(f"{rel}: binary file")
    reason = find_secret(data)
    if reason:
        raise EditPathError(f"{rel}: refused, holds a {reason}")
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise EditPathError(f"{rel}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    newline = "\r\n" if crlf else "\n"
    return _FileState(path, rel, text, text.split(newline), newline, bom,
                      stat.S_IMODE(info.st_mode))


def _block_lines(text: str) -> list[str]:
    """The lines of a block's text (one trailing newline ends the last line)."""
    text = text.replace("\r\n", "\n")
    if text.endswith("\n"):
        text = text[:-1]
    return text.split("\n")


@dataclass(frozen=True)
class _Match:
    start: int   # index into the file's lines
    length: int
    kind: MatchKind
    score: float
    replacement: list[str]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(found: list[str], search: list[str], replace: list[str]) -> list[str]:
    """Shift `replace` by the indentation the file has and the search text lacks (or v.v.)."""
    pair = next(((f, s) for f, s in zip(found, search, strict=True) if f.strip() and s.strip()),
                None)
    if pair is None:
        return replace
    have, want = _indent(pair[0]), _indent(pair[1])
    if have == want:
        return replace
    if have.endswith(want):
        extra = have[: len(have) - len(want)]
        return [extra + line if line.strip() else line for line in replace]
    if want.endswith(have):
        extra = want[: len(want) - len(have)]
        return [line[len(extra):] if line.startswith(extra) else line for line in replace]
    return replace


def _pick(starts: list[int], hint: int | None) -> int | None:
    """The one start to use: the only one, or the one nearest the hint; None if ambiguous."""
    if len(starts) == 1:
        return starts[0]
    if hint is None:
        return None
    return min(starts, key=lambda s: (abs(s + 1 - hint), s))


def _windows(lines: list[str], size: int) -> list[str]:
    """Every run of `size` lines, stripped and joined: what fuzzy matching compares."""
    stripped = [line.strip() for line in lines]
    return ["\n".join(stripped[i:i + size]) for i in range(len(lines) - size + 1)]


def _same(line: str) -> str:
    return line


# Line keys of the strict tiers, tried in order before fuzzy matching.
_TIERS: tuple[tuple[MatchKind, Callable[[str], str]], ...] = (
    ("exact", _same), ("whitespace", str.strip))


def _locate(lines: list[str], block: EditBlock) -> _Match | BlockFailure:
    """Find the block's search lines in the file: exact, whitespace-tolerant, then fuzzy."""
    search, replace = _block_lines(block.search), _block_lines(block.replace)
    if not block.replace:
        replace = []
    size = len(search)
    if size > len(lines):
        return BlockFailure(block.index, block.path,
                            f"SEARCH has {size} lines but the file has only {len(lines)}")
    for kind, key in _TIERS:
        wanted = [key(s) for s in search]
        keyed = [key(line) for line in lines]
        starts = [i for i in range(len(lines) - size + 1) if keyed[i:i + size] == wanted]
        if starts:
            start = _pick(starts, block.hint_line)
            if start is None:
                where = ", ".join(str(s + 1) for s in starts[:10])
                return BlockFailure(block.index, block.path,
                                    f"SEARCH text occurs {len(starts)} times (at lines {where}); "
                                    "include more surrounding lines so it is unique")
            found = lines[start:start + size]
            new = replace if kind == "exact" else _reindent(found, search, replace)
            return _Match(start, size, kind, 1.0, new)
    return _fuzzy(lines, search, replace, block)


def _fuzzy(lines: list[str], search: list[str], replace: list[str],
           block: EditBlock) -> _Match | BlockFailure:
    """The best window scoring ≥ FUZZY_THRESHOLD, else a failure showing the closest one."""
    windows = _windows(lines, len(search))
    query = "\n".join(s.strip() for s in search)
    scored = process.extract(query, windows, scorer=fuzz.ratio, limit=None)
    if not scored:
        return BlockFailure(block.index, block.path, "SEARCH text not found (the file is empty)")
    best_score = max(score for _, score, _ in scored)
    best = [index for _, score, index in scored if score == best_score]
    score = round(best_score / 100, 4)
    start = _pick(sorted(best), block.hint_line)
    if score >= FUZZY_THRESHOLD and start is not None:
        found = lines[start:start + len(search)]
        return _Match(start, len(search), "fuzzy", score, _reindent(found, search, replace))
    start = start if start is not None else min(best)
    shown = lines[start:start + min(len(search), SUGGESTION_LINES)]
    numbered = "\n".join(f"{start + 1 + i:>5}| {line}" for i, line in enumerate(shown))
    more = "\n  …" if len(search) > SUGGESTION_LINES else ""
    message = ("SEARCH text not found" if score < FUZZY_THRESHOLD else
               f"SEARCH text is equally close to {len(best)} places; include more lines")
    suggestion = (f"Did you mean lines {start + 1}-{start + len(search)} "
                  f"({score:.0%} similar)?\n{numbered}{more}")
    return BlockFailure(block.index, block.path, message, suggestion)


def _apply_block(state: _FileState, block: EditBlock) -> BlockResult | BlockFailure:
    """Apply one block to the in-memory state, or say why it cannot be."""
    if not block.search.strip():
        if state.lines is not None and (state.text or "").strip():
            return BlockFailure(block.index, block.path,
                                "SEARCH is empty, which creates a file, but the file exists "
                                "and is not empty; quote the lines to change in SEARCH")
        state.created = state.created or state.original is None
        text = block.replace.replace("\r\n", "\n")
        state.lines = text.split("\n")
        return BlockResult(block.index, state.rel, "create", 1, max(1, len(state.lines) - 1), 1.0)
    if state.lines is None:
        return BlockFailure(block.index, block.path,
                            "file does not exist; to create it, leave SEARCH empty")
    match = _locate(state.lines, block)
    if isinstance(match, BlockFailure):
        return match
    state.lines[match.start:match.start + match.length] = match.replacement
    return BlockResult(block.index, state.rel, match.kind, match.start + 1,
                       match.start + match.length, match.score)


def _write_temp(state: _FileState) -> Path:
    """Write the state's text to a temporary file in the target's directory."""
    state.path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=state.path.parent, prefix=f".{state.path.name}.",
                                suffix=".fathom-edit")
    data = (state.text or "").encode("utf-8")
    with os.fdopen(fd, "wb") as handle:
        handle.write((codecs.BOM_UTF8 if state.bom else b"") + data)
        handle.flush()
        os.fsync(handle.fileno())
    # mkstemp makes files private (0600); an edited file keeps its mode, a new one is 0644.
    os.chmod(name, state.mode if state.mode is not None else NEW_FILE_MODE)
    return Path(name)


def _commit(states: list[_FileState]) -> None:
    """Replace every file in `states` with its new text, or none of them."""
    staged: list[tuple[Path, _FileState]] = []
    replaced: list[_FileState] = []
    try:
        for state in states:
            staged.append((_write_temp(state), state))
        for temp, state in staged:
            os.replace(temp, state.path)
            replaced.append(state)
    except OSError as err:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        for state in replaced:
            if state.original is None:
                state.path.unlink(missing_ok=True)
            else:
                state.path.write_bytes((codecs.BOM_UTF8 if state.bom else b"")
                                       + state.original.encode("utf-8"))
        raise EditWriteError(f"writing the edit failed ({err}); no file was changed") from err


def apply_blocks(root: str | Path, blocks: list[EditBlock], dry_run: bool = False) -> EditResult:
    """Validate every block, then write all changed files atomically (unless `dry_run`).

    Raises `EditMatchError` listing every block that failed (path refused, lines not
    found, ambiguous match), in which case nothing is written.
    """
    if not blocks:
        raise EditError("the edit holds no blocks")
    states: dict[Path, _FileState] = {}
    results: list[BlockResult] = []
    failures: list[BlockFailure] = []
    for block in blocks:
        try:
            target, rel = resolve_repo_path(root, block.path)
            if target not in states:
                states[target] = _load(target, rel)
            state = states[target]
        except EditPathError as err:
            failures.append(BlockFailure(block.index, block.path, str(err)))
            continue
        outcome = _apply_block(state, block)
        (failures if isinstance(outcome, BlockFailure) else results).append(outcome)
    if failures:
        raise EditMatchError(failures)
    touched = [s for s in states.values() if s.text != s.original]
    if not dry_run:
        _commit(touched)
    return EditResult(
        changed=sorted(s.rel for s in touched if not s.created),
        created=sorted(s.rel for s in touched if s.created),
        blocks=results,
        dry_run=dry_run,
    )

