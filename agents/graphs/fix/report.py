"""What a `fix`/`repair` run reports: test runs as state data, outcomes, the summary."""

from __future__ import annotations

import re
from typing import Any

from agents.graphs.base import State
from tools.testing import TestRun

OUTPUT_TAIL = 3_000
_FAILURE_LINE = re.compile(r"(FAILED|ERROR|FAIL:|ERROR:)\s")
SUCCESS = ("green", "already_green")
OUTCOMES = {
    "green": "the change is done and checked",
    "already_green": "the tests already pass: nothing to repair",
    "no_changes": "the model stopped without changing anything",
    "budget": "a budget ran out",
    "no_progress": "stopped: the last rounds did not reduce the failing tests",
    "tool_errors": "stopped: the model's tool calls kept failing",
    "model_error": "the model failed",
    "checks_failed": "the edited files still do not parse",
    "tests_failing": "tests still fail after the last round",
}


def summarise_tests(run: TestRun) -> dict[str, Any]:
    """A test run as state data: outcome, counts, failures and the output's tail."""
    failing = (run.failed or 0) + (run.errors or 0)
    status = ("passed" if run.ok else "timed out" if run.timed_out
              else f"{failing} failing" if run.passed is not None
              else f"exit code {run.exit_code}")
    return {"ok": run.ok, "status": status, "passed": run.passed, "failed": run.failed,
            "errors": run.errors, "failing": failing if run.passed is not None or run.ok else 1,
            "failures": [f"{f.test_id}: {f.message}" for f in run.failures],
            "output": run.output[-OUTPUT_TAIL:]}


def tests_text(template: str, command: str, tests: dict[str, Any]) -> str:
    """A test run for the model: `template` filled with the command, status and failures."""
    failures = "\n".join(f"- {f}" for f in tests["failures"][:20])
    if not tests["ok"] and not failures:
        failures = tests["output"][-1500:]
    return template.format(command=command, status=tests["status"], failures=failures)


def summarise(state: State, outcome: str) -> str:
    """What the run did, in a few lines: outcome, branch and commit, tests, what is left."""
    lines = [OUTCOMES.get(outcome, outcome) + (f": {state['reason']}"
                                               if state.get("reason") else "")]
    if state.get("commit"):
        lines.append(f"branch {state['branch']}, commit {state['commit'][:12]}, "
                     f"{len(state.get('files', []))} files: {', '.join(state.get('files', []))}")
    tests = state.get("tests") or state.get("baseline")
    if tests:
        lines.append(f"tests: {tests['status']}")
        if not tests["ok"]:
            lines += [f"  still failing: {f}" for f in _still_failing(tests)]
    if state.get("selection"):
        lines.append(state["selection"])
    if state.get("apply_message"):
        lines.append(state["apply_message"])
    return "\n".join(lines)


def _still_failing(tests: dict[str, Any]) -> list[str]:
    """The failing tests by id, or else the output's failure lines (or its last lines)."""
    if tests["failures"]:
        return tests["failures"][:20]
    lines = tests["output"].splitlines()
    marked = [line for line in lines if _FAILURE_LINE.match(line)]
    return (marked or lines[-5:])[:20]
