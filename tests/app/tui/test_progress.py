"""The status bar measures indexing, packing and prefill as the engine reports them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label, ProgressBar

from agents.backends.scripted import ScriptedBackend
from agents.llm import BaseChatModel, ChatMessage, PrefillProgress, StreamEvent, ToolSpec
from app.tui.app import FathomApp
from app.tui.state import Stage
from tests.app.tui.helpers import ANSWER, SIZE, scripted, settle

pytestmark = pytest.mark.anyio
PROMPT_TOKENS = 2048
CHUNK = 512


class PrefillingBackend(BaseChatModel):
    """A scripted model that reports reading its prompt chunk by chunk, as the embedded
    backend does, and waits halfway through until `release()`."""

    def __init__(self, inner: ScriptedBackend) -> None:
        """Wrap `inner`."""
        super().__init__(inner.name)
        self.inner = inner
        self.halfway = threading.Event()
        self._gate = threading.Event()

    def release(self) -> None:
        """Let the rest of the prefill and the answer through."""
        self._gate.set()

    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        for done in range(CHUNK, PROMPT_TOKENS + 1, CHUNK):
            yield PrefillProgress(done=done, total=PROMPT_TOKENS)
            if done == PROMPT_TOKENS // 2:
                self.halfway.set()
                self._gate.wait(timeout=10)
        yield from self.inner.chat(messages, tools, thinking, stream=True)


async def _until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 5) -> None:
    """Pause until `condition()` holds (fails the test after `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


async def test_packing_and_prefill_bars_advance(make_app: Callable[..., FathomApp]) -> None:
    model = PrefillingBackend(scripted(ANSWER))
    app = make_app(model)
    stages: list[Stage | None] = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)

        def seen(stage: Stage | None) -> None:
            stages.append(stage)

        app.watch(app, "stage", seen, init=False)
        box = app.screen.query_one("#question", Input)
        box.value = "how is the discount applied?"
        box.focus()
        await pilot.press("enter")

        await _until(pilot, model.halfway.is_set)
        await _until(pilot, lambda: app.stage == Stage("prefill", 1024, PROMPT_TOKENS))
        bar = app.screen.query_one("#status-progress", ProgressBar)
        assert bar.display and bar.total == PROMPT_TOKENS and bar.percentage == 0.5
        label = app.screen.query_one("#status-stage", Label)
        assert str(label.render()) == "prefill 1,024/2,048"

        model.release()
        await settle(pilot)
        assert app.stage is None and not bar.display
        assert app.runs.runs[-1].status == "done"

    packing = [s for s in stages if s is not None and s.name == "packing"]
    assert packing and all(s.total == packing[0].total for s in packing)
    done = [s.done or 0 for s in packing]
    assert done[0] == 0 and done[-1] == packing[0].total
    assert all(a < b for a, b in zip(done, done[1:], strict=False))
    prefill = [s.done for s in stages if s is not None and s.name == "prefill"]
    assert prefill == [None, *range(CHUNK, PROMPT_TOKENS + 1, CHUNK)]  # measured once known
    # Progress ticks stay off the run's timeline: the status bar shows them.
    assert not {"packing", "indexing"} & {e.label for e in app.runs.runs[-1].timeline}
