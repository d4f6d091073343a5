"""The status bar: model and backend, tokens/s, context used and the share of it the
server read from its context cache, index freshness, and the progress of the running
stage (measured for indexing, packing and prefill)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from app.tui.state import Stage

if TYPE_CHECKING:
    from app.tui.app import FathomApp

WATCHED = ("model_info", "index_summary", "indexing", "stage", "speed", "prompt_tokens",
           "cached_prompt_tokens")
STALE_AFTER = 60.0  # seconds after which the index's age is shown


def age(seconds: float) -> str:
    """`✓` (fresh), `5 min ago`, `2 h ago`."""
    if seconds < STALE_AFTER:
        return "✓"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


def cache_share(cached: int, prompt: int) -> str:
    """`cache 93%`: the share of the prompt read from the server's context cache (rounded
    down, so 100% means all of it); empty when none was."""
    if cached <= 0 or prompt <= 0:
        return ""
    return f"cache {min(cached, prompt) * 100 // prompt}%"


def stage_text(stage: Stage) -> str:
    """`prefill`, or with a measure `prefill 1,024/4,096`."""
    if stage.total is None:
        return stage.name
    return f"{stage.name} {stage.done or 0:,}/{stage.total:,}"


class StatusBar(Horizontal):
    """One line at the bottom of every screen, fed by the app's reactive state."""

    def compose(self) -> ComposeResult:
        """The text on the left, the progress of the running step on the right."""
        yield Label(id="status-text")
        yield Label(id="status-stage")
        yield ProgressBar(id="status-progress", show_eta=False, show_percentage=False)

    def on_mount(self) -> None:
        """Follow the app's state; refresh the index age every half minute."""
        for name in WATCHED:
            self.watch(self.app, name, self._update, init=False)
        self.set_interval(30, self._update)
        self._update()

    @property
    def fathom(self) -> FathomApp:
        """The app, typed."""
        return cast("FathomApp", self.app)

    def _update(self) -> None:
        """Redraw from the app's state."""
        app = self.fathom
        info = app.model_info
        parts = [f"{info.name} · {info.backend}" if info else "model: loading…"]
        parts.append(f"{app.speed:.1f} tok/s" if app.speed is not None else "– tok/s")
        if info and app.prompt_tokens is not None:
            parts.append(f"ctx {app.prompt_tokens:,}/{info.context:,}")
            if cached := cache_share(app.cached_prompt_tokens, app.prompt_tokens):
                parts.append(cached)
        if app.indexing:
            parts.append("index: updating…")
        elif app.index_summary is not None:
            parts.append(f"index {app.index_summary.files} files "
                         f"{age(time.monotonic() - app.indexed_at)}")
        self.query_one("#status-text", Label).update(" │ ".join(parts))
        stage = app.stage
        self.query_one("#status-stage", Label).update(stage_text(stage) if stage else "")
        bar = self.query_one("#status-progress", ProgressBar)
        bar.display = stage is not None
        if stage is not None:
            bar.update(total=stage.total, progress=stage.done or 0)
