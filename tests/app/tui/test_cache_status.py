"""The status bar shows the share of the prompt the server read from its context cache,
for a model behind a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Label

from agents.backends.openai_api import OpenAIBackend
from app.tui.app import FathomApp
from tests.app.tui.helpers import ANSWER, FOLLOW_UP, SIZE, ask
from tests.openai_server import Received, WireReply, chat_app, serve

pytestmark = pytest.mark.anyio


async def test_the_status_bar_shows_the_cached_share_of_the_prompt(
        make_app: Callable[..., FathomApp]) -> None:
    replies = [WireReply(ANSWER, prompt_tokens=2_000),  # nothing cached yet: nothing shown
               WireReply(FOLLOW_UP, prompt_tokens=2_000, cached_tokens=1_870,
                         cache_fields="deepseek")]
    received: list[Received] = []

    def reply(body: dict[str, Any]) -> WireReply:
        """The replies in turn."""
        return replies[len(received) - 1]

    with serve(chat_app(reply, received)) as url:
        app = make_app(OpenAIBackend("deepseek-flash", base_url=url))
        async with app.run_test(size=SIZE) as pilot:
            status = app.screen.query_one("#status-text", Label)
            await ask(pilot, "how is the discount applied?")
            first = str(status.render())
            assert "ctx 2,000/8,192" in first and "cache" not in first
            await ask(pilot, "where is it called?")
            assert "ctx 2,000/8,192 │ cache 93% │" in str(status.render())
    assert len(received) == 2
