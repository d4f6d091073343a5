"""The `repair` graph: failing tests to green, or a clear report of what still fails."""

from __future__ import annotations

import sys
from pathlib import Path

import git

from agents.backends.scripted import ScriptedBackend
from agents.events import EventLog
from agents.graphs.runner import start_run
from tests.conftest import FIXTURES

TRANSCRIPTS = FIXTURES / "transcripts"
CHECK = f"{sys.executable} check.py"  # the fixture's own runner: same tests, no pytest start-up



def repair(root: Path, command: str) -> dict[str, object]:
    return {"kind": "repair", "task": f"make the failing tests pass ({command})",
            "repo": str(root), "test_command": command}


def test_repair_turns_red_to_green_through_the_repair_loop(calc: Path) -> None:
    log = EventLog()
    model = ScriptedBackend.from_file(TRANSCRIPTS / "repair_mean.json")
    outcome = start_run("repair", calc, repair(calc, CHECK), model=model, emit=log,
                        auto_approve=True)
    state = outcome.state
    assert outcome.status == "done" and state["outcome"] == "green", state["summary"]
    assert model.remaining == 0
    assert [e.ok for e in log.of("test_result")] == [False, False, True]  # baseline, 2 rounds
    assert state["rounds"] == 1 and state["tests"]["status"] == "passed"
    repo = git.Repo(calc)
    assert repo.head.commit.hexsha == state["commit"]  # applied with --yes
    assert "sum(values) / len(values)" in (calc / "calc" / "stats.py").read_text()
    assert "tests: passed" in state["summary"]


def test_repair_reports_what_still_fails_when_no_progress_is_made(calc: Path) -> None:
    outcome = start_run("repair", calc, repair(calc, CHECK), auto_approve=True,
                        model=ScriptedBackend.from_file(TRANSCRIPTS / "repair_stuck.json"))
    state = outcome.state
    assert outcome.status == "failed" and state["outcome"] == "no_progress"
    assert "did not reduce the failing tests" in state["summary"]
    assert "FAILED tests/test_stats.py::test_mean" in state["tests"]["output"]
    repo = git.Repo(calc)
    kept = repo.commit(state["branch"])  # the attempt stays on its branch, marked
    assert kept.message.startswith("[incomplete] fathom repair")
    assert repo.head.commit.hexsha == state["base"] and not state.get("applied")
    assert "mean of an empty list" in (calc / "calc" / "stats.py").read_text()


def test_repair_of_green_tests_stops_at_the_baseline(calc: Path) -> None:
    (calc / "calc" / "stats.py").write_text(
        (calc / "calc" / "stats.py").read_text().replace("(len(values) + 1)", "len(values)"))
    git.Repo(calc).git.commit("-am", "fixed by hand")
    outcome = start_run("repair", calc, repair(calc, CHECK), auto_approve=True,
                        model=ScriptedBackend.from_file(TRANSCRIPTS / "repair_stuck.json"))
    assert outcome.status == "done" and outcome.state["outcome"] == "already_green"
    assert outcome.record.calls == 0
    assert outcome.state["branch"] not in [h.name for h in git.Repo(calc).heads]
