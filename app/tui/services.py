"""The TUI's one door to the engine and the agents.

Screens never import `tools`, `agents` or `model_runtime`: they call a `FathomService`
and receive the plain values of `app.tui.state` and `app.tui.runstate`. Behind it,
`app.tui.asking` runs the `ask` graph and `app.tui.agent_runs` / `app.tui.patches` drive
fix and repair runs; those three modules and this one are the only ones that import the
engine.

Every method may block (disk, SQLite, git, the model): call them from Textual thread
workers. Expected failures raise `ServiceError` with a message fit for the screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from agents import api
from agents.api import DEFAULT_CONTEXT_WINDOW, ChatModel, ModelSettings
from app.tui import agent_runs, asking
from app.tui.errors import ServiceError, errors
from app.tui.runstate import Decision, Run, RunProgress, RunResult
from app.tui.state import (
    Answer,
    AskEvent,
    FileText,
    IndexSummary,
    ModelInfo,
    Symbol,
    TreeEntry,
)
from tools.repo.files import decode_text, discover
from tools.repo.index import RepoIndex
from tools.repo.rank import RankQuery, rank
from tools.repo.secrets import secret_file_reason
from tools.repo.showable import hidden_reason

__all__ = ["FathomService", "ServiceError"]

VIEW_MAX_BYTES = 2_000_000
_BACKENDS = {"EmbeddedBackend": "embedded", "OpenAIBackend": "openai",
             "ScriptedBackend": "scripted"}


class FathomService:
    """The repository at `root` and the model the settings name, as the TUI needs them.

    `context_tokens` is the model window to fill (None: the model's own).
    """

    def __init__(self, root: Path, settings: ModelSettings | None = None, *,
                 model: ChatModel | None = None, context: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`model` replaces the one the settings describe; `context` its window size;
        `clock` times answers (tests pass a fake one for stable numbers)."""
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ServiceError(f"not a directory: {root}")
        self._settings = settings
        self._model = model
        self._made = model is not None
        self.context_tokens = context
        self.clock = clock
        self._lock = threading.Lock()

    def model(self) -> ChatModel | None:
        """The chat model, made on first use; None when the settings configure none
        (backend "none": questions are answered with the ranked code)."""
        with self._lock, errors("model"):
            if not self._made:
                self._model = api.model_for(self.root, settings=self._settings)
                self._made = True
            return self._model

    def _required_model(self, kind: str) -> ChatModel:
        """The model, for work that cannot be done without one."""
        model = self.model()
        if model is None:
            raise ServiceError(f"{kind}: needs a model; configure one in fathom.toml or "
                               "FATHOM_* variables")
        return model

    def model_info(self) -> ModelInfo:
        """Name, backend and context window of the model (loads an embedded model)."""
        model = self.model()
        if model is None:
            return ModelInfo("no model", "none", self.context_tokens or DEFAULT_CONTEXT_WINDOW)
        backend = _BACKENDS.get(type(model).__name__, type(model).__name__)
        with errors("model"):
            return ModelInfo(model.name, backend, self.context_tokens or model.context_window)

    def update_index(self, progress: Callable[[int, int], None] | None = None) -> IndexSummary:
        """Bring the index up to date (incremental; `progress(done, total)`)."""
        with errors("index"):
            stats = RepoIndex(self.root).update(progress)
        return IndexSummary(stats.files, stats.definitions, stats.parsed,
                            tuple(stats.warnings))

    def tree(self) -> list[TreeEntry]:
        """The repository's files as the index sees them (ignored and vendored left out)."""
        with errors("files"):
            listing = discover(self.root)
        return [TreeEntry(f.path, secret_file_reason(f.path)) for f in listing.files]

    def symbols(self) -> list[Symbol]:
        """Every definition in the index but fields, the most central first."""
        with errors("symbols"):
            conn = RepoIndex(self.root).connect()
            try:
                ranking = rank(conn, RankQuery())
            finally:
                conn.close()
        return [Symbol(d.name, d.kind, d.path, d.line, d.scope)
                for d in ranking.definitions if d.kind != "field"]

    def read_file(self, path: str) -> FileText:
        """A file's text for the viewer; secrets, binaries and huge files get a note."""
        target = self._inside(path)
        if target is None or not target.is_file():
            raise ServiceError(f"{path}: no such file in {self.root.name}")
        with errors(path):
            if target.stat().st_size > VIEW_MAX_BYTES:
                return FileText(path, "", f"too large to show (over {VIEW_MAX_BYTES:,} bytes)")
            data = target.read_bytes()
        hidden = hidden_reason(path, data)
        if hidden:
            return FileText(path, "", f"not shown: {hidden}")
        return FileText(path, decode_text(data)[0])

    def _inside(self, path: str) -> Path | None:
        """`path` resolved, if it stays inside the repository (symlinks included)."""
        resolved = (self.root / path).resolve()
        return resolved if resolved.is_relative_to(self.root) else None

    def new_run_id(self, kind: str) -> str:
        """A fresh id for a run of `kind`, as the agents' run database records it."""
        return api.new_run_id(kind)

    def ask(self, question: str, earlier: Sequence[Answer] = (),
            cancelled: Callable[[], bool] = lambda: False,
            run_id: str | None = None) -> Iterator[AskEvent]:
        """Answer `question` (following the `earlier` answers) with the `ask` graph, as
        run `run_id`: events as they happen.

        Stops quietly between two steps or streamed pieces once `cancelled()` is true
        (the run is recorded as interrupted).
        """
        return asking.ask(self, question, earlier, cancelled, run_id)

    def start_run(self, kind: str, task: str, test_command: str | None,
                  progress: Callable[[RunProgress], None]) -> RunResult:
        """Run `fix` or `repair` until it ends or awaits approval; `progress` hears each
        step (from the calling thread)."""
        with errors(kind):
            return agent_runs.start(self.root, self._required_model(kind), kind, task,
                                    test_command, progress, time.time())

    def resume_run(self, run_id: str, progress: Callable[[RunProgress], None],
                   decision: Decision | None = None) -> RunResult:
        """Continue run `run_id`; at its approval point carry out `decision` (None: stop
        there and return the approval to show)."""
        with errors(f"run {run_id}"):
            return agent_runs.resume(self.root, self.model(), run_id, decision, progress,
                                     time.time())

    def past_runs(self) -> list[Run]:
        """Recent runs recorded in the repository (from earlier sessions too)."""
        with errors("runs"):
            return agent_runs.past(self.root)
