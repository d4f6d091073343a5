"""`fathom ask | fix | repair | review | resume` from the command line, with JSON contracts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import git
import pytest
import typer
from typer.testing import CliRunner

from app.commands import agent
from tests.conftest import FIXTURES

TRANSCRIPTS = FIXTURES / "transcripts"
CHECK = f"{sys.executable} check.py"
app = typer.Typer()
agent.register(app)
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATHOM_CONFIG_FILE", "/nonexistent/fathom.toml")



def run(*args: str, code: int = 0) -> dict[str, Any]:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout) if "--json" in args and result.stdout else {}


def scripted(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("FATHOM_BACKEND", "scripted")
    monkeypatch.setenv("FATHOM_SCRIPT", str(TRANSCRIPTS / name))


def test_ask_json_contract_without_a_model(shop_repo: Path) -> None:
    data = run("ask", "where is apply_discount defined?", "--repo", str(shop_repo), "--json",
               "--no-model")
    assert set(data) == {"answer", "citations", "sources", "path", "model"}
    assert data["model"] == "none" and data["path"] == "fast"
    assert data["citations"][0] == {"path": "shop/pricing.py", "line": 8, "end_line": 13}
    slow = run("ask", "where is apply_discount defined?", "--repo", str(shop_repo), "--json",
               "--no-model", "--path", "slow")
    assert slow["path"] == "slow"
    result = runner.invoke(app, ["ask", "x", "--repo", str(shop_repo), "--path", "medium"])
    assert result.exit_code == 2 and "--path must be fast or slow" in result.stderr


def test_fix_without_a_terminal_stops_at_approval_then_resumes(
        calc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (calc / "README.md").write_text("unsaved\n")
    before = {p: p.read_bytes() for p in calc.rglob("*.py")} | {
        calc / "README.md": b"unsaved\n"}
    scripted(monkeypatch, "fix_mean.json")
    data = run("fix", "mean([2, 4]) returns 2.0 instead of 3", "--repo", str(calc),
               "--test-cmd", CHECK, "--json")
    assert data["status"] == "awaiting_approval" and data["outcome"] == "green"
    assert not data["applied"] and data["files"] == ["calc/stats.py"]
    assert data["usage"]["calls"] == 4 and data["usage"]["prompt_tokens"] > 0
    assert f"git merge {data['branch']}" in data["approval"]["instructions"]
    assert f"fathom resume {data['run_id']} --yes" in data["approval"]["instructions"]
    repo = git.Repo(calc)
    assert repo.commit(data["branch"]).hexsha == data["commit"]
    assert {p: p.read_bytes() for p in before} == before  # nothing of the user's touched
    again = run("resume", data["run_id"], "--repo", str(calc), "--json")
    assert again["status"] == "awaiting_approval"  # still nobody to ask
    done = run("resume", data["run_id"], "--repo", str(calc), "--json", "--yes")
    assert done["status"] == "done" and done["applied"]
    assert repo.head.commit.hexsha == data["commit"]
    assert (calc / "README.md").read_bytes() == b"unsaved\n"
    assert "sum(values) / len(values)" in (calc / "calc" / "stats.py").read_text()


def test_repair_that_fails_exits_1_with_a_report(calc: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, "repair_stuck.json")
    data = run("repair", "--test-cmd", CHECK, "--repo", str(calc), "--json", "--yes", code=1)
    assert data["status"] == "failed" and data["outcome"] == "no_progress"
    assert data["tests"]["ok"] is False
    assert "still failing: FAILED tests/test_stats.py::test_mean" in data["summary"]


def test_patch_commands_need_a_model_and_resume_needs_a_run(calc: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("FATHOM_BACKEND", "none")
    result = runner.invoke(app, ["fix", "do it", "--repo", str(calc)])
    assert result.exit_code == 2 and "needs a model" in result.stderr
    result = runner.invoke(app, ["resume", "fix-nope", "--repo", str(calc)])
    assert result.exit_code == 2 and "no run 'fix-nope'" in result.stderr


def test_review_json(shop_repo: Path) -> None:
    pricing = shop_repo / "shop" / "pricing.py"
    pricing.write_text(pricing.read_text() + "\n\ndef broken(:\n    pass\n")
    git.Repo(shop_repo).git.commit("-am", "broken")
    data = run("review", "--base", "HEAD~1", "--repo", str(shop_repo), "--json", "--no-model")
    assert data["base"] == "HEAD~1" and data["head"] == "HEAD" and data["model"] == "none"
    assert [f["evidence"]["kind"] for f in data["findings"]] == ["lint"]
    assert data["findings"][0]["path"] == "shop/pricing.py"


@pytest.mark.slow
def test_ask_end_to_end_with_the_bundled_smollm2(shop_repo: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATHOM_MAX_TOKENS", "12")
    data = run("ask", "What does apply_discount return?", "--repo", str(shop_repo), "--json",
               "--context-tokens", "800")
    assert set(data) == {"answer", "citations", "sources", "path", "model"}
    assert data["model"] == "smollm2-135m-instruct" and data["path"] == "fast"
    assert data["answer"].strip()
    for citation in data["citations"]:  # whatever it cites was checked against the files
        lines = (shop_repo / citation["path"]).read_text().splitlines()
        assert 1 <= citation["line"] <= len(lines)
