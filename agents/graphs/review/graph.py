"""The `review` graph: a diff → findings with evidence → a self-check → the report.

    collect → review → self_check → report

`collect` resolves `base..head`, takes the diff (with new-side line numbers for the
model), lints the changed files at `head` (syntax, and ruff on added lines when it is
installed) and, given a test command, runs the tests at `head` in a throwaway worktree
with a scrubbed environment. `review` is one thinking call asking for findings as JSON,
each with evidence — a quoted line, a failing test or a lint hit — retried once when the
reply cannot be read. `self_check` drops every finding whose evidence does not hold
(`agents.graphs.review.evidence`), then asks the model which of the rest it can support; it
can only drop. Without a model the lint hits are the findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents.graphs import checks
from agents.graphs.base import RunContext, RunState, State
from agents.graphs.review import evidence as ev
from agents.llm import ChatMessage, ChatModelError
from agents.prompts import review as prompts
from tools.git import close_worktree, create_worktree, diff_text, repo_root, resolve_commit
from tools.testing import TestCommandError, run_tests

REVIEW_ATTEMPTS = 2


class ReviewState(RunState, total=False):
    """The `review` graph's state (JSON data only)."""

    repo: str
    base: str
    head: str
    base_sha: str
    head_sha: str
    test_command: str | None
    diff: str
    numbered: str
    changed: list[str]
    lint: list[dict[str, Any]]
    failing: list[str]
    findings: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    model: str


@dataclass(frozen=True)
class DroppedFinding:
    """A finding the self-check dropped, and why."""

    finding: ev.Finding
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The finding's JSON with its `reason`."""
        return {**ev.finding_json(self.finding), "reason": self.reason}


@dataclass(frozen=True)
class ReviewResult:
    """A finished review of `base..head`: the findings that hold (each with evidence),
    those the self-check dropped, the lint hits, the failing tests, a summary."""

    run_id: str
    base: str | None
    head: str | None
    model: str
    findings: list[ev.Finding] = field(default_factory=list)
    dropped: list[DroppedFinding] = field(default_factory=list)
    lint: list[checks.LintHit] = field(default_factory=list)
    failing_tests: list[str] = field(default_factory=list)
    summary: str = ""

    @classmethod
    def from_state(cls, run_id: str, state: State) -> ReviewResult:
        """The result of a finished `review` run."""
        return cls(run_id, state.get("base"), state.get("head"), state.get("model", "none"),
                   [ev.Finding.model_validate(f) for f in state.get("findings", [])],
                   [DroppedFinding(ev.Finding.model_validate(d), d["reason"])
                    for d in state.get("dropped", [])],
                   _hits(state), list(state.get("failing", [])), state.get("summary", ""))

    def to_json(self) -> dict[str, Any]:
        """The `fathom review --json` contract."""
        return {"run_id": self.run_id, "base": self.base, "head": self.head,
                "model": self.model, "findings": [ev.finding_json(f) for f in self.findings],
                "dropped": [d.to_json() for d in self.dropped],
                "lint": [checks.lint_json(h) for h in self.lint],
                "failing_tests": self.failing_tests, "summary": self.summary}


def _hits(state: State) -> list[checks.LintHit]:
    return [checks.LintHit(**h) for h in state.get("lint", [])]


def lint_findings(hits: list[checks.LintHit]) -> list[dict[str, Any]]:
    """Lint hits as findings (what a review without a model reports)."""
    return [ev.finding_json(ev.Finding(
        path=h.path, line=h.line, severity="error" if h.code in ("syntax", "F821") else "warning",
        message=f"{h.code}: {h.message}", evidence=ev.Evidence(kind="lint", text=h.describe())))
        for h in hits]


