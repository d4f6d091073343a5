"""Runs: ids, durable checkpoints, metadata and token/cost accounting.

Every graph run has an id (`fix-20250101-120000-3fa9c1`) that is also its LangGraph
thread id. Checkpoints go to `<repo>/.fathom/runs.sqlite` through
`langgraph-checkpoint-sqlite`'s `SqliteSaver`, one per step, so `fathom resume RUN_ID`
continues after a crash or a kill. The same database holds a `fathom_runs` table: what
each run was asked (enough to rebuild its graph), its status, its branch, and the tokens
and cost it used. `.fathom/` carries its own `.gitignore`, so none of this shows up in git.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, ConfigDict, Field

from agents.llm import Usage
from tools.repo.store import state_dir

RUNS_DB = "runs.sqlite"
RunKind = Literal["ask", "fix", "repair", "review", "describe"]
RunStatus = Literal["running", "awaiting_approval", "interrupted", "done", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fathom_runs(
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, repo TEXT NOT NULL, request TEXT NOT NULL,
    status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, model TEXT,
    branch TEXT, summary TEXT NOT NULL DEFAULT '', calls INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0, cached_prompt_tokens INTEGER NOT NULL DEFAULT 0)
"""
# A later column: a database made before it gains the column when opened.
_CACHED_COLUMN = ("ALTER TABLE fathom_runs ADD COLUMN cached_prompt_tokens INTEGER NOT NULL "
                  "DEFAULT 0")
_COLUMNS = ("run_id", "kind", "repo", "request", "status", "created", "updated", "model",
            "branch", "summary", "calls", "prompt_tokens", "completion_tokens",
            "cached_prompt_tokens", "cost")
_UPDATABLE = {"status", "model", "branch", "summary"}


class RunNotFoundError(LookupError):
    """No run with that id in this repository's run database."""


class RunRecord(BaseModel):
    """What is known about one run, outside its checkpoints."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    kind: RunKind
    repo: str = Field(description="The user's repository root.")
    request: dict[str, Any] = Field(description="The graph's input and options, to resume.")
    status: RunStatus
    created: float
    updated: float
    model: str | None = None
    branch: str | None = None
    summary: str = ""
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = Field(
        0, description="Of prompt_tokens, those the server read from its context cache.")
    cost: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens of all the run's model calls."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class RunUsage:
    """What a run's model calls used: calls, tokens (`cached_prompt_tokens` of the prompt
    tokens were read from the server's context cache) and cost in USD."""

    calls: int
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    cost: float

    @classmethod
    def of(cls, record: RunRecord) -> RunUsage:
        """The usage a run's record holds."""
        return cls(record.calls, record.prompt_tokens, record.cached_prompt_tokens,
                   record.completion_tokens, record.cost)

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        """`{"calls", "prompt_tokens", "cached_prompt_tokens", "completion_tokens", "cost"}`."""
        return asdict(self)


def new_run_id(kind: str) -> str:
    """A fresh, sortable run id: `<kind>-<YYYYmmdd-HHMMSS>-<6 hex>`."""
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def runs_db_path(repo: str | Path) -> Path:
    """Where the run database of `repo` lives (its `.fathom/` folder is created)."""
    return state_dir(Path(repo).resolve()) / RUNS_DB


class RunStore:
    """The run database of one repository: checkpointer plus run records."""

    def __init__(self, repo: str | Path) -> None:
        """Open (creating if needed) `<repo>/.fathom/runs.sqlite`."""
        self.path = runs_db_path(repo)
        self._checkpoints = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self.checkpointer = SqliteSaver(self._checkpoints)
        self.checkpointer.setup()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                     isolation_level=None)
        self._conn.execute(_SCHEMA)
        if not self._has_cached_column():
            try:
                self._conn.execute(_CACHED_COLUMN)
            except sqlite3.OperationalError:
                if not self._has_cached_column():  # else another process just added it
                    raise

    def _has_cached_column(self) -> bool:
        rows = self._conn.execute("PRAGMA table_info(fathom_runs)").fetchall()
        return any(row[1] == "cached_prompt_tokens" for row in rows)

    def close(self) -> None:
        """Close both connections."""
        self._conn.close()
        self._checkpoints.close()

    def __enter__(self) -> RunStore:
        """Use as a context manager; closed on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        self.close()

    def create(self, run_id: str, kind: RunKind, repo: str | Path,
               request: dict[str, Any]) -> RunRecord:
        """Record a new run as running."""
        now = time.time()
        self._conn.execute(
            "INSERT INTO fathom_runs(run_id, kind, repo, request, status, created, updated) "
            "VALUES (?, ?, ?, ?, 'running', ?, ?)",
            (run_id, kind, str(repo), json.dumps(request), now, now))
        return self.get(run_id)

    def get(self, run_id: str) -> RunRecord:
        """The run's record; `RunNotFoundError` saying where it looked otherwise."""
        row = self._conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM fathom_runs WHERE run_id = ?",
            (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r} in {self.path}")
        data = dict(zip(_COLUMNS, row, strict=True))
        data["request"] = json.loads(data["request"])
        return RunRecord.model_validate(data)

    def update(self, run_id: str, **fields: str | None) -> RunRecord:
        """Change the run's status, model, branch or summary."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {', '.join(sorted(unknown))} of a run")
        sets = ", ".join(f"{name} = ?" for name in fields)
        self._conn.execute(f"UPDATE fathom_runs SET {sets}, updated = ? WHERE run_id = ?",
                           (*fields.values(), time.time(), run_id))
        return self.get(run_id)

    def add_usage(self, run_id: str, usage: Usage, model: str) -> RunRecord:
        """Count one model call's tokens and cost towards the run."""
        self._conn.execute(
            "UPDATE fathom_runs SET calls = calls + 1, prompt_tokens = prompt_tokens + ?, "
            "completion_tokens = completion_tokens + ?, "
            "cached_prompt_tokens = cached_prompt_tokens + ?, cost = cost + ?, model = ?, "
            "updated = ? WHERE run_id = ?",
            (usage.prompt_tokens, usage.completion_tokens, usage.cached_prompt_tokens,
             usage.cost, model, time.time(), run_id))
        return self.get(run_id)

    def recent(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""
        rows = self._conn.execute(
            "SELECT run_id FROM fathom_runs ORDER BY created DESC LIMIT ?", (limit,))
        return [self.get(run_id) for (run_id,) in rows.fetchall()]

