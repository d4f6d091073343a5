"""The `fix` and `repair` graphs (Slow Path): a tested commit on a new branch.

    setup → baseline → plan → locate → think ⇄ act
                                         ↓
                                 check → test → (back to think with the failures)
                                         ↓
                                 commit → approve → apply → finish

`setup` opens a worktree on branch `fathom/<run id>`; `baseline` runs the tests before any
change (`repair` stops there when they already pass); `plan` is one thinking call;
`locate` ranks where to look without the model (`agents.graphs.fix.suspects`); `think` is one
model turn with the tools, `act` runs its tool calls through a `ToolBox` bound to the
worktree and snapshots what was edited; `check` parses the edited files; `test` runs the
tests and sends failures back — the repair loop — until they pass, a budget runs out,
or a round brings no fewer failures. `commit` squashes the work into one commit;
`approve` asks (a LangGraph interrupt) before `apply` fast-forwards the user's branch;
the answer may keep only part of the change (`agents.graphs.fix.approval`).
A `repair` run is this graph with `kind="repair"`: its task is the failing tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from agents.events import DiffReady, TestResult, ToolCalled
from agents.graphs.base import (
    RunContext,
    RunState,
    State,
    message_dicts,
    messages_of,
    over_budget,
)
from agents.graphs.checks import new_lint_errors, syntax_errors
from agents.graphs.fix import approval, suspects
from agents.graphs.fix.report import SUCCESS, summarise, summarise_tests, tests_text
from agents.llm import ChatMessage, ChatModelError, ToolCall
from agents.prompts import fix as prompts
from agents.runs import RunRecord, RunUsage
from agents.toolbox import ToolBox
from tools.git import (
    GitError,
    apply_to_branch,
    changed_files,
    close_worktree,
    diff_text,
    open_worktree,
    restore,
    snapshot,
    squash,
)
from tools.repo.index import RepoIndex
from tools.repo.rank import RankQuery, rank
from tools.repo.repomap import render_map
from tools.testing import TestCommandError, run_tests

MAP_TOKENS = 1_024
REPAIR_TASK = "make the failing tests pass ({command})"


class FixState(RunState, total=False):
    """The `fix`/`repair` graph's state (JSON data only)."""

    kind: str
    task: str
    repo: str
    test_command: str | None
    branch: str
    worktree: str
    base: str
    head: str
    baseline: dict[str, Any] | None
    plan: str
    suspects: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    pending: list[dict[str, Any]]
    edited: list[str]
    rounds: int
    bad_calls: int
    stalls: int
    best_failing: int | None
    check_errors: list[str]
    tests: dict[str, Any] | None
    outcome: str
    reason: str
    commit: str | None
    diff: str
    files: list[str]
    approved: bool
    selection: str
    applied: bool
    apply_message: str


