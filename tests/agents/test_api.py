"""The agents' front door: typed requests in, typed results and events out."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from agents import api
from agents.backends.scripted import ScriptedBackend, Transcript
from agents.events import EventLog
from agents.runs import runs_db_path
from app.cli import app
from tests.conftest import FIXTURES

TRANSCRIPTS = FIXTURES / "transcripts"
CHECK = f"{sys.executable} check.py"
TASK = "mean([2, 4]) returns 2.0 instead of 3: fix mean"



def _answers(*replies: str) -> ScriptedBackend:
    return ScriptedBackend(Transcript.model_validate({"model": "scripted", "turns": [
        {"expect": {"role": "user"}, "reply": {"content": r}} for r in replies]}))


def _awaiting(calc: Path) -> api.PatchResult:
    """A fix of mean that also rewords a docstring, stopped at its approval point."""
    result = api.fix(api.FixRequest(calc, TASK, CHECK),
                     model=ScriptedBackend.from_file(TRANSCRIPTS / "fix_two_files.json"))
    assert result.status == "awaiting_approval", result.summary
    return result


def test_ask_says_its_route_first_and_returns_a_typed_result(shop_repo: Path) -> None:
    log = EventLog()
    result = api.ask(api.AskRequest(shop_repo, "What does checkout do?"),
                     model=_answers("`checkout` [1] takes the order."), events=log)
    assert log.events[0].kind == "route" and log.events[0].path == "fast"
    assert log.events[1].kind == "run_started" and log.events[0].run_id == result.run_id
    assert result.status == "done" and result.route is not None
    assert result.route.graph == "ask" and result.sources and result.citations
    slow = api.ask(api.AskRequest(shop_repo, "Fix checkout for empty carts", path="slow"),
                   model=None)
    assert slow.path == "slow" and slow.route.graph == "fix" and slow.model == "none"


def test_an_approval_is_decided_by_hunks(calc: Path) -> None:
    waiting = _awaiting(calc)
    request = waiting.approval
    assert request is not None and request.files == ["calc/stats.py", "calc/text.py"]
    assert {f.path for f in request.hunks} == {"calc/stats.py", "calc/text.py"}
    keep = frozenset(h for h in request.everything() if h[0] == "calc/stats.py")
    done = api.decide(calc, waiting.run_id, api.Decision(apply=True, keep=keep), model=None)
    assert done.status == "done" and done.applied and done.files == ["calc/stats.py"]
    repo = git.Repo(calc)
    assert repo.head.commit.hexsha == done.commit != request.commit
    assert "exclamation mark." in (calc / "calc/text.py").read_text()  # the rejected hunk
    assert done.usage.calls > 0 and done.to_json()["usage"]["calls"] == done.usage.calls
    with pytest.raises(ValueError, match="not waiting for approval"):
        api.decide(calc, waiting.run_id, api.Decision(apply=True), model=None)


def test_keeping_every_hunk_applies_the_runs_own_commit(calc: Path) -> None:
    waiting = _awaiting(calc)
    assert waiting.approval is not None
    done = api.decide(calc, waiting.run_id,
                      api.Decision(apply=False, keep=waiting.approval.everything()),
                      model=None)
    assert done.status == "done" and not done.applied
    assert done.commit == waiting.approval.commit  # no new commit for "all of it"


def test_a_repair_and_the_runs_it_leaves(calc: Path) -> None:
    result = api.repair(api.RepairRequest(calc, CHECK),
                        model=ScriptedBackend.from_file(TRANSCRIPTS / "repair_mean.json"),
                        yes=True)
    assert result.kind == "repair" and result.status == "done" and result.applied
    assert result.tests is not None and "output" not in result.tests
    runs = api.past_runs(calc)
    assert [r.kind for r in runs] == ["repair"]
    assert runs[0].title == f"make the failing tests pass ({CHECK})"
    with pytest.raises(ValueError, match="needs the command"):
        api.repair(api.RepairRequest(calc, " "), model=_answers())


def test_describe_a_change_with_and_without_a_model(calc: Path) -> None:
    repo = git.Repo(calc)
    base = repo.head.commit.hexsha
    (calc / "calc" / "stats.py").write_text(
        (calc / "calc" / "stats.py").read_text().replace("len(values) + 1", "len(values)"))
    repo.git.commit("-am", "Fix mean's off-by-one")
    written = api.describe(api.DescribeRequest(calc, base), model=_answers(
        "Title: Fix the average of a list\n\nmean divided by one too many.\n\n"
        "- `calc/stats.py`: divide by len(values)"))
    assert written.title == "Fix the average of a list" and written.model == "scripted"
    assert written.body.startswith("mean divided by one too many.")
    assert written.commits == ["Fix mean's off-by-one"]
    assert [(f.path, f.added, f.removed) for f in written.files] == [("calc/stats.py", 1, 1)]
    small = _answers("Title: Fix mean")
    small.context_window = 40  # room for 72 characters of the diff
    assert api.describe(api.DescribeRequest(calc, base), model=small).title == "Fix mean"
    prompt = small.requests[0][-1].content
    assert "Diff (cut to fit: the first 72 of " in prompt
    plain = api.describe(api.DescribeRequest(calc, base), model=None)
    assert plain.title == "Fix mean's off-by-one" and plain.model == "none"
    assert "`calc/stats.py` (+1 -1)" in plain.body and "Not written by a model" in plain.body
    cli = CliRunner().invoke(app, ["describe", "--base", base, "--repo", str(calc), "--json",
                                   "--no-model"])
    assert cli.exit_code == 0, cli.stderr
    assert json.loads(cli.stdout)["title"] == "Fix mean's off-by-one"


def test_model_settings_come_from_the_repository_unless_a_file_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("FATHOM_")]:
        monkeypatch.delenv(name)
    (tmp_path / "fathom.toml").write_text('[model]\nbackend = "none"\n')
    assert api.model_settings(tmp_path).backend == "none"
    assert api.model_for(tmp_path) is None
    elsewhere = tmp_path / "other.toml"
    elsewhere.write_text('[model]\nbackend = "openai"\nmodel = "deepseek-flash"\n')
    monkeypatch.setenv("FATHOM_CONFIG_FILE", str(elsewhere))
    assert api.model_for(tmp_path).name == "deepseek-flash"
    (tmp_path / "bad.toml").write_text('[model]\nbackend = "telepathy"\n')
    monkeypatch.setenv("FATHOM_CONFIG_FILE", str(tmp_path / "bad.toml"))
    with pytest.raises(api.ChatModelError, match="model settings"):
        api.model_settings(tmp_path)


def test_checkpoints_hold_data_not_code_so_moved_modules_still_resume(calc: Path) -> None:
    """A run's checkpoints are JSON-like data: no module or class path of ours is stored,
    so runs checkpointed before a module moves resume after it."""
    waiting = _awaiting(calc)
    api.decide(calc, waiting.run_id, api.Decision(apply=False), model=None)
    with sqlite3.connect(runs_db_path(calc)) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        blobs = [value for table in tables for row in db.execute(f"SELECT * FROM {table}")
                 for value in row if isinstance(value, bytes | str)]
    assert any(b"calc/stats.py" in (b if isinstance(b, bytes) else b.encode()) for b in blobs)
    for package in (b"agents.", b"app.", b"tools.", b"model_runtime."):
        assert not [b for b in blobs
                    if package in (b if isinstance(b, bytes) else b.encode())], package
