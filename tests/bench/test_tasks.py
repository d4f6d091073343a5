"""The seeded-bug corpus: each bug fails its tests, each known fix makes them pass."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from unidiff import Hunk, PatchSet

from bench.tasks import Task, apply_fix, load_tasks, materialise
from tools.repo.parse import parse_source

TASKS = load_tasks()
# Plugins installed for Fathom's own tests (xdist, hypothesis, snapshots) are no part of
# the tasks' projects; not loading them makes each run about four times faster.
ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def _pytest(task: Task, root: Path) -> subprocess.CompletedProcess[str]:
    command = [*task.command(), "-x", "-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=root, env=ENV, capture_output=True, text=True,
                          timeout=120)


def _touched_lines(hunk: Hunk) -> list[int]:
    """Old-file lines a hunk removes, and for each added line the line it follows."""
    touched = []
    previous = hunk.source_start - 1
    for line in hunk:
        if line.source_line_no is not None:
            previous = line.source_line_no
        if line.is_removed or line.is_added:
            touched.append(previous)
    return touched


def test_corpus_size_and_ids() -> None:
    assert len(TASKS) >= 20
    assert len({task.id for task in TASKS}) == len(TASKS)


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_bug_fails_and_fix_passes(task: Task, tmp_path: Path) -> None:
    root = materialise(task, tmp_path / task.id)
    before = _pytest(task, root)
    assert before.returncode == 1, before.stdout[-3000:]
    assert any(test_id.split("::")[0] in before.stdout for test_id in task.failing_tests)
    apply_fix(task, root)
    after = _pytest(task, root)
    assert after.returncode == 0, after.stdout[-3000:]


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_fix_changes_only_the_buggy_function(task: Task) -> None:
    patch = PatchSet(task.fix)
    assert [f.path for f in patch] == [task.bug.path]
    source = (task.source / task.bug.path).read_bytes()
    spans = [(d.line, d.end_line) for d in parse_source(source, "python").definitions
             if (f"{d.scope}.{d.name}" if d.scope else d.name) == task.bug.name]
    assert len(spans) == 1, f"{task.bug.name} is not one function of {task.bug.path}"
    first, last = spans[0]
    touched = [n for hunk in patch[0] for n in _touched_lines(hunk)]
    assert touched and all(first <= n <= last for n in touched), (touched, first, last)
    assert task.description and task.failing_tests


def test_materialise_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        materialise(TASKS[0], tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_materialise_makes_one_clean_commit(tmp_path: Path) -> None:
    root = materialise(TASKS[0], tmp_path / "repo")
    log = subprocess.run(["git", "log", "--format=%s"], cwd=root, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                            text=True, check=True).stdout
    assert log == [f"{TASKS[0].id}: initial import"] and status == ""