class FixNodes:
    """The nodes of the `fix`/`repair` graph, bound to a run context."""

    def __init__(self, ctx: RunContext) -> None:
        """Bind to `ctx`."""
        self.ctx = ctx

    def _run_tests(self, state: State, step: str) -> dict[str, Any]:
        try:
            run = run_tests(state["test_command"], state["worktree"],
                            timeout=self.ctx.test_timeout)
        except TestCommandError as err:
            self.ctx.error(step, str(err))
            return {"ok": False, "status": f"cannot run: {err}", "passed": None, "failed": None,
                    "errors": None, "failing": 1, "failures": [], "output": str(err)}
        summary = summarise_tests(run)
        self.ctx.emit(TestResult(run_id=self.ctx.run_id, step=step, ok=run.ok,
                                 passed=run.passed, failed=run.failed, errors=run.errors,
                                 failures=summary["failures"]))
        return summary

    def setup(self, state: State) -> State:
        """A worktree on a new branch at the user's HEAD."""
        branch = f"fathom/{self.ctx.run_id}"
        worktree, base = open_worktree(state["repo"], branch)
        return {"branch": branch, "worktree": worktree, "base": base, "head": base,
                "edited": [], "messages": [], "pending": [], "rounds": 0, "bad_calls": 0,
                "stalls": 0, "commit": None, "outcome": "", "tests": None}

    def baseline(self, state: State) -> State:
        """The tests before any change."""
        if not state.get("test_command"):
            return {"baseline": None, "best_failing": None}
        tests = self._run_tests(state, "baseline")
        update: State = {"baseline": tests, "best_failing": tests["failing"]}
        if state["kind"] == "repair" and tests["ok"]:
            update["outcome"] = "already_green"
        return update

    def plan(self, state: State) -> State:
        """One thinking call: what to change, where, and how the tests will show it."""
        task = (prompts.REPAIR_PLAN_TASK.format(command=state["test_command"])
                if state["kind"] == "repair" else state["task"])
        messages = [ChatMessage.system(prompts.PLAN_SYSTEM),
                    ChatMessage.user(prompts.PLAN_USER.format(
                        task=task, repo_map=_repo_map(state["worktree"], task),
                        tests=self._tests_before(state)))]
        try:
            result = self.ctx.chat("plan", messages, thinking=True)
        except ChatModelError as err:
            self.ctx.error("plan", str(err))
            return {"outcome": "model_error", "reason": str(err)}
        return {"plan": result.content.strip()}

    def _tests_before(self, state: State) -> str:
        baseline = state.get("baseline")
        if not baseline:
            return prompts.NO_TESTS
        return tests_text(prompts.TESTS_BEFORE, state["test_command"], baseline)

    def locate(self, state: State) -> State:
        """Where to look: coverage, tracebacks, symbols and search (no model)."""
        baseline = state.get("baseline") or {}
        leads = suspects.gather(
            state["worktree"], state["task"], state.get("test_command"),
            baseline.get("output", ""), failing=bool(baseline) and not baseline.get("ok"),
            timeout=self.ctx.test_timeout, note=lambda m: self.ctx.notice("locate", m))
        return {"suspects": leads}

    def think(self, state: State) -> State:
        """One model turn with the tools (the first builds the conversation)."""
        messages = state.get("messages") or self._opening(state)
        spent = over_budget(state, self.ctx.budgets)
        if spent:
            return {"outcome": "budget", "reason": spent, "messages": messages, "pending": []}
        box = ToolBox(state["worktree"], test_command=state.get("test_command"))
        try:
            result = self.ctx.chat("think", messages_of(messages), box.specs(), thinking=True)
        except ChatModelError as err:
            self.ctx.error("think", str(err))
            return {"outcome": "model_error", "reason": str(err), "messages": messages,
                    "pending": []}
        return {"messages": [*messages, *message_dicts([result.message()])],
                "pending": [c.model_dump(mode="json") for c in result.tool_calls]}

    def _opening(self, state: State) -> list[dict[str, Any]]:
        template = prompts.TASK_REPAIR if state["kind"] == "repair" else prompts.TASK_FIX
        task = template.format(task=state["task"], plan=state.get("plan", ""),
                               suspects=suspects.describe(state.get("suspects", []))
                               or prompts.NOTHING_LOCATED,
                               tests=self._tests_before(state))
        return message_dicts([ChatMessage.system(prompts.EDIT_SYSTEM), ChatMessage.user(task)])

    def act(self, state: State) -> State:
        """Run the turn's tool calls in the worktree; snapshot what they edited."""
        budgets = self.ctx.budgets
        restore(state["worktree"], state["head"])
        box = ToolBox(state["worktree"], test_command=state.get("test_command"),
                      test_timeout=self.ctx.test_timeout)
        messages, edited, failed = list(state["messages"]), list(state["edited"]), 0
        for n, data in enumerate(state["pending"]):
            call = ToolCall.model_validate(data)
            if n >= budgets.max_calls_per_turn:
                failed += 1
                refusal = {"error": {"type": "too_many_calls", "message": "only "
                           f"{budgets.max_calls_per_turn} tool calls run per turn"}}
                messages += message_dicts([ChatMessage.tool(call.id, json.dumps(refusal))])
                continue
            result = box.call(call)
            failed += not result.ok
            self.ctx.emit(ToolCalled(run_id=self.ctx.run_id, step="act", name=call.name,
                                     arguments=call.arguments, ok=result.ok,
                                     result=result.content[:2000]))
            if result.ok and call.name == "apply_edit":
                done = json.loads(result.content)
                edited += [p for p in done["changed"] + done["created"] if p not in edited]
            messages += message_dicts([result.message()])
        bad = state["bad_calls"] + 1 if failed == len(state["pending"]) else 0
        head = snapshot(state["worktree"], edited, f"fathom: step {state['steps']}")
        update: State = {"messages": messages, "edited": edited, "pending": [],
                         "bad_calls": bad, "head": head}
        if bad >= budgets.max_bad_calls:
            update |= {"outcome": "tool_errors",
                       "reason": f"{bad} turns in a row whose tool calls all failed"}
        return update

    def check(self, state: State) -> State:
        """Parse and lint the edited files; errors go back to the model."""
        errors = syntax_errors(state["worktree"], state["edited"])
        if not errors:
            errors = new_lint_errors(state["worktree"], state["base"], state["edited"])
        if not errors:
            return {"check_errors": [],
                    "outcome": "" if state.get("test_command") else "green"}
        if state["rounds"] >= self.ctx.budgets.max_rounds:
            return {"check_errors": errors, "outcome": "checks_failed",
                    "reason": "; ".join(errors)}
        note = prompts.CHECK_FAILED.format(errors="\n".join(f"- {e}" for e in errors))
        return {"check_errors": errors, "rounds": state["rounds"] + 1,
                "messages": state["messages"] + message_dicts([ChatMessage.user(note)])}

    def test(self, state: State) -> State:
        """Run the tests; failures go back to the model while rounds and progress last."""
        tests = self._run_tests(state, "test")
        if tests["ok"]:
            return {"tests": tests, "outcome": "green"}
        best = state.get("best_failing")
        improved = best is None or tests["failing"] < best
        stalls = 0 if improved else state["stalls"] + 1
        update: State = {"tests": tests, "stalls": stalls,
                         "best_failing": tests["failing"] if improved else best}
        if stalls >= self.ctx.budgets.stall_rounds:
            return update | {"outcome": "no_progress", "reason": tests["status"]}
        if state["rounds"] >= self.ctx.budgets.max_rounds:
            return update | {"outcome": "tests_failing", "reason": tests["status"]}
        note = tests_text(prompts.TESTS_FAILED, state["test_command"], tests)
        return update | {"rounds": state["rounds"] + 1,
                         "messages": state["messages"] + message_dicts([ChatMessage.user(note)])}

    def commit(self, state: State) -> State:
        """Squash the work into one commit on the branch (marked incomplete unless green)."""
        outcome = state.get("outcome") or "no_changes"
        title = state["task"].strip().splitlines()[0][:72] if state["task"].strip() else ""
        prefix = "" if outcome == "green" else "[incomplete] "
        body = _last_words(state.get("messages", []))
        message = f"{prefix}fathom {state['kind']}: {title}\n\n{body}".strip() + "\n"
        restore(state["worktree"], state["head"])
        commit = squash(state["worktree"], state["base"], message)
        if commit is None:
            return {"commit": None, "diff": "", "files": [], "outcome": outcome}
        diff = diff_text(state["worktree"], state["base"], commit)
        files = changed_files(state["worktree"], state["base"], commit)
        self.ctx.emit(DiffReady(run_id=self.ctx.run_id, step="commit", diff=diff, files=files))
        return {"commit": commit, "head": commit, "diff": diff, "files": files,
                "outcome": outcome}

    def approve(self, state: State) -> State:
        """Ask before touching the user's branch (`--yes` answers for the user).

        The answer may keep only part of the change (`agents.graphs.fix.approval`): the
        branch then moves to that part, and that part is what `apply` applies.
        """
        if self.ctx.auto_approve:
            return {"approved": True}
        branch = state["branch"]
        answer = interrupt({
            "branch": branch, "commit": state["commit"], "files": state["files"],
            "question": f"Apply {branch} ({len(state['files'])} files changed) to your branch?",
            "instructions": f"The change is committed on branch {branch}. Apply it with "
                            f"`git merge {branch}`, or run `fathom resume {self.ctx.run_id} "
                            "--yes`.",
        })
        return approval.decide(self.ctx, state, answer)

    def apply(self, state: State) -> State:
        """Fast-forward the user's branch to the commit, when approved and safe."""
        if not state.get("approved"):
            merge = f"not applied; merge it with `git merge {state['branch']}`"
            return {"applied": False, "apply_message": merge if state.get("commit") else ""}
        try:
            applied, message = apply_to_branch(state["repo"], state["commit"])
        except GitError as err:
            self.ctx.error("apply", str(err))
            applied, message = False, f"could not fast-forward your branch: {err}"
        if not applied:
            message += f" (`git merge {state['branch']}`)"
        return {"applied": applied, "apply_message": message}

    def finish(self, state: State) -> State:
        """Remove the worktree (the branch stays if it holds a commit) and summarise."""
        if state.get("worktree"):
            close_worktree(state["repo"], state["worktree"],
                                     delete_branch=not state.get("commit"))
        outcome = state.get("outcome") or "no_changes"
        return {"status": "done" if outcome in SUCCESS else "failed",
                "summary": summarise(state, outcome)}


