"""Runs: a scripted fix, its diff reviewed hunk by hunk, approval, resume in a new session."""

from __future__ import annotations

import sys
from pathlib import Path

import git
import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from agents.backends.scripted import ScriptedBackend, Transcript
from app.tui.app import FathomApp
from app.tui.screens.new_run import NewRunScreen
from app.tui.screens.runs import RunsScreen
from app.tui.services import FathomService
from app.tui.widgets.diff_view import DiffView, HunkView
from tests.app.tui.helpers import SIZE, FakeClock, settle
from tests.conftest import FIXTURES

pytestmark = pytest.mark.anyio
TASK = "mean([2, 4]) returns 2.0 instead of 3: fix mean"
CHECK = f"{sys.executable} check.py"
TRANSCRIPTS = FIXTURES / "transcripts"


def fixer() -> ScriptedBackend:
    """A model that plans, fixes `mean`, rewords a docstring elsewhere, and stops."""
    return ScriptedBackend.from_file(TRANSCRIPTS / "fix_two_files.json")



def _app(root: Path, model: ScriptedBackend | None = None) -> FathomApp:
    return FathomApp(FathomService(root, model=model or fixer(), context=8192,
                                   clock=FakeClock()))


async def _start_fix(pilot: Pilot[None]) -> RunsScreen:
    """Open Runs, fill in the fix form, start it and wait until it stops for approval."""
    await settle(pilot)
    await pilot.press("f5")
    await settle(pilot)
    await pilot.press("n")
    form = pilot.app.screen
    assert isinstance(form, NewRunScreen)
    form.query_one("#task", Input).value = TASK
    form.query_one("#test-command", Input).value = CHECK
    form.query_one("#test-command", Input).focus()
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RunsScreen)
    return screen


async def test_fix_keeps_only_the_accepted_hunk(calc: Path) -> None:
    app = _app(calc)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _start_fix(pilot)
        run = screen.selected
        assert run is not None and run.status == "awaiting_approval", run and run.summary
        labels = [e.label for e in run.timeline]
        assert {"setup", "baseline", "plan", "tool apply_edit", "tests", "diff"} <= set(labels)
        hunks = list(screen.query(HunkView))
        assert [h.key for h in hunks] == [("calc/stats.py", 0), ("calc/text.py", 0)]
        assert screen.query_one("#approval").display

        await pilot.click(hunks[1])  # reject the docstring change
        assert screen.query_one(DiffView).accepted() == {("calc/stats.py", 0)}
        await pilot.press("y")
        await settle(pilot)

        assert run.status == "done" and not screen.query_one("#approval").display
        repo = git.Repo(calc)
        branch = f"fathom/{run.id}"
        kept = repo.git.diff(f"{branch}^", branch, "--name-only").split()
        assert kept == ["calc/stats.py"]
        assert repo.head.commit.hexsha == repo.commit(branch).hexsha  # applied: fast-forward
        assert "return sum(values) / len(values)" in (calc / "calc/stats.py").read_text()
        assert "exclamation mark." in (calc / "calc/text.py").read_text()
        assert not repo.is_dirty(untracked_files=True)
        # The run itself kept the hunk and applied it, and its record says so.
        assert "kept the accepted part of the change: 2 of 4 changed lines" in run.summary
        assert "fast-forwarded main" in run.summary
        assert run.diff and [f.path for f in run.diff] == ["calc/stats.py"]
        recorded = {r.id: r for r in app.service.past_runs()}[run.id]
        assert recorded.status == "done" and "fast-forwarded main" in recorded.summary


async def test_a_waiting_run_resumes_in_a_new_session(calc: Path) -> None:
    async with _app(calc).run_test(size=SIZE) as pilot:
        first = await _start_fix(pilot)
        run_id = first.selected.id if first.selected else ""
    before = git.Repo(calc).head.commit.hexsha

    app = _app(calc, ScriptedBackend(Transcript(turns=())))  # the model is not needed again
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        past = app.runs.get(run_id)
        assert past is not None and past.status == "awaiting_approval"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert past.approval is not None and len(screen.query(HunkView)) == 2
        diff = screen.query_one(DiffView)
        diff.focus()
        await pilot.press("down", "space")  # keyboard: reject the first hunk…
        assert diff.accepted() == {("calc/text.py", 0)}
        await pilot.press("space")  # …and accept it again
        assert len(diff.accepted()) == 2
        await pilot.press("k")  # keep on the branch, apply nothing
        await settle(pilot)
        assert past.status == "done"
    repo = git.Repo(calc)
    assert repo.head.commit.hexsha == before
    changed = repo.git.diff(f"fathom/{run_id}^", f"fathom/{run_id}", "--name-only").split()
    assert changed == ["calc/stats.py", "calc/text.py"]


async def test_side_by_side_diff_keeps_per_hunk_decisions(calc: Path) -> None:
    async with _app(calc).run_test(size=(200, 40)) as pilot:
        screen = await _start_fix(pilot)
        run = screen.selected
        assert run is not None and run.status == "awaiting_approval"
        diff = screen.query_one(DiffView)
        hunks = list(screen.query(HunkView))
        assert not diff.side_by_side
        await pilot.press("s")
        await pilot.pause()
        assert diff.side_by_side and all(h.side_by_side for h in hunks)
        # The old line and the line it became share a row, each with its line number.
        rows = [strip.text for strip in hunks[0].render_lines(hunks[0].region.reset_offset)]
        changed = next(r for r in rows if "(len(values) + 1)" in r)
        old, new = changed.split(" │ ")
        assert old.split() == ["8", "-", "return", "sum(values)", "/", "(len(values)", "+", "1)"]
        assert new.split() == ["8", "+", "return", "sum(values)", "/", "len(values)"]
        assert len({r.index(" │ ") for r in rows[1:]}) == 1  # long lines wrap on their side

        await pilot.click(hunks[1])  # reject the docstring change, side by side
        assert diff.accepted() == {("calc/stats.py", 0)}
        await pilot.press("s")  # back to unified: the decision stays
        await pilot.pause()
        assert not diff.side_by_side and not hunks[1].side_by_side
        assert diff.accepted() == {("calc/stats.py", 0)}
        await pilot.press("s")
        await pilot.press("y")
        await settle(pilot)
        assert run.status == "done"
        repo = git.Repo(calc)
        kept = repo.git.diff(f"fathom/{run.id}^", f"fathom/{run.id}", "--name-only").split()
        assert kept == ["calc/stats.py"]

