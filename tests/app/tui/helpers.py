"""What the TUI tests share: scripted models, a fake clock, steps driving the app."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from textual.pilot import Pilot
from textual.widgets import Input

from agents.backends.scripted import ScriptedBackend, Transcript
from agents.llm import BaseChatModel, ChatMessage, ContentDelta, StreamEvent, ToolSpec
from app.tui.app import FathomApp

SIZE = (100, 30)
ANSWER = ("The discount is applied by `apply_discount` in `shop/pricing.py:8`: it looks the "
          "code up in `DISCOUNT_CODES` (shop/pricing.py:5) and takes that percentage off "
          "`Cart.total` (shop/models.py:25). See also shop/coupons.py:3.")
FOLLOW_UP = "It is called from `checkout` in shop/checkout.py:9."


class FakeClock:
    """A clock that moves half a second each time it is read: stable speeds and times."""

    def __init__(self) -> None:
        """Start at zero."""
        self.now = 0.0

    def __call__(self) -> float:
        """The next instant."""
        self.now += 0.5
        return self.now


class GatedBackend(BaseChatModel):
    """A scripted model that stops after its first piece of text until `release()`."""

    def __init__(self, inner: ScriptedBackend) -> None:
        """Wrap `inner`."""
        super().__init__(inner.name)
        self.inner = inner
        self.first_piece = threading.Event()
        self._gate = threading.Event()

    def release(self) -> None:
        """Let the rest of the answer through."""
        self._gate.set()

    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        for event in self.inner.chat(messages, tools, thinking, stream=True):
            yield event
            if isinstance(event, ContentDelta) and not self.first_piece.is_set():
                self.first_piece.set()
                self._gate.wait(timeout=10)


def scripted(*replies: str, model: str = "scripted-shop") -> ScriptedBackend:
    """A backend answering `replies` in turn."""
    turns = [{"expect": {"role": "user"}, "reply": {"content": r}} for r in replies]
    return ScriptedBackend(Transcript.model_validate({"model": model, "turns": turns}))



async def settle(pilot: Pilot[None]) -> None:
    """Wait for every worker to finish and the screen to catch up."""
    app = pilot.app
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def ask(pilot: Pilot[None], question: str) -> None:
    """Put `question` in the Ask box, press Enter and wait for the answer.

    (Typing it key by key costs ~70 ms a key; one test types, the others paste.) The
    cursor does not blink, so snapshots are stable.
    """
    await settle(pilot)
    box = pilot.app.screen.query_one("#question", Input)
    box.cursor_blink = False
    box.value = question
    box.focus()
    await pilot.press("enter")
    await settle(pilot)


def fathom(pilot: Pilot[None]) -> FathomApp:
    """The app under test, typed."""
    assert isinstance(pilot.app, FathomApp)
    return pilot.app
