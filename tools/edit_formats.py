"""Edit formats: how a model writes an edit, parsed into `tools.edit.EditBlock`s.

Each format is a class (the shape of aider's coders); the instructions that teach a
model a format are data in `agents.prompts.edit_formats`, not here, because `tools/`
knows nothing of models. Both formats end in the same place: `tools.edit.apply_blocks`,
which locates, validates and writes.

- `SearchReplaceFormat` ("search_replace"): a path line, then
  `<<<<<<< SEARCH` / old lines / `=======` / new lines / `>>>>>>> REPLACE`.
- `UnifiedDiffFormat` ("udiff"): `--- a/PATH` / `+++ b/PATH` / `@@ … @@` hunks, parsed
  by `unidiff`. Models miscount hunk lengths, so each `@@` header's counts are rewritten
  from its body before parsing; its line numbers are kept only as a hint for choosing
  between repeated matches.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

import unidiff

from tools.edit import EditBlock, EditError, EditResult, apply_blocks


class EditParseError(EditError):
    """Edit text that does not follow its format; says what is wrong and on which line."""


class EditFormat(ABC):
    """One way of writing edits: parses text into blocks and applies them."""

    name: ClassVar[str]

    @abstractmethod
    def parse(self, text: str) -> list[EditBlock]:
        """The blocks of `text`, in order; `EditParseError` when it is malformed."""

    def apply(self, root: str | Path, text: str, dry_run: bool = False) -> EditResult:
        """Parse `text` and apply its blocks under `root` (all or nothing)."""
        return apply_blocks(root, self.parse(text), dry_run=dry_run)


_SEARCH = re.compile(r"^<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^={5,9}\s*$")
_REPLACE = re.compile(r"^>{5,9} ?REPLACE\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _clean_path(line: str) -> str:
    """A path line as models write it: drop markdown emphasis, backticks, '#', ':'."""
    path = line.strip().strip("`*").strip()
    path = path.lstrip("#").strip().rstrip(":").strip().strip("`*").strip()
    return path


class SearchReplaceFormat(EditFormat):
    """Search/replace blocks, each preceded by the path of the file it edits."""

    name = "search_replace"

    def parse(self, text: str) -> list[EditBlock]:
        """See the module docstring; a block without a path reuses the previous block's."""
        lines = text.replace("\r\n", "\n").split("\n")
        blocks: list[EditBlock] = []
        candidate: str | None = None
        at = 0
        while at < len(lines):
            line = lines[at]
            if _SEARCH.match(line):
                path = candidate or (blocks[-1].path if blocks else None)
                if not path:
                    raise EditParseError(f"line {at + 1}: SEARCH block without a file path; "
                                         "write the path on the line before it")
                search, at = _section(lines, at + 1, _DIVIDER, "=======", len(blocks))
                replace, at = _section(lines, at + 1, _REPLACE, ">>>>>>> REPLACE", len(blocks))
                blocks.append(EditBlock(path, search, replace, len(blocks)))
                candidate = None
            elif _DIVIDER.match(line) or _REPLACE.match(line):
                raise EditParseError(f"line {at + 1}: {line.strip()!r} outside a "
                                     "SEARCH/REPLACE block")
            elif line.strip() and not _FENCE.match(line):
                candidate = _clean_path(line)
            at += 1
        if not blocks:
            raise EditParseError("no SEARCH/REPLACE blocks found (expected a path line, then "
                                 "'<<<<<<< SEARCH', '=======', '>>>>>>> REPLACE')")
        return blocks


def _section(lines: list[str], at: int, end: re.Pattern[str], end_text: str,
             index: int) -> tuple[str, int]:
    """The text from line `at` up to the line matching `end`, and that line's index."""
    start = at
    while at < len(lines):
        line = lines[at]
        if end.match(line):
            return "".join(f"{piece}\n" for piece in lines[start:at]), at
        if _SEARCH.match(line) or _DIVIDER.match(line) or _REPLACE.match(line):
            raise EditParseError(f"line {at + 1}: block {index + 1} has {line.strip()!r} where "
                                 f"{end_text!r} was expected")
        at += 1
    raise EditParseError(f"block {index + 1} (from line {start}) is not closed: "
                         f"{end_text!r} is missing")


_HUNK = re.compile(r"^@@\s*(?:-(\d+)(?:,\d+)?\s+\+(\d+)(?:,\d+)?)?\s*@@(.*)$")
_BODY = (" ", "+", "-", "\\")


