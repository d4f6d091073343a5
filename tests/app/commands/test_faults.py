"""``fathom locate``: its JSON contract, human table and errors."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from app.commands import faults as locate_command
from bench.tasks import load_tasks

runner = CliRunner()
TASK = next(task for task in load_tasks() if task.id == "median-even")
FAST = ["--env", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(TASK.source, root)
    return root


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # passed with --env: faster runs
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a second command keeps `locate` a sub-command
    locate_command.register(app)
    return app


def test_json_contract(app: typer.Typer, project: Path) -> None:
    result = runner.invoke(app, ["locate", "--repo", str(project), "--test-cmd",
                                 shlex.join(TASK.command()), "--limit", "2", "--json", *FAST])
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)
    assert len(ranked) == 2
    assert set(ranked[0]) == {"path", "name", "line", "end_line", "score"}
    assert (ranked[0]["path"], ranked[0]["name"]) == (TASK.bug.path, TASK.bug.name)


def test_table_and_formula(app: typer.Typer, project: Path) -> None:
    result = runner.invoke(app, ["locate", "--repo", str(project), "--test-cmd",
                                 shlex.join(TASK.command()), "--formula", "dstar", *FAST])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[1].split()
    assert first[0] == "1" and first[2] == TASK.bug.name
    assert first[3].startswith(f"{TASK.bug.path}:")


def test_error_exit_code(app: typer.Typer, tmp_path: Path) -> None:
    result = runner.invoke(app, ["locate", "--repo", str(tmp_path), "--test-cmd", "make test"])
    assert result.exit_code == 2
    assert "needs a pytest command" in result.output


def test_unknown_formula_is_a_usage_error(app: typer.Typer) -> None:
    result = runner.invoke(app, ["locate", "--test-cmd", f"{sys.executable} -m pytest",
                                 "--formula", "sbfl"])
    assert result.exit_code == 2


def test_formula_choices_match_the_engine() -> None:
    from tools.locate import FORMULAS

    assert {formula.value for formula in locate_command.Formula} == set(FORMULAS)
