"""Every view at 80×24, the help screen, the command palette, themes, the runs timeline."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import DataTable, Footer, Input

from app.tui.app import FathomApp
from app.tui.screens.context import ContextScreen
from app.tui.screens.help import HelpScreen
from app.tui.screens.runs import RunsScreen
from app.tui.widgets.budget import BudgetBar
from app.tui.widgets.code_view import CodeView
from app.tui.widgets.nav import NavBar
from app.tui.widgets.status import StatusBar
from tests.app.tui.helpers import SIZE, ask, settle

pytestmark = pytest.mark.anyio


async def test_every_view_fits_80x24(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "how is the discount applied?")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        screen_region = app.screen.region
        assert screen_region.size == (80, 24)
        checks = {"f2": Input, "f3": CodeView, "f4": BudgetBar, "f5": DataTable}
        for key, main in checks.items():
            await pilot.press(key)
            await settle(pilot)
            for widget_type in (NavBar, main, StatusBar, Footer):
                region = app.screen.query(widget_type).first().region
                assert region.height >= 1 and region.width >= 30, (key, widget_type)
                assert screen_region.contains_region(region), (key, widget_type)
        await app.open_location("shop/pricing.py", 8)
        await settle(pilot)
        assert app.screen.query_one(CodeView).scrollable_content_region.height >= 15


async def test_help_lists_the_keys(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        rows = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert ("everywhere", "^f", "Jump to a symbol (fuzzy)") in rows
        assert ("ask", "esc", "Stop the answer being written") in rows
        assert ("runs", "s", "Show the diff side by side (old | new) or unified") in rows
        assert any(where == "code viewer" for where, _, _ in rows)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_theme_and_runs(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "how is the discount applied?")
        await pilot.press("ctrl+t")
        assert app.theme == "fathom-light" and not app.current_theme.dark
        await pilot.press("ctrl+p", *"model saw")
        await pilot.pause(0.4)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContextScreen)
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        runs = app.screen.query_one("#runs-table", DataTable)
        row = [str(c) for c in runs.get_row_at(0)]
        assert row[0].startswith("ask-") and row[1:] == ["done", "how is the discount applied?"]
        assert runs.row_count == 1  # the ask's run, as the run database records it, once
        steps = app.screen.query_one("#timeline", DataTable)
        labels = [str(steps.get_row_at(i)[1]) for i in range(steps.row_count)]
        assert labels == ["loading model", "Fast Path", "indexing and packing",
                          "context packed", "prefill", "checking citations",
                          "index updated", "answered"]
