"""Real test commands in tmp directories: pytest results, scrubbed env, timeouts, bounds."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tools.testing import TestCommandError, is_pytest, run_tests, scrubbed_env

PROJECT = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": """\
import pytest

from calc import add


def test_add():
    assert add(1, 2) == 3


def test_add_wrong():
    assert add(2, 2) == 5, "two and two"


class TestMore:
    def test_negative(self):
        assert add(-1, -1) == -2

    @pytest.mark.skip(reason="later")
    def test_later(self):
        pass


@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")


def test_uses_broken(broken):
    pass
""",
}


@pytest.fixture
def project(make_tree) -> Path:
    root = make_tree(PROJECT)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    return root


def test_pytest_results_from_junit(project: Path) -> None:
    run = run_tests([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project,
                    timeout=120)
    assert run.source == "junit" and run.exit_code == 1 and not run.ok
    assert (run.passed, run.failed, run.errors, run.skipped) == (2, 1, 1, 1)
    by_id = {f.test_id: f for f in run.failures}
    assert set(by_id) == {"tests/test_calc.py::test_add_wrong",
                          "tests/test_calc.py::test_uses_broken"}
    assert by_id["tests/test_calc.py::test_add_wrong"].kind == "failure"
    assert "two and two" in by_id["tests/test_calc.py::test_add_wrong"].message
    assert by_id["tests/test_calc.py::test_uses_broken"].kind == "error"
    assert "fixture exploded" in by_id["tests/test_calc.py::test_uses_broken"].message
    assert "1 failed" in run.output
    assert json.loads(json.dumps(run.to_json()))["ok"] is False


def test_other_commands_are_judged_by_exit_code(tmp_path: Path) -> None:
    run = run_tests("sh -c 'echo checking; exit 3'", tmp_path)
    assert (run.source, run.exit_code, run.ok, run.passed) == ("exit_code", 3, False, None)
    assert run.output == "checking\n"
    assert run_tests(["true"], tmp_path).ok


def test_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("SOME_SETTING", "kept")
    monkeypatch.setenv("OTHER_SETTING", "dropped")
    run = run_tests(["env"], tmp_path, allow_env=["SOME_SETTING"])
    env = dict(line.split("=", 1) for line in run.output.splitlines() if "=" in line)
    assert set(env) <= {"PATH", "HOME", "LANG", "TMPDIR", "SOME_SETTING"}
    assert env["SOME_SETTING"] == "kept" and "ghp_secret" not in run.output
    assert env["TMPDIR"] != os.environ.get("TMPDIR") and "fathom-tests-" in env["TMPDIR"]
    with pytest.raises(ValueError, match="GITHUB_TOKEN"):
        scrubbed_env(tmp_path, ["GITHUB_TOKEN"])


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status  # killed, waiting for init to reap it


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    script = "sleep 60 & echo $! > child.pid; echo started; sleep 60"
    started = time.monotonic()
    run = run_tests(["sh", "-c", script], tmp_path, timeout=1)
    assert run.timed_out and run.exit_code is None and not run.ok
    assert time.monotonic() - started < 10
    assert "started" in run.output
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)


def test_output_is_bounded_head_and_tail(tmp_path: Path) -> None:
    code = "print('HEAD' + 'x' * 200000 + 'TAIL')"
    run = run_tests([sys.executable, "-c", code], tmp_path, max_output=1000)
    assert run.output.startswith("HEAD") and run.output.rstrip().endswith("TAIL")
    assert run.output_omitted > 190_000 and "bytes of output omitted" in run.output
    assert len(run.output) < 1100


def test_commands_that_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(TestCommandError, match="empty"):
        run_tests("  ", tmp_path)
    with pytest.raises(TestCommandError, match="cannot run 'no-such-program-xyz'"):
        run_tests("no-such-program-xyz --flag", tmp_path)
    with pytest.raises(TestCommandError, match="No closing quotation"):
        run_tests("pytest -k 'unclosed", tmp_path)
    with pytest.raises(TestCommandError, match="not a directory"):
        run_tests("true", tmp_path / "missing")


@pytest.mark.parametrize(("argv", "expected"), [
    (["pytest", "-q"], True),
    ([".venv/bin/py.test"], True),
    (["python3.11", "-m", "pytest", "tests"], True),
    (["python", "-m", "unittest"], False),
    (["make", "test"], False),
    ([], False),
])
def test_is_pytest(argv: list[str], expected: bool) -> None:
    assert is_pytest(argv) is expected
