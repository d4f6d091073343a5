"""`fathom tui` without a terminal answers one question headless instead."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.cli import app


def test_tui_without_a_terminal_answers_headless(shop_repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("FATHOM_BACKEND", "none")
    result = CliRunner().invoke(app, ["tui", str(shop_repo)])
    assert result.exit_code == 0, result.output
    assert "no terminal" in result.output
    assert "shop/" in result.output  # without a model, the ranked code is the answer
