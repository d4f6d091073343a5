"""Fault localisation on real test runs: the seeded-bug corpus, formulas, errors, safety."""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from bench.tasks import Task, apply_fix, load_tasks, materialise
from tools.locate import (
    FORMULAS,
    LocateError,
    Suspect,
    dstar,
    locate,
    ochiai,
    suspiciousness,
    tarantula,
)

TASKS = load_tasks()
# Fathom's own pytest plugins (xdist, hypothesis, snapshots) are no part of the projects
# under test; not loading them makes each run several times faster.
FAST = ("PYTEST_DISABLE_PLUGIN_AUTOLOAD",)
PYTEST = [sys.executable, "-m", "pytest", "-q"]


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (directories map to None), with file contents."""
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_buggy_function_in_top_three_and_repository_untouched(task: Task, tmp_path: Path) -> None:
    root = tmp_path / task.id
    shutil.copytree(task.source, root)
    before = snapshot(root)
    suspects = locate(root, task.command(), allow_env=FAST)
    ranked = [(s.path, s.name) for s in suspects]
    assert (task.bug.path, task.bug.name) in ranked[:3], ranked[:5]
    assert snapshot(root) == before  # no .coverage, __pycache__, junit or cache left behind
    json.dumps([s.to_json() for s in suspects])
    assert all(not s.path.startswith("tests/") for s in suspects)
    assert [s.score for s in suspects] == sorted((s.score for s in suspects), reverse=True)


def test_other_formulas_rank_the_bug(tmp_path: Path) -> None:
    task = next(t for t in TASKS if t.id == "median-even")
    root = materialise(task, tmp_path / "repo")
    for formula in ("dstar", "tarantula"):
        top = locate(root, task.command(), formula=formula, limit=1, allow_env=FAST)
        assert [(s.path, s.name) for s in top] == [(task.bug.path, task.bug.name)]


CHAIN = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    "calc/__init__.py": "",
    "calc/ops.py": """\
def outer(x):
    return inner(x) + 1


def inner(x):
    return 10 // x


def unused():
    return 0
""",
    "tests/test_ops.py": """\
import pytest

from calc.ops import outer


class TestOuter:
    @pytest.mark.parametrize("x", [1, 2, 0])
    def test_outer(self, x):
        assert outer(x) > 0
