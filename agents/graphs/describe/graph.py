"""The `describe` graph: a pull request's title and description, from its change.

    collect → write

`collect` resolves `base..head` and reads the commit subjects, the files changed with
their line counts, and the diff. `write` makes one non-thinking call for a title and a
description, the diff cut to what the model's window holds; without a model (or when it
fails) the description is built from the commits and the files alone, and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents.graphs.base import RunContext, RunState, State
from agents.llm import ChatMessage, ChatModelError
from agents.prompts import describe as prompts
from tools.git import FileStat, commit_subjects, diff_stat, diff_text, resolve_commit

CHARS_PER_TOKEN = 3          # a safe floor for diffs: the cut never overfills the window
PROMPT_SHARE = 0.6           # of the model's window, at most, for the diff
TITLE_CHARS = 72
_TITLE = re.compile(r"^\s*(?:\*\*)?title(?:\*\*)?\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


class DescribeState(RunState, total=False):
    """The `describe` graph's state (JSON data only)."""

    repo: str
    base: str
    head: str
    base_sha: str
    head_sha: str
    commits: list[str]
    files: list[dict[str, Any]]
    diff: str
    title: str
    body: str
    model: str


@dataclass(frozen=True)
class DescribeResult:
    """A pull request's `title` and `body` (Markdown) for `base..head`, the commits and
    files it was written from, and the model that wrote it ("none": built from them)."""

    run_id: str
    base: str
    head: str
    title: str
    body: str
    model: str
    commits: list[str] = field(default_factory=list)
    files: list[FileStat] = field(default_factory=list)

    @classmethod
    def from_state(cls, run_id: str, state: State) -> DescribeResult:
        """The result of a finished `describe` run."""
        return cls(run_id, state.get("base_sha", state.get("base", "")),
                   state.get("head_sha", state.get("head", "")), state.get("title", ""),
                   state.get("body", ""), state.get("model", "none"),
                   list(state.get("commits", [])),
                   [FileStat(**f) for f in state.get("files", [])])

    def to_json(self) -> dict[str, Any]:
        """`{"run_id", "base", "head", "title", "body", "model", "commits", "files"}`."""
        return {"run_id": self.run_id, "base": self.base, "head": self.head,
                "title": self.title, "body": self.body, "model": self.model,
                "commits": self.commits,
                "files": [{"path": f.path, "added": f.added, "removed": f.removed}
                          for f in self.files]}


def _counts(stat: FileStat) -> str:
    """`+12 -3`, or `binary`."""
    return "binary" if stat.added is None else f"+{stat.added} -{stat.removed}"


def fallback_description(commits: list[str], files: list[FileStat],
                         reason: str) -> tuple[str, str]:
    """A title and body built from the commits and files alone (no model wrote them)."""
    title = commits[-1] if len(commits) == 1 else (
        commits[0] if commits else f"Change {len(files)} files")
    body = "\n".join([f"*Not written by a model ({reason}): the commits and files.*", "",
                      *[f"- {c}" for c in commits], "",
                      *[f"- `{f.path}` ({_counts(f)})" for f in files]]).strip()
    return title[:TITLE_CHARS], body


def parse_description(reply: str) -> tuple[str, str] | None:
    """The title and body of a model's reply (`Title: ...` then the body), or None when
    it holds no title."""
    match = _TITLE.search(reply)
    if match:
        title, body = match.group(1), reply[match.end():]
    else:
        lines = [line for line in reply.strip().splitlines()]
        if not lines or not lines[0].strip():
            return None
        title, body = lines[0], "\n".join(lines[1:])
    title = title.strip().strip("#*` ").strip()
    return (title[:TITLE_CHARS], body.strip()) if title else None


class DescribeNodes:
    """The nodes of the `describe` graph, bound to a run context."""

    def __init__(self, ctx: RunContext) -> None:
        """Bind to `ctx`."""
        self.ctx = ctx

    def collect(self, state: State) -> State:
        """Resolve the range and read its commits, file counts and diff."""
        repo, base, head = state["repo"], state["base"], state["head"]
        base_sha, head_sha = resolve_commit(repo, base), resolve_commit(repo, head)
        files = diff_stat(repo, base_sha, head_sha)
        return {"base_sha": base_sha, "head_sha": head_sha,
                "commits": commit_subjects(repo, base_sha, head_sha),
                "files": [{"path": f.path, "added": f.added, "removed": f.removed}
                          for f in files],
                "diff": diff_text(repo, base_sha, head_sha)}

    def write(self, state: State) -> State:
        """One call for the title and body; without a usable model, the fallback."""
        commits = state.get("commits", [])
        files = [FileStat(**f) for f in state.get("files", [])]
        if not files:
            return self._done(f"No changes between {state['base']} and {state['head']}",
                              "", "none")
        model = self.ctx.model
        if model is None:
            return self._done(*fallback_description(commits, files, "no model is configured"),
                              "none")
        diff = state.get("diff", "")
        room = max(0, int(model.context_window * PROMPT_SHARE * CHARS_PER_TOKEN))
        cut = prompts.DIFF_CUT.format(shown=room, total=len(diff)) if len(diff) > room else ""
        user = prompts.DESCRIBE_USER.format(
            commits="\n".join(f"- {c}" for c in commits) or "(none)",
            files="\n".join(f"- {f.path} ({_counts(f)})" for f in files), cut=cut,
            diff=diff[:room])
        try:
            result = self.ctx.chat("write", [ChatMessage.system(prompts.DESCRIBE_SYSTEM),
                                             ChatMessage.user(user)])
        except ChatModelError as err:
            self.ctx.error("write", str(err))
            return self._done(*fallback_description(commits, files, f"the model failed: {err}"),
                              "none")
        parsed = parse_description(result.content)
        if parsed is None:
            self.ctx.notice("write", "the model's reply held no title; built from the commits")
            return self._done(*fallback_description(commits, files, "the model gave no title"),
                              "none")
        return self._done(*parsed, result.model)

    @staticmethod
    def _done(title: str, body: str, model: str) -> State:
        return {"title": title, "body": body, "model": model, "status": "done",
                "summary": title}


def build(ctx: RunContext) -> StateGraph:
    """The `describe` graph for `ctx` (compile it with a checkpointer to run it)."""
    nodes = DescribeNodes(ctx)
    graph = StateGraph(DescribeState)
    for name in ("collect", "write"):
        graph.add_node(name, ctx.node(name, getattr(nodes, name)))
    graph.add_edge(START, "collect")
    graph.add_edge("collect", "write")
    graph.add_edge("write", END)
    return graph