@dataclass(frozen=True)
class PatchResult:
    """Where a `fix` or `repair` run stands: its status (done, failed, awaiting_approval,
    interrupted) and outcome (green, ...), its branch and commit, the files changed,
    whether the change was applied to the user's branch, the last test run (without its
    output), a summary, the approval it waits for, and what its model calls used."""

    run_id: str
    kind: str
    status: str
    outcome: str | None
    branch: str | None
    commit: str | None
    files: list[str]
    applied: bool
    tests: dict[str, Any] | None
    summary: str
    approval: approval.ApprovalRequest | None
    usage: RunUsage

    @classmethod
    def of(cls, run_id: str, kind: str, status: str, state: State, record: RunRecord,
           request: approval.ApprovalRequest | None) -> PatchResult:
        """The result of a run's state and record (and pending approval request)."""
        tests = state.get("tests") or state.get("baseline")
        return cls(run_id, kind, status, state.get("outcome") or None, state.get("branch"),
                   state.get("commit"), list(state.get("files", [])),
                   bool(state.get("applied")),
                   {k: v for k, v in tests.items() if k != "output"} if tests else None,
                   state.get("summary") or record.summary, request, RunUsage.of(record))

    def to_json(self) -> dict[str, Any]:
        """The `fathom fix|repair|resume --json` contract."""
        return {"run_id": self.run_id, "kind": self.kind, "status": self.status,
                "outcome": self.outcome, "branch": self.branch, "commit": self.commit,
                "files": self.files, "applied": self.applied, "tests": self.tests,
                "summary": self.summary,
                "approval": self.approval.to_json() if self.approval else None,
                "usage": self.usage.to_json()}