""",
}


def test_traceback_breaks_ties_and_tests_are_not_suspects(tmp_path: Path) -> None:
    root = write(tmp_path, CHAIN)
    suspects = locate(root, PYTEST, allow_env=FAST)
    # outer and inner run in the same tests (equal scores); the exception is in inner.
    assert [s.name for s in suspects] == ["inner", "outer"]
    assert suspects[0] == Suspect("calc/ops.py", "inner", 5, 6, suspects[1].score)
    assert suspects[0].score == pytest.approx(1 / math.sqrt(3))


def test_nested_functions_take_their_own_lines(tmp_path: Path) -> None:
    files = {
        "pytest.ini": "[pytest]\npythonpath = .\n",
        "mod.py": "def outer(flag):\n    def inner():\n        return 1 / 0\n"
                  "    if flag:\n        return inner()\n    return 2\n",
        "tests/test_mod.py": "from mod import outer\n\n\ndef test_ok():\n    assert outer(False)"
                             "\n\n\ndef test_bad():\n    assert outer(True)\n",
    }
    suspects = locate(write(tmp_path, files), PYTEST, allow_env=FAST)
    assert [(s.name, s.line, s.end_line, s.score) for s in suspects] == [
        ("outer.inner", 2, 3, 1.0), ("outer", 1, 6, 1.0)]


def test_limit(tmp_path: Path) -> None:
    assert len(locate(write(tmp_path, CHAIN), PYTEST, limit=1, allow_env=FAST)) == 1


# Formulas: ef/ep = failing/passing tests that ran the line, failed/passed = totals.

def test_ochiai() -> None:
    assert ochiai(2, 2, 2, 3) == pytest.approx(2 / math.sqrt(2 * 4))
    assert ochiai(1, 0, 1, 9) == 1.0
    assert ochiai(0, 3, 1, 3) == 0.0
    assert ochiai(0, 0, 0, 5) == 0.0


def test_tarantula() -> None:
    assert tarantula(1, 1, 2, 4) == pytest.approx(0.5 / 0.75)
    assert tarantula(1, 3, 1, 0) == 1.0  # no passing test at all
    assert tarantula(0, 0, 1, 1) == 0.0


def test_dstar() -> None:
    assert dstar(2, 1, 2, 5) == 4.0
    assert dstar(1, 1, 2, 5) == 0.5
    assert dstar(2, 0, 2, 5) == 8.0  # only failing tests, all of them: above any other line
    assert dstar(2, 0, 2, 5) > dstar(2, 1, 2, 5)


@pytest.mark.parametrize("formula", sorted(FORMULAS))
def test_formulas_reward_failing_and_punish_passing_runs(formula: str) -> None:
    assert suspiciousness(formula, 2, 1, 3, 5) > suspiciousness(formula, 1, 1, 3, 5)
    assert suspiciousness(formula, 2, 1, 3, 5) > suspiciousness(formula, 2, 4, 3, 5)


def test_unknown_formula(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown formula 'sbfl'"):
        suspiciousness("sbfl", 1, 1, 1, 1)
    with pytest.raises(LocateError, match="unknown formula"):
        locate(tmp_path, PYTEST, formula="sbfl")


# Errors.

def test_not_a_pytest_command(tmp_path: Path) -> None:
    with pytest.raises(LocateError, match="needs a pytest command"):
        locate(tmp_path, "make test")
    with pytest.raises(LocateError, match="needs a pytest command"):
        locate(tmp_path, "")


def test_missing_repository(tmp_path: Path) -> None:
    with pytest.raises(LocateError, match="not a directory"):
        locate(tmp_path / "nope", PYTEST)


def test_nothing_to_localise_when_all_pass(tmp_path: Path) -> None:
    task = TASKS[0]
    root = materialise(task, tmp_path / "repo")
    apply_fix(task, root)
    with pytest.raises(LocateError, match="nothing to localise: all \\d+ tests passed"):
        locate(root, task.command(), allow_env=FAST)


def test_timeout(tmp_path: Path) -> None:
    root = write(tmp_path, {"tests/test_slow.py": "import time\n\n\ndef test_slow():\n"
                                                  "    time.sleep(60)\n"})
    with pytest.raises(LocateError, match="timed out after 1 s"):
        locate(root, PYTEST, timeout=1, allow_env=FAST)


def test_collection_error(tmp_path: Path) -> None:
    root = write(tmp_path, {"tests/test_broken.py": "import no_such_module\n"})
    with pytest.raises(LocateError, match="(?s)interrupted.*no_such_module"):
        locate(root, PYTEST, allow_env=FAST)


def test_no_tests_collected(tmp_path: Path) -> None:
    root = write(tmp_path, {"tests/test_empty.py": "X = 1\n"})
    with pytest.raises(LocateError, match="collected no tests"):
        locate(root, PYTEST, allow_env=FAST)


def test_coverage_missing_in_the_interpreter(tmp_path: Path) -> None:
    # An interpreter without site-packages: no coverage there, as in a bare project venv.
    python = tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    root = write(tmp_path / "repo", CHAIN)
    with pytest.raises(LocateError, match="coverage failed: .*coverage is not installed"):
        locate(root, [str(python), "-m", "pytest"], allow_env=FAST)


def test_credentials_are_not_passed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "secret")
    with pytest.raises(LocateError, match="refusing to pass credentials"):
        locate(write(tmp_path, CHAIN), PYTEST, allow_env=["GITHUB_TOKEN"])


def test_pytest_script_command(tmp_path: Path) -> None:
    pytest_script = Path(sys.executable).with_name("pytest")
    if not os.access(pytest_script, os.X_OK):
        pytest.skip("no pytest script next to the interpreter")
    suspects = locate(write(tmp_path, CHAIN), f"{pytest_script} -q", allow_env=FAST)
    assert suspects[0].name == "inner"
