"""The `fix` graph on real git repositories, driven by scripted transcripts."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import git
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.backends.scripted import ScriptedBackend, Transcript
from agents.events import EventLog
from agents.graphs.base import Budgets, RunContext
from agents.graphs.fix.approval import ApprovalDecision
from agents.graphs.fix.graph import FixNodes
from agents.graphs.runner import resume_run, start_run
from agents.llm import ChatMessage, ChatResult, ToolSpec, UsageMeter
from agents.runs import RunStore
from agents.toolbox import ToolBox
from tests.conftest import FIXTURES, init_repo
from tools.git import SelectionError, check_selection

TRANSCRIPTS = FIXTURES / "transcripts"
TASK = "mean([2, 4]) returns 2.0 instead of 3: fix mean"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"
CHECK = f"{sys.executable} check.py"   # the fixture's own runner: same tests, no pytest start-up



def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the working tree outside .git and .fathom, by path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and not {".git", ".fathom"} & set(p.relative_to(root).parts)}


def fix_inputs(root: Path, command: str | None = CHECK) -> dict[str, Any]:
    return {"kind": "fix", "task": TASK, "repo": str(root), "test_command": command}


def test_fix_lands_a_tested_commit_and_leaves_dirty_files_alone(calc: Path) -> None:
    (calc / "README.md").write_text("my unsaved notes\n")
    (calc / "scratch.txt").write_text("untracked work\n")
    (calc / "calc" / "text.py").write_text('"""Text helpers, being edited."""\n')
    git.Repo(calc).git.add("calc/text.py")
    before = snapshot(calc)
    log = EventLog()
    outcome = start_run("fix", calc, fix_inputs(calc, PYTEST),
                        model=ScriptedBackend.from_file(TRANSCRIPTS / "fix_mean.json"),
                        emit=log, auto_approve=True)
    state = outcome.state
    assert outcome.status == "done" and state["outcome"] == "green", state["summary"]
    assert state["tests"]["ok"] and state["tests"]["passed"] == 3
    assert state["baseline"]["failing"] == 1
    assert state["baseline"]["failures"][0].startswith("tests/test_stats.py::test_mean")
    assert state["suspects"][0]["path"] == "calc/stats.py"
    assert state["suspects"][0]["name"] == "mean"
    repo = git.Repo(calc)
    commit = repo.commit(state["branch"])
    assert commit.hexsha == state["commit"] and commit.parents[0].hexsha == state["base"]
    assert commit.message.startswith("fathom fix: mean([2, 4])")
    assert state["files"] == ["calc/stats.py"]
    # Applied (--yes) by fast-forward: the fix is in, every dirty file is byte-identical.
    assert state["applied"] and repo.head.commit.hexsha == state["commit"]
    after = snapshot(calc)
    assert after.pop("calc/stats.py") != before.pop("calc/stats.py")
    assert after == before
    assert repo.git.diff("--cached", "--name-only") == "calc/text.py"
    assert not Path(state["worktree"]).exists()
    kinds = {e.kind for e in log}
    assert {"run_started", "step_started", "tool_call", "tokens", "test_result", "diff",
            "run_finished"} <= kinds
    with RunStore(calc) as store:
        record = store.get(outcome.run_id)
    assert record.status == "done" and record.calls == 4 and record.total_tokens > 0
    assert record.branch == state["branch"]


class CrashingToolBox(ToolBox):
    """Dies (like a kill) right after an edit lands, before its step is checkpointed."""

    def call(self, call: Any) -> Any:
        result = super().call(call)
        if call.name == "apply_edit":
            raise KeyboardInterrupt
        return result


def test_killed_run_resumes_from_its_checkpoint_with_the_same_result(
        calc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(calc, twin)
    clean = start_run("fix", twin, fix_inputs(twin), auto_approve=True,
                      model=ScriptedBackend.from_file(TRANSCRIPTS / "fix_mean.json"))
    monkeypatch.setattr("agents.graphs.fix.graph.ToolBox", CrashingToolBox)
    with pytest.raises(KeyboardInterrupt):
        start_run("fix", calc, fix_inputs(calc), auto_approve=True, run_id="fix-killed",
                  model=ScriptedBackend.from_file(TRANSCRIPTS / "fix_mean.json"))
    with RunStore(calc) as store:
        assert store.get("fix-killed").status == "interrupted"
    monkeypatch.undo()
    # A new process: a new graph instance, a new model holding the turns not yet taken.
    turns = json.loads((TRANSCRIPTS / "fix_mean.json").read_text())["turns"]
    rest = ScriptedBackend(Transcript.model_validate({"turns": turns[3:]}))
    resumed = resume_run(calc, "fix-killed", model=rest, auto_approve=True)
    assert resumed.status == "done" and resumed.state["outcome"] == "green"
    assert rest.remaining == 0
    assert resumed.state["diff"] == clean.state["diff"]
    trees = [git.Repo(r).commit(o.state["commit"]).tree.hexsha
             for r, o in ((calc, resumed), (twin, clean))]
    assert trees[0] == trees[1]
    assert len(list(git.Repo(calc).iter_commits(resumed.state["branch"]))) == 2  # squashed


class Garbage:
    """A model whose every turn is the same batch of tool calls."""

    name = "garbage"

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self.calls = calls
        self.meter = UsageMeter()

    def chat(self, messages: Any, tools: list[ToolSpec] | None = None,
             thinking: bool = False, stream: bool = False) -> ChatResult:
        return ChatResult.model_validate({"model": self.name, "tool_calls": self.calls})


def test_malformed_tool_calls_are_retried_a_bounded_number_of_times(calc: Path) -> None:
    calls = [{"name": "apply_edit", "arguments": {"format": "search_replace", "text": "x"}},
             {"name": "no_such_tool", "arguments": {}},
             {"name": "read_file", "error": "arguments are not valid JSON"}]
    before = snapshot(calc)
    outcome = start_run("fix", calc, fix_inputs(calc, None), model=Garbage(calls),  # type: ignore[arg-type]
                        budgets=Budgets(max_bad_calls=3), auto_approve=True)
    state = outcome.state
    assert outcome.status == "failed" and state["outcome"] == "tool_errors"
    assert state["bad_calls"] == 3 and state["commit"] is None
    tool_replies = [m for m in state["messages"] if m["role"] == "tool"]
    assert len(tool_replies) == 9 and all('"error"' in m["content"] for m in tool_replies)
    assert snapshot(calc) == before
    assert state["branch"] not in [h.name for h in git.Repo(calc).heads]  # nothing to keep


_ARGS = st.dictionaries(st.sampled_from(["path", "format", "text", "glob", "start", "end",
                                         "query", "name", "tokens", "focus", "command", "x"]),
                        st.one_of(st.none(), st.integers(-5, 10**6), st.text(max_size=40),
                                  st.lists(st.text(max_size=8), max_size=3)), max_size=4)
_CALL = st.fixed_dictionaries({
    "name": st.sampled_from(["read_file", "list_files", "search", "find_symbol", "apply_edit",
                             "git_diff", "repo_map", "nope", ""]),
    "arguments": _ARGS,
    "id": st.text(max_size=6),
    "error": st.one_of(st.none(), st.text(min_size=1, max_size=20)),
})


@pytest.fixture(scope="module")
def fuzz_tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("fuzz") / "calc"
    shutil.copytree(FIXTURES / "calc", root)
    repo = init_repo(root)
    base = repo.head.commit.hexsha
    repo.git.worktree("add", "-q", "-b", "fuzz", str(root.parent / "wt"), base)
    return {"worktree": str(root.parent / "wt"), "base": base}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(calls=st.lists(_CALL, min_size=1, max_size=10))
def test_fuzzed_tool_calls_never_crash_the_act_step(fuzz_tree: dict[str, Any],
                                                    calls: list[dict[str, Any]]) -> None:
    nodes = FixNodes(RunContext("fuzz", model=None, budgets=Budgets(max_calls_per_turn=6)))
    state = {"worktree": fuzz_tree["worktree"], "head": fuzz_tree["base"], "edited": [],
             "messages": [ChatMessage.user("go").model_dump(mode="json")],
             "pending": calls, "bad_calls": 0, "steps": 1, "test_command": None}
    update = nodes.act(state)
    replies = [m for m in update["messages"] if m["role"] == "tool"]
    assert len(replies) == len(calls) and update["pending"] == []
    assert update["head"] == fuzz_tree["base"] or update["edited"]


@pytest.mark.parametrize(("budgets", "reason"), [
    (Budgets(max_steps=6), "step budget reached (6 steps)"),
    (Budgets(max_tokens=10), "token budget reached"),
])
def test_budgets_stop_the_run_with_a_report(calc: Path, budgets: Budgets, reason: str) -> None:
    outcome = start_run("fix", calc, fix_inputs(calc), budgets=budgets, auto_approve=True,
                        model=ScriptedBackend.from_file(TRANSCRIPTS / "fix_mean.json"))
    assert outcome.status == "failed" and outcome.state["outcome"] == "budget"
    assert outcome.state["reason"].startswith(reason)
    assert outcome.state["summary"].startswith("a budget ran out: ")


def test_new_lint_errors_reports_only_what_the_edit_added(tmp_path: Path) -> None:
    from agents.graphs.checks import new_lint_errors
    from tests.conftest import init_repo

    (tmp_path / "mod.py").write_text("def f():\n    return undefined_before\n")
    repo = init_repo(tmp_path)
    base = repo.head.commit.hexsha
    (tmp_path / "mod.py").write_text(
        "def f():\n    return undefined_before\n\n\ndef g():\n    return tyop_name\n"
    )
    errors = new_lint_errors(tmp_path, base, ["mod.py"])
    assert errors == ["mod.py:6: F821 Undefined name `tyop_name`"]


def _awaiting_two_file_fix(calc: Path) -> dict[str, Any]:
    """A fix of mean that also rewords a docstring, stopped at its approval point."""
    outcome = start_run("fix", calc, fix_inputs(calc),
                        model=ScriptedBackend.from_file(TRANSCRIPTS / "fix_two_files.json"))
    assert outcome.status == "awaiting_approval", outcome.state.get("summary")
    assert outcome.state["files"] == ["calc/stats.py", "calc/text.py"]
    return {"run_id": outcome.run_id, **outcome.state}


def _commit_on(repo: git.Repo, base: str, files: dict[str, str], tmp: Path) -> str:
    """A commit on `base` whose files are those of `base` but for `files` (path: blob)."""
    env = {"GIT_INDEX_FILE": str(tmp / "index")}
    repo.git.read_tree(base, env=env)
    for path, blob in files.items():
        repo.git.update_index("--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = repo.git.write_tree(env=env)
    return str(repo.git.commit_tree(tree, "-p", base, "-m", "part of the fix"))


def test_approval_can_keep_part_of_the_change(calc: Path, tmp_path: Path) -> None:
    run = _awaiting_two_file_fix(calc)
    repo = git.Repo(calc)
    part = _commit_on(repo, run["base"], {"calc/stats.py": repo.git.rev_parse(
        f"{run['commit']}:calc/stats.py")}, tmp_path)
    log = EventLog()
    done = resume_run(calc, run["run_id"], model=None, emit=log,
                      approver=lambda request: ApprovalDecision(approved=True, commit=part))
    state = done.state
    assert done.status == "done" and state["applied"], state["summary"]
    assert state["commit"] == part and state["files"] == ["calc/stats.py"]
    assert repo.head.commit.hexsha == part == repo.commit(run["branch"]).hexsha
    assert "exclamation mark." in (calc / "calc/text.py").read_text()
    assert "kept the accepted part of the change: 2 of 4 changed lines" in done.record.summary
    assert f"fast-forwarded main to {part[:12]}" in done.record.summary
    assert [e.files for e in log.of("diff")] == [["calc/stats.py"]]


def test_approval_refuses_what_is_not_part_of_the_change(calc: Path, tmp_path: Path) -> None:
    run = _awaiting_two_file_fix(calc)
    repo = git.Repo(calc)
    base, proposed = run["base"], run["commit"]
    other = _commit_on(repo, base, {"README.md": repo.git.rev_parse(f"{base}:calc/text.py")},
                       tmp_path)
    with pytest.raises(SelectionError, match="changes README.md, which the run did not"):
        check_selection(calc, base, proposed, other)
    own = _commit_on(repo, base, {"calc/stats.py": repo.git.rev_parse(
        f"{base}:calc/text.py")}, tmp_path)
    with pytest.raises(SelectionError, match="changes calc/stats.py in ways the run did not"):
        check_selection(calc, base, proposed, own)
    orphan = str(repo.git.commit_tree(f"{proposed}^{{tree}}", "-m", "no parent"))
    with pytest.raises(SelectionError, match="does not descend from the run's base"):
        check_selection(calc, base, proposed, orphan)
    with pytest.raises(SelectionError, match="not a commit id"):
        check_selection(calc, base, proposed, "--output=/tmp/x")
    log = EventLog()
    done = resume_run(calc, run["run_id"], model=None, emit=log,
                      approver=lambda request: {"approved": True, "commit": other})
    assert done.status == "done" and not done.state["applied"]
    assert repo.head.commit.hexsha == base and repo.commit(run["branch"]).hexsha == proposed
    assert "nothing applied: the approval was refused" in done.record.summary
    assert "the approval was refused" in log.of("error")[0].message


def test_approval_that_keeps_nothing_removes_the_branch(calc: Path) -> None:
    run = _awaiting_two_file_fix(calc)
    done = resume_run(calc, run["run_id"], model=None,
                      approver=lambda request: {"approved": True, "commit": run["base"]})
    repo = git.Repo(calc)
    assert done.status == "done" and not done.state["applied"] and not done.state["commit"]
    assert run["branch"] not in [h.name for h in repo.heads]
    assert repo.head.commit.hexsha == run["base"]
    assert "nothing accepted (0 of 4 changed lines)" in done.record.summary
