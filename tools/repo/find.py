"""Find definitions by name in the index (``fathom find``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DefinitionHit:
    """A definition found by name; ``path`` relative to the root, lines 1-based."""

    name: str
    kind: str
    path: str
    line: int
    end_line: int
    signature: str
    scope: str | None


def find_definitions(
    conn: sqlite3.Connection, name: str, kind: str | None = None
) -> list[DefinitionHit]:
    """Definitions named ``name`` (``Class.method`` narrows by scope).

    Exact-case matches are returned when there are any, otherwise case-insensitive ones.
    Secret and skipped files are never searched.
    """
    scope, _, short = name.rpartition(".")
    rows = conn.execute(
        "SELECT d.name, d.kind, f.path, d.line, d.end_line, d.signature, d.scope "
        "FROM defs d JOIN files f ON f.blob_id = d.blob_id JOIN blobs b ON b.id = d.blob_id "
        "WHERE d.name = ? COLLATE NOCASE AND f.skip_reason IS NULL AND b.secret IS NULL "
        "ORDER BY f.path, d.line",
        (short,),
    ).fetchall()
    hits = [DefinitionHit(*row) for row in rows]
    if scope:
        hits = [h for h in hits if h.scope and (h.scope == scope or h.scope.endswith("." + scope))]
    if kind:
        hits = [h for h in hits if h.kind == kind]
    exact = [h for h in hits if h.name == short]
    return exact or hits