def _repo_map(root: str, task: str) -> str:
    """The repository map centred on the task, within MAP_TOKENS."""
    index = RepoIndex(root)
    index.update()
    conn = index.connect()
    try:
        ranking = rank(conn, RankQuery(text=task))
    finally:
        conn.close()
    return render_map(ranking, MAP_TOKENS).text or "(no definitions)"


def _last_words(messages: list[dict[str, Any]]) -> str:
    """The model's last reply without tool calls (its summary of the change), if any."""
    for data in reversed(messages):
        if data["role"] == "assistant" and data["content"].strip() and not data["tool_calls"]:
            return str(data["content"]).strip()
    return ""


def _after_baseline(state: State) -> str:
    return "finish" if state.get("outcome") else "plan"


def _after_plan(state: State) -> str:
    return "commit" if state.get("outcome") else "locate"


def _after_think(state: State) -> str:
    if state.get("outcome"):
        return "commit"
    if state.get("pending"):
        return "act"
    return "check" if state.get("edited") else "commit"


def _after_act(state: State) -> str:
    return "commit" if state.get("outcome") else "think"


def _after_check(state: State) -> str:
    if state.get("outcome"):
        return "commit"
    return "think" if state.get("check_errors") else "test"


def _after_test(state: State) -> str:
    return "commit" if state.get("outcome") else "think"


def _after_commit(state: State) -> str:
    return "approve" if state.get("outcome") == "green" and state.get("commit") else "finish"


def build(ctx: RunContext) -> StateGraph:
    """The `fix`/`repair` graph for `ctx` (compile it with a checkpointer to run it)."""
    nodes = FixNodes(ctx)
    graph = StateGraph(FixState)
    names = ("setup", "baseline", "plan", "locate", "think", "act", "check", "test", "commit",
             "approve", "apply", "finish")
    for name in names:
        graph.add_node(name, ctx.node(name, getattr(nodes, name)))
    graph.add_edge(START, "setup")
    graph.add_edge("setup", "baseline")
    graph.add_conditional_edges("baseline", _after_baseline, ["plan", "finish"])
    graph.add_conditional_edges("plan", _after_plan, ["locate", "commit"])
    graph.add_edge("locate", "think")
    graph.add_conditional_edges("think", _after_think, ["act", "check", "commit"])
    graph.add_conditional_edges("act", _after_act, ["think", "commit"])
    graph.add_conditional_edges("check", _after_check, ["think", "test", "commit"])
    graph.add_conditional_edges("test", _after_test, ["think", "commit"])
    graph.add_conditional_edges("commit", _after_commit, ["approve", "finish"])
    graph.add_edge("approve", "apply")
    graph.add_edge("apply", "finish")
    graph.add_edge("finish", END)
    return graph