class ReviewNodes:
    """The nodes of the `review` graph, bound to a run context."""

    def __init__(self, ctx: RunContext) -> None:
        """Bind to `ctx`."""
        self.ctx = ctx

    def collect(self, state: State) -> State:
        """The diff, lint hits on it, and the tests failing at `head`."""
        repo = str(repo_root(state["repo"]))
        base, head = resolve_commit(repo, state["base"]), resolve_commit(repo, state["head"])
        diff = diff_text(repo, base, head)
        numbered, changed = ev.numbered_diff(diff)
        hits = checks.lint(repo, head, diff)
        failing = self._failing_tests(repo, head, state.get("test_command"))
        return {"base_sha": base, "head_sha": head, "diff": diff, "numbered": numbered,
                "changed": changed, "lint": [checks.lint_json(h) for h in hits],
                "failing": failing}

    def _failing_tests(self, repo: str, head: str, command: str | None) -> list[str]:
        """Failing test ids at `head`, run in a throwaway worktree (empty without a command)."""
        if not command:
            return []
        tree = create_worktree(repo, f"fathom/{self.ctx.run_id}", head)
        try:
            run = run_tests(command, tree.path, timeout=self.ctx.test_timeout)
        except TestCommandError as err:
            self.ctx.error("collect", str(err))
            return []
        finally:
            close_worktree(repo, tree.path, delete_branch=True)
        failing = [f.test_id for f in run.failures]
        if not run.ok and not failing:
            failing = [f"(the test command failed: exit code {run.exit_code})"]
        return failing

    def review(self, state: State) -> State:
        """Findings with evidence from one thinking call (lint hits without a model)."""
        if not state.get("diff"):
            return {"findings": [], "model": self.ctx.model_name}
        if self.ctx.model is None:
            return {"findings": lint_findings(_hits(state)), "model": "none"}
        lint = "\n".join(h.describe() for h in _hits(state)) or "(none)"
        messages = [ChatMessage.system(prompts.REVIEW_SYSTEM),
                    ChatMessage.user(prompts.REVIEW_USER.format(
                        base=state["base"], head=state["head"], diff=state["numbered"],
                        lint=lint, tests="\n".join(state.get("failing", [])) or "(none)"))]
        for _ in range(REVIEW_ATTEMPTS):
            try:
                result = self.ctx.chat("review", messages, thinking=True)
            except ChatModelError as err:
                self.ctx.error("review", str(err))
                return {"findings": lint_findings(_hits(state)), "model": "none"}
            try:
                findings = ev.parse_findings(result.content)
            except ValueError as err:
                messages += [result.message(),
                             ChatMessage.user(prompts.JSON_RETRY.format(error=err))]
                continue
            return {"findings": [ev.finding_json(f) for f in findings], "model": result.model}
        self.ctx.error("review", "the model's findings could not be read; lint hits only")
        return {"findings": lint_findings(_hits(state)), "model": self.ctx.model_name}

    def self_check(self, state: State) -> State:
        """Drop findings whose evidence does not hold, then those the model cannot support."""
        kept, dropped = [], []
        for data in state.get("findings", []):
            finding = ev.Finding.model_validate(data)
            reason = ev.check_evidence(state["repo"], state["head_sha"], finding,
                                       state.get("changed", []), state.get("failing", []),
                                       _hits(state))
            if reason is None:
                kept.append(data)
            else:
                dropped.append({**data, "reason": reason})
        if kept and self.ctx.model is not None and state.get("model", "none") != "none":
            kept, more = self._model_check(state, kept)
            dropped += more
        for item in dropped:
            self.ctx.notice("self_check", f"dropped {item['path']}:{item['line']}: "
                            f"{item['reason']}")
        return {"findings": kept, "dropped": dropped}

    def _model_check(self, state: State, findings: list[dict[str, Any]]
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Ask the model which findings it can support; it may only drop."""
        listing = "\n".join(
            f"{n}. {f['path']}:{f['line']} [{f['severity']}] {f['message']} — evidence "
            f"({f['evidence']['kind']}): {f['evidence']['text']}"
            for n, f in enumerate(findings, start=1))
        messages = [ChatMessage.system(prompts.SELF_CHECK_SYSTEM),
                    ChatMessage.user(prompts.SELF_CHECK_USER.format(diff=state["numbered"],
                                                                    findings=listing))]
        try:
            keep = ev.parse_keep(self.ctx.chat("self_check", messages, thinking=True).content,
                                 len(findings))
        except (ChatModelError, ValueError) as err:
            self.ctx.error("self_check", f"self-check skipped ({err}); evidence checks stand")
            return findings, []
        return ([f for n, f in enumerate(findings, start=1) if n in keep],
                [{**f, "reason": "the self-check could not support it"}
                 for n, f in enumerate(findings, start=1) if n not in keep])

    def report(self, state: State) -> State:
        """The outcome in a line."""
        findings, dropped = state.get("findings", []), state.get("dropped", [])
        if not state.get("diff"):
            summary = f"no changes between {state['base']} and {state['head']}"
        else:
            summary = (f"{len(findings)} findings on {len(state.get('changed', []))} files "
                       f"({len(dropped)} dropped by the self-check); "
                       f"{len(state.get('failing', []))} failing tests")
        return {"status": "done", "summary": summary}


def build(ctx: RunContext) -> StateGraph:
    """The `review` graph for `ctx` (compile it with a checkpointer to run it)."""
    nodes = ReviewNodes(ctx)
    graph = StateGraph(ReviewState)
    names = ("collect", "review", "self_check", "report")
    for name in names:
        graph.add_node(name, ctx.node(name, getattr(nodes, name)))
    graph.add_edge(START, names[0])
    for first, second in zip(names, names[1:], strict=False):
        graph.add_edge(first, second)
    graph.add_edge(names[-1], END)
    return graph
