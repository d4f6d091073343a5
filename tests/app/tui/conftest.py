"""Fixtures for the TUI tests: the shop repository with a secret, and the app over it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from agents.llm import BaseChatModel
from app.tui.app import FathomApp
from app.tui.services import FathomService
from tests.app.tui.helpers import ANSWER, FakeClock, scripted
from tests.conftest import FIXTURES, init_repo


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The shop fixture with a `.env` secret, committed to git, in `<tmp>/shop`."""
    root = tmp_path / "shop"
    shutil.copytree(FIXTURES / "shop", root)
    (root / ".env").write_text("SHOP_API_TOKEN=s3cr3t-value\n", encoding="utf-8")
    init_repo(root)
    return root


@pytest.fixture
def make_app(shop: Path) -> Callable[..., FathomApp]:
    """`make_app(model)`: the TUI on the shop with `model` and an 8K window."""

    def make(model: BaseChatModel | None = None) -> FathomApp:
        service = FathomService(shop, model=model or scripted(ANSWER), context=8192,
                                clock=FakeClock())
        return FathomApp(service)

    return make


@pytest.fixture
def anyio_backend() -> str:
    """Textual runs on asyncio."""
    return "asyncio"
