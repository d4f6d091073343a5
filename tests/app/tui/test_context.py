"""What the model saw: the manifest, the budget bar, what was left out and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from app.tui.app import FathomApp
from app.tui.screens.code import CodeScreen
from app.tui.screens.context import EMPTY, ContextScreen
from app.tui.services import FathomService
from app.tui.widgets.budget import BudgetBar
from app.tui.widgets.code_view import CodeView
from tests.app.tui.helpers import ANSWER, SIZE, FakeClock, ask, scripted, settle

pytestmark = pytest.mark.anyio


async def test_manifest_shows_budget_and_the_omitted_secret(
        make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "how is the discount applied?")
        await pilot.press("f4")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContextScreen)
        summary = str(screen.query_one("#context-summary", Static).render())
        assert "of 8,192 tokens" in summary and "1 left out (1 secret)" in summary
        bar = screen.query_one(BudgetBar)
        drawn = bar.render().plain
        assert bar.display and len(drawn) == bar.size.width == SIZE[0] - 2
        assert drawn.startswith("█") and drawn.endswith("░")
        files = screen.query_one("#files-table", DataTable)
        assert files.row_count == 10
        env = files.get_row(".env")
        assert env[1] == "omitted" and str(env[4]).startswith("secret file")
        left = screen.query_one("#left-out-table", DataTable)
        assert left.row_count == 1 and left.get_row_at(0)[0] == ".env"

        files.focus()
        files.move_cursor(row=files.get_row_index("shop/pricing.py"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CodeScreen)
        assert app.screen.query_one(CodeView).path == "shop/pricing.py"


async def test_nothing_sent_yet(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await pilot.pause()
        assert str(app.screen.query_one("#context-summary", Static).render()) == EMPTY
        assert not app.screen.query_one(BudgetBar).display


async def test_the_spans_sent_with_the_question_are_listed_and_open(shop: Path) -> None:
    # A window far too small for the shop: the question chooses what goes in.
    app = FathomApp(FathomService(shop, model=scripted(ANSWER), context=2560,
                                  clock=FakeClock()))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "how does apply_discount work?")
        await pilot.press("f4")
        await settle(pilot)
        manifest = app.manifest
        assert manifest is not None and manifest.focused and manifest.spans
        summary = str(app.screen.query_one("#context-summary", Static).render())
        assert f"{len(manifest.spans)} spans" in summary and "does not fit" in summary
        spans = app.screen.query_one("#spans-table", DataTable)
        assert spans.row_count == len(manifest.spans)
        assert spans.get_row_at(0)[:3] == ["[1]", "shop/pricing.py:8-13", "apply_discount"]
        assert sum(s.tokens for s in manifest.spans) < manifest.spans_tokens
        app.screen.query_one("#context-tabs", TabbedContent).active = "spans-tab"
        spans.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CodeScreen)
        code = app.screen.query_one(CodeView)
        assert (code.path, code.cursor_line) == ("shop/pricing.py", 8)
