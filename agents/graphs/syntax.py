"""Syntax checks of the files a run edits (`fix`) or a change touches (`review`)."""

from __future__ import annotations

from pathlib import Path

from tools.edit import EditPathError, resolve_repo_path
from tools.repo.languages import language_for_path
from tools.repo.parse import parse_source


def source_errors(rel: str, source: bytes) -> list[str]:
    """Parse errors of one file's content: Python is compiled (what `py_compile` does,
    without writing bytecode), other languages are parsed with tree-sitter."""
    if rel.endswith((".py", ".pyi")):
        try:
            compile(source, rel, "exec", dont_inherit=True)
        except SyntaxError as err:
            return [f"{rel}:{err.lineno}: {err.msg}"]
        except ValueError as err:  # NUL bytes
            return [f"{rel}: {err}"]
        return []
    language = language_for_path(rel)
    if language is not None and parse_source(source, language).has_errors:
        return [f"{rel}: tree-sitter ({language}) found syntax errors"]
    return []


def syntax_errors(root: str | Path, paths: list[str]) -> list[str]:
    """Parse errors in the given files of the tree at `root` (missing files are skipped)."""
    errors = []
    for rel in paths:
        try:
            path, rel = resolve_repo_path(root, rel)
        except EditPathError as err:
            errors.append(str(err))
            continue
        if path.is_file():
            errors += source_errors(rel, path.read_bytes())
    return errors
