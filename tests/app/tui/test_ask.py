"""Ask: a streamed answer, citations that open the code, follow-ups, errors, cancelling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label, Markdown, OptionList, Static
from textual.widgets._markdown import MarkdownParagraph

from agents.backends.scripted import ScriptedBackend, Transcript
from agents.llm import BaseChatModel, ChatMessage, StreamEvent, ToolSpec
from agents.settings import ModelSettings
from app.tui.app import FathomApp
from app.tui.screens.ask import AskScreen
from app.tui.screens.code import CodeScreen
from app.tui.services import FathomService
from app.tui.widgets.answer import AnswerView
from app.tui.widgets.code_view import CodeView
from tests.app.tui.helpers import (
    ANSWER,
    FOLLOW_UP,
    SIZE,
    FakeClock,
    GatedBackend,
    ask,
    fathom,
    scripted,
    settle,
)

pytestmark = pytest.mark.anyio
QUESTION = "how is the discount applied?"


async def _until(pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 5) -> None:
    """Pause until `condition()` holds (fails the test after `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


async def _click_text(pilot: Pilot[None], view: AnswerView, text: str) -> None:
    """Click the first occurrence of `text` in the answer's rendered paragraphs."""
    for paragraph in view.query(MarkdownParagraph):
        for y, strip in enumerate(paragraph.render_lines(paragraph.region.reset_offset)):
            x = strip.text.find(text)
            if x >= 0:
                await pilot.click(paragraph, offset=(x + 2, y))
                return
    raise AssertionError(f"{text!r} is not on screen")


async def test_answer_streams_then_citation_link_opens_code(
        make_app: Callable[..., FathomApp]) -> None:
    model = GatedBackend(scripted(ANSWER))
    app = make_app(model)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#question")
        await pilot.press(*"discount?", "enter")  # typed: the keyboard path
        assert await asyncio.to_thread(model.first_piece.wait, 10)
        view = app.screen.query_one(AnswerView)
        markdown = view.query_one(".answer", Markdown)
        await _until(pilot, lambda: markdown.source != "")
        assert ANSWER.startswith(markdown.source) and len(markdown.source) < len(ANSWER)
        assert "Fast Path" in str(view.query_one(".meta", Static).render())

        model.release()
        await settle(pilot)
        assert "[`shop/pricing.py:8`](cite:shop/pricing.py%3A8)" in markdown.source
        assert "shop/coupons.py:3" in markdown.source and "cite:shop/coupons" not in markdown.source
        citations = view.query_one(".citations", OptionList)
        assert citations.display and citations.option_count == 4
        assert citations.get_option_at_index(3).disabled  # no such file: not a link

        await _click_text(pilot, view, "shop/pricing.py:8")
        await settle(pilot)
        assert isinstance(app.screen, CodeScreen)
        code = app.screen.query_one(CodeView)
        assert (code.path, code.cursor_line) == ("shop/pricing.py", 8)
        assert "line 8 of 17" in str(app.screen.query_one("#code-title", Static).render())
        assert app.focused is code


async def test_keyboard_opens_a_citation(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, QUESTION)
        await pilot.press("shift+tab", "shift+tab")  # past the sources, to the citations
        assert isinstance(app.focused, OptionList) and app.focused.has_class("citations")
        await pilot.press("down", "down", "enter")  # the first "down" highlights the first
        await settle(pilot)
        code = app.screen.query_one(CodeView)
        assert (code.path, code.cursor_line) == ("shop/pricing.py", 5)
        row = code.cursor_line - 1 - code.scroll_offset.y
        assert "DISCOUNT_CODES" in code.render_line(row).text


async def test_the_sources_the_model_read_are_listed_and_open(
        make_app: Callable[..., FathomApp]) -> None:
    app = make_app(scripted("The discount comes off the total."))  # it cites nothing
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "how does apply_discount work?")
        view = app.screen.query_one(AnswerView)
        assert view.answer is not None and not view.answer.citations
        assert not view.query_one(".citations", OptionList).display
        sources = view.query_one(".sources", OptionList)
        assert sources.display and view.query_one(".sources-title").display
        first = view.answer.sources[0]
        assert (first.number, first.where, first.name) == (
            1, "shop/pricing.py:8-13", "apply_discount")
        assert sources.option_count == len(view.answer.sources)
        assert "[1] shop/pricing.py:8-13" in str(sources.get_option_at_index(0).prompt)
        await pilot.press("shift+tab")
        assert app.focused is sources
        await pilot.press("down", "enter")
        await settle(pilot)
        code = app.screen.query_one(CodeView)
        assert (code.path, code.cursor_line) == ("shop/pricing.py", 8)


async def test_reasoning_shows_above_the_answer(make_app: Callable[..., FathomApp]) -> None:
    transcript = Transcript.model_validate({"model": "thinker", "turns": [{"reply": {
        "reasoning": "The question names discounts.\nLook at pricing first.",
        "content": "See shop/pricing.py:8."}}]})
    app = make_app(ScriptedBackend(transcript))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, QUESTION)
        reasoning = app.screen.query_one(".reasoning", Static)
        assert reasoning.display and "Look at pricing first." in str(reasoning.render())
        assert "thinker" in str(app.screen.query_one(".meta", Static).render())


async def test_follow_up_reuses_the_conversation(make_app: Callable[..., FathomApp]) -> None:
    model = scripted(ANSWER, FOLLOW_UP)
    app = make_app(model)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, QUESTION)
        await ask(pilot, "where is it called?")
        assert len(app.screen.query(AnswerView)) == 2
        second = model.requests[1]
        assert [m.role for m in second] == ["system", "user", "assistant", "user"]
        assert second[1].content == QUESTION and second[2].content == ANSWER
        assert "shop/checkout.py:9" in app.screen.query(AnswerView).last().answer.markdown
        assert isinstance(app.screen, AskScreen) and len(app.screen.answers) == 2


async def test_a_model_error_is_shown_not_raised(make_app: Callable[..., FathomApp]) -> None:
    app = make_app(scripted())  # no turns: the model fails on the first call
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, QUESTION)
        error = app.screen.query_one(".error", Static)
        assert error.display and "all 0 turns were replayed" in str(error.render())
        answer = app.screen.query_one(AnswerView).answer  # the graph's answer: ranked code
        assert answer is not None and answer.content.startswith("No model answered")
        assert answer.citations and all(c.valid for c in answer.citations)
        assert fathom(pilot).runs.runs[-1].status == "failed"
        assert any(n.severity == "error" for n in app._notifications)
        await ask(pilot, "still alive?")  # the app goes on
        assert len(app.screen.query(AnswerView)) == 2


async def test_escape_cancels_an_answer(make_app: Callable[..., FathomApp]) -> None:
    model = GatedBackend(scripted(ANSWER))
    app = make_app(model)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one("#question", Input).value = QUESTION
        await pilot.press("enter")
        assert await asyncio.to_thread(model.first_piece.wait, 10)
        await pilot.press("escape")
        model.release()
        await settle(pilot)
        view = app.screen.query_one(AnswerView)
        assert view.answer is None and "Cancelled" in str(view.query_one(".error").render())
        run = fathom(pilot).runs.runs[-1]
        assert run.status == "cancelled"
        recorded = {r.id: r for r in app.service.past_runs()}[run.id]
        assert recorded.status == "interrupted"  # the graph's run stopped mid-answer


async def test_without_a_model_the_ranked_code_answers(shop: Path) -> None:
    app = FathomApp(FathomService(shop, ModelSettings(backend="none"), clock=FakeClock()))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "where is apply_discount defined?")
        view = app.screen.query_one(AnswerView)
        assert view.answer is not None and view.answer.model == "none"
        assert not view.query_one(".error").display and not app._notifications
        markdown = view.query_one(".answer", Markdown).source
        assert markdown.startswith("No model answered (no model is configured)")
        assert "(cite:shop/pricing.py%3A8)" in markdown  # apply_discount's span, linked
        assert view.query_one(".sources", OptionList).option_count == len(
            view.answer.citations) > 0
        assert fathom(pilot).runs.runs[-1].status == "done"
        status = str(app.screen.query_one("#status-text", Label).render())
        assert status.startswith("no model · none")


async def test_a_misconfigured_model_is_reported_in_the_ui(shop: Path) -> None:
    app = FathomApp(FathomService(shop, ModelSettings(backend="scripted")))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, QUESTION)
        messages = [n.message for n in app._notifications]
        assert any("needs a transcript" in m for m in messages)
        error = app.screen.query_one(".error", Static)
        assert error.display and "needs a transcript" in str(error.render())


class _Broken(BaseChatModel):
    """A model with a bug: it raises what no one expects."""

    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        raise KeyError("surprise")


async def test_an_unexpected_error_lands_in_the_ui(make_app: Callable[..., FathomApp]) -> None:
    app = make_app(_Broken("broken"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, QUESTION)
        error = app.screen.query_one(".error", Static)
        assert error.display and "unexpected error: KeyError('surprise')" in str(error.render())
        assert fathom(pilot).runs.runs[-1].status == "failed"
