"""The packer's pieces: each file as the packer sees it, its text in each pack mode, and
exact token counts remembered in the index database across packs.

A file appears in a pack whole (``full``), by its definitions' signatures
(``signatures``) or as one line of the omitted listing. Every piece is a token-count
segment (``tools.repo.tokens``), so a pack's count is the sum of its pieces' counts.
"""

from __future__ import annotations

import html
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tools.repo.extract import git_blob_sha
from tools.repo.files import decode_text
from tools.repo.store import connect, db_path
from tools.repo.tokens import SegmentCounter


@dataclass(slots=True)
class PackFile:
    """An indexed file as the packer sees it."""

    path: str
    sha: str | None
    reason: str | None                      # why it can never be packed, if so
    section: str = "ranked"
    signature_lines: list[str] = field(default_factory=list)
    mode: str = "omitted"


class CachedCounter(SegmentCounter):
    """Segment counts remembered in the index database across runs."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        """Read stored counts through ``conn``; save new ones to ``root``'s index."""
        super().__init__()
        self._root = root
        self._conn = conn
        self._stored: dict[str, int] = {}
        self._new: dict[str, int] = {}

    def stored(self, key: str) -> int | None:
        """A count saved by an earlier pack, by key."""
        if key not in self._stored:
            row = self._conn.execute(
                "SELECT tokens FROM token_counts WHERE key = ?", (key,)
            ).fetchone()
            self._stored[key] = row[0] if row else -1
        value = self._stored[key]
        return None if value < 0 else value

    def remember(self, key: str, tokens: int) -> None:
        """Keep a new count to save at the end of the pack."""
        self._stored[key] = tokens
        self._new[key] = tokens

    def save(self) -> None:
        """Store the new counts (best effort: a busy database only loses the cache)."""
        if not self._new:
            return
        try:
            writer = connect(db_path(self._root))
            with writer:
                writer.executemany(
                    "INSERT OR REPLACE INTO token_counts VALUES (?, ?)", self._new.items()
                )
            writer.close()
        except sqlite3.OperationalError:
            return


class Segments:
    """The text segments of each file in each mode, and their exact token counts."""

    def __init__(self, root: Path, files: dict[str, PackFile], counter: CachedCounter) -> None:
        self.root = root
        self.files = files
        self.counter = counter
        self.full_tokens: dict[str, int] = {}
        self.changed: dict[str, str] = {}  # path → why its content could not be packed

    def preamble(self) -> str:
        """The first segment: which repository this is."""
        return f'<repository name="{html.escape(self.root.name)}">\n'

    def omitted_line(self, f: PackFile) -> str:
        """The line listing an omitted file."""
        return f"- {f.path}: {self.reason_of(f) or 'budget'}\n"

    def signatures(self, f: PackFile) -> str:
        """The file shown by its definitions' signatures."""
        head = f'<file path="{html.escape(f.path)}" mode="signatures">\n'
        return head + "".join(f.signature_lines) + "</file>\n"

    def full(self, f: PackFile) -> str | None:
        """The whole file, or None if it changed since it was indexed."""
        try:
            data = (self.root / f.path).read_bytes()
        except OSError as error:
            self.changed[f.path] = f"unreadable: {error.strerror or error}"
            return None
        if git_blob_sha(data) != f.sha:
            self.changed[f.path] = "changed since indexing; run `fathom index`"
            return None
        text, _ = decode_text(data)
        if text and not text.endswith("\n"):
            text += "\n"
        return f'<file path="{html.escape(f.path)}">\n{text}</file>\n'

    def count_full(self, batch: Iterable[PackFile]) -> None:
        """Exact counts of the full segments of ``batch`` (cached, tokenized in parallel)."""
        todo: dict[str, str] = {}
        for f in batch:
            key = f"{f.sha}:full:{f.path}"
            stored = self.counter.stored(key)
            if stored is not None:
                self.full_tokens[f.path] = stored
            elif f.path not in self.full_tokens and f.path not in self.changed:
                segment = self.full(f)
                if segment is not None:
                    todo[f.path] = segment
        self.counter.prime(todo.values())
        for path, segment in todo.items():
            f = self.files[path]
            tokens = self.counter.of(segment)
            self.full_tokens[path] = tokens
            self.counter.remember(f"{f.sha}:full:{path}", tokens)

    def tokens_of(self, f: PackFile) -> int:
        """Tokens the file takes in the pack in its chosen mode."""
        if f.mode == "full":
            return self.full_tokens[f.path]
        if f.mode == "signatures":
            return self.counter.of(self.signatures(f))
        return self.counter.of(self.omitted_line(f))

    def reason_of(self, f: PackFile) -> str | None:
        """Why the file is not shown whole (None when it is)."""
        if f.mode == "full":
            return None
        if f.reason:
            return f.reason
        if f.path in self.changed:
            return self.changed[f.path]
        return "budget: signatures only" if f.mode == "signatures" else "budget"

    def assemble(self, order: list[str]) -> tuple[str, int]:
        """The packed text and its exact token count (the sum of its segments' counts)."""
        parts = [self.preamble()]
        total = self.counter.of(parts[0])
        omitted = []
        for path in order + sorted(p for p in self.files if p not in set(order)):
            f = self.files[path]
            segment = self.full(f) if f.mode == "full" else None
            if f.mode == "full" and segment is None:
                f.mode = "omitted"  # changed on disk while packing
            if segment is not None:
                parts.append(segment)
            elif f.mode == "signatures":
                parts.append(self.signatures(f))
            else:
                omitted.append(self.omitted_line(f))
            if f.mode != "omitted":
                total += self.tokens_of(f)
        parts += ["<omitted>\n", *omitted, "</omitted>\n"]
        total += self.counter.count(["<omitted>\n", *omitted, "</omitted>\n"])
        return "".join(parts), total