def _is_file_header(lines: list[str], at: int) -> bool:
    return (lines[at].startswith("--- ") and at + 1 < len(lines)
            and lines[at + 1].startswith("+++ "))


def _normalise_diff(text: str) -> tuple[str, list[bool]]:
    """Rewrite hunk headers with counts taken from their bodies; drop markdown fences.

    Returns the diff for `unidiff` and, per hunk, whether its header gave line numbers.
    A blank line inside a hunk is read as an empty context line (models drop the space).
    """
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    numbered: list[bool] = []
    new_file = False
    at = 0
    while at < len(lines):
        line = lines[at]
        if _is_file_header(lines, at):
            new_file = line[4:].strip() == "/dev/null"
            out += [line, lines[at + 1]]
            at += 2
            continue
        header = _HUNK.match(line)
        if header is None:
            if not _FENCE.match(line):
                out.append(line)
            at += 1
            continue
        body: list[str] = []
        at += 1
        while at < len(lines) and not _is_file_header(lines, at) and not _HUNK.match(lines[at]):
            piece = lines[at]
            if piece == "" and at + 1 < len(lines) and lines[at + 1].startswith(_BODY):
                piece = " "
            if not piece.startswith(_BODY):
                break
            body.append(piece)
            at += 1
        old = sum(1 for b in body if b[0] in " -")
        new = sum(1 for b in body if b[0] in " +")
        numbered.append(header.group(1) is not None)
        old_start = int(header.group(1) or (0 if new_file else 1))
        new_start = int(header.group(2) or 1)
        out.append(f"@@ -{old_start},{old} +{new_start},{new} @@{header.group(3)}")
        out += body
    return "\n".join(out) + "\n", numbered


class UnifiedDiffFormat(EditFormat):
    """Unified diffs (`diff -u` / `git diff`); new files come from `/dev/null`."""

    name = "udiff"

    def parse(self, text: str) -> list[EditBlock]:
        """One block per hunk; deletions and renames are refused."""
        normalised, numbered = _normalise_diff(text)
        try:
            patch = unidiff.PatchSet(normalised)
        except unidiff.UnidiffParseError as err:
            raise EditParseError(f"malformed unified diff: {err}") from err
        blocks: list[EditBlock] = []
        hunk_no = 0
        for patched in patch:
            path = patched.path
            if patched.is_removed_file:
                raise EditParseError(f"{path}: deleting files is not supported")
            if patched.is_rename or (not patched.is_added_file
                                     and _strip_prefix(patched.source_file)
                                     != _strip_prefix(patched.target_file)):
                raise EditParseError(f"{path}: renaming files is not supported")
            for hunk in patched:
                search = "".join(line.value for line in hunk
                                 if line.is_context or line.is_removed)
                replace = "".join(line.value for line in hunk
                                  if line.is_context or line.is_added)
                if not patched.is_added_file and not search.strip():
                    raise EditParseError(f"{path}: hunk {hunk_no + 1} has no context or removed "
                                         "lines; include the lines around the insertion")
                has_numbers = hunk_no < len(numbered) and numbered[hunk_no]
                hint = hunk.target_start if has_numbers else None
                blocks.append(EditBlock(path, search, replace, len(blocks), hint or None))
                hunk_no += 1
        if not blocks:
            raise EditParseError("no hunks found (expected '--- a/PATH', '+++ b/PATH' and "
                                 "'@@ ... @@' lines)")
        return blocks


def _strip_prefix(name: str) -> str:
    """A diff header path without git's `a/` or `b/` prefix."""
    return name[2:] if name.startswith(("a/", "b/")) else name


FORMATS: dict[str, EditFormat] = {f.name: f for f in (SearchReplaceFormat(), UnifiedDiffFormat())}


def get_format(name: str) -> EditFormat:
    """The edit format called `name`; `EditParseError` naming the known ones otherwise."""
    try:
        return FORMATS[name]
    except KeyError:
        raise EditParseError(f"unknown edit format {name!r}; use one of "
                             f"{', '.join(sorted(FORMATS))}") from None


def apply_edit(root: str | Path, format_name: str, text: str,
               dry_run: bool = False) -> EditResult:
    """Parse `text` in the named format and apply it under `root`, all or nothing."""
    return get_format(format_name).apply(root, text, dry_run=dry_run)
