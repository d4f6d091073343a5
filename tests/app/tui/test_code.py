"""Code: the file tree, the viewer, jump to symbol; secrets are never shown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.command import CommandPalette
from textual.widgets import Static

from app.tui.app import FathomApp
from app.tui.screens.code import CodeScreen
from app.tui.widgets.code_view import CodeView
from app.tui.widgets.file_tree import FileTree
from tests.app.tui.helpers import SIZE, settle

pytestmark = pytest.mark.anyio


async def test_jump_to_symbol_is_fuzzy(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"aplydisc")  # fuzzy: apply_discount
        await pilot.pause(0.4)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CodeScreen)
        code = app.screen.query_one(CodeView)
        assert (code.path, code.cursor_line) == ("shop/pricing.py", 8)


async def test_tree_lists_indexed_files_and_opens_them(
        make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        tree = app.screen.query_one(FileTree)
        leaves = [n.data for n in tree.root.children[0].children]
        assert leaves == ["shop/__init__.py", "shop/checkout.py", "shop/models.py",
                          "shop/pricing.py"]
        tree.select_path("shop/models.py")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        code = app.screen.query_one(CodeView)
        assert (code.path, code.cursor_line, code.line_count) == ("shop/models.py", 1, 29)
        await pilot.press("down", "down", "G")
        assert code.cursor_line == 29
        await pilot.press("g", "down", "down")
        assert code.cursor_line == 3
        await pilot.press("ctrl+b")
        assert not tree.display


async def test_a_secret_file_is_never_shown(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.open_location(".env")
        await settle(pilot)
        code = app.screen.query_one(CodeView)
        assert code.line_count == 0
        title = str(app.screen.query_one("#code-title", Static).render())
        assert "not shown: secret file" in title


async def test_opening_a_missing_file_notifies(make_app: Callable[..., FathomApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.open_location("../outside.py", 3)
        await settle(pilot)
        assert [n.message for n in app._notifications] == ["../outside.py: no such file in shop"]
