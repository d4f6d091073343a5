"""End to end: the TUI answers with the bundled SmolLM2 run by Fathom's own runtime."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from textual.widgets import Label

from agents.settings import ModelSettings
from app.tui.app import FathomApp
from app.tui.services import FathomService
from app.tui.widgets.answer import AnswerView
from tests.app.tui.helpers import SIZE, ask
from tests.conftest import FIXTURES

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
NEW_TOKENS = 16


async def test_smollm2_answers_in_the_tui(tmp_path: Path) -> None:
    # Two files of the shop keep the prompt short: prefill dominates on a CPU.
    root = tmp_path / "shop"
    for rel in ("README.md", "shop/pricing.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "shop" / rel, root / rel)
    settings = ModelSettings(backend="embedded", model=None, max_tokens=NEW_TOKENS,
                             temperature=0.0)
    app = FathomApp(FathomService(root, settings))
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(ask(pilot, "What does apply_discount do?"), timeout=240)
        view = app.screen.query_one(AnswerView)
        answer = view.answer
        assert answer is not None, view.query_one(".error").render()
        assert answer.content.strip() and 0 < answer.completion_tokens <= NEW_TOKENS
        assert answer.model == "smollm2-135m-instruct" and answer.path == "Fast"
        status = str(app.screen.query_one("#status-text", Label).render())
        assert status.startswith("smollm2-135m-instruct · embedded")
        manifest = app.manifest  # what the model saw, within the window its runtime reports
        assert manifest is not None and manifest.used <= manifest.budget
        assert app.model_info is not None and manifest.model.context == app.model_info.context
