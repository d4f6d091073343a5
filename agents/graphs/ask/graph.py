"""The `ask` graph (Fast Path): retrieve → answer → verify.

`retrieve` ranks and packs the repository for the question: the whole repository when
it fits the model's context (a V4 model's 1M tokens); else the question decides: the
definitions it names and the best-matching spans get the room first, then the relevant
files whole and the others' outlines (`agents.graphs.ask.context`). The spans are numbered
and have numbered lines, which is what citations point at; they are the answer's
sources, shown with it whatever the model says. It reports how indexing and packing
go (`Progress`) and what the model will see (`ContextPacked`, the pack's manifest). The
pack goes into the system message, the same for every question and every follow-up, so
a model's cached KV prefix survives; the earlier turns of the conversation follow, then
the spans and the question. `answer` makes one streamed call (non-thinking on the Fast
Path, thinking when routed to the Slow Path): each piece is emitted as it comes
(`AnswerDelta`, `ReasoningDelta`), and before them the model's reading of the prompt
when its backend reports it (`Progress`).
`verify` writes span numbers the model cited (`[2]`) out as `path:line`, keeps the
citations that hold against the files and marks the rest. With no model, or a model
that fails, the answer is the ranked spans themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents.citations import (
    CheckedCitation,
    Citation,
    mark_dropped,
    render_span_numbers,
    verify_citations,
)
from agents.events import ContextPacked, PackManifest
from agents.graphs.ask.context import Source, build_context, prompt_budget
from agents.graphs.base import RunContext, RunState, State
from agents.llm import DEFAULT_CONTEXT_WINDOW, ChatMessage, ChatModel, ChatModelError
from agents.prompts.ask import ASK_SYSTEM, ASK_USER, NO_MODEL_ANSWER, REPOSITORY_SECTION
from agents.router import Route
from tools.repo.index import IndexStats
from tools.repo.tokens import count_tokens

DEFAULT_ANSWER_TOKENS = 1_024  # reserved for the answer when the model does not say
MAX_HISTORY_TURNS = 3          # earlier questions and answers sent along, at most
HISTORY_SHARE = 0.25           # of the model's context, at most, for earlier turns


class AskState(RunState, total=False):
    """The `ask` graph's state (JSON data only).

    Inputs: `question`, `repo`, `path` (fast or slow), optionally `context_tokens` (the
    window to fill) and `history` (earlier turns, `{"question", "answer"}`, oldest first).
    """

    question: str
    repo: str
    path: str
    context_tokens: int | None
    history: list[dict[str, str]]
    pack: str
    spans_text: str
    spans: list[dict[str, Any]]
    packed: dict[str, Any]
    index: dict[str, Any]
    reply: str
    written: str
    answer: str
    model: str
    warnings: list[str]
    citations: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    error: str | None


@dataclass(frozen=True)
class AskResult:
    """An answer, its verified citations, its sources, what was dropped, and what the
    model saw.

    `sources` are the spans the model read, best first (number i in the prompt is
    `sources[i - 1]`), whatever the model made of them. `written` is the model's text
    exactly as it streamed; `reply` is that text with cited span numbers written out as
    `path:line`, before dropped citations were marked in `answer`; `error` says why no
    model answered when one was configured. `run_id`, `status` (done, or interrupted
    when cancelled mid-answer) and `route` (why this path) are the run's.
    """

    answer: str
    citations: list[Citation]
    path: str
    model: str
    dropped: list[CheckedCitation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    reply: str = ""
    written: str = ""
    manifest: PackManifest | None = None
    index: IndexStats | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    run_id: str = ""
    status: str = "done"
    route: Route | None = None

    def to_json(self) -> dict[str, Any]:
        """The `fathom ask --json` contract: answer, citations, sources, path, model."""
        return {"answer": self.answer, "citations": [c.to_json() for c in self.citations],
                "sources": [s.to_json() for s in self.sources],
                "path": self.path, "model": self.model}

    @classmethod
    def from_state(cls, state: State) -> AskResult:
        """The result of a finished `ask` run (also one checkpointed before sources were
        kept by name: its spans carried a score instead)."""
        packed, index = state.get("packed"), state.get("index")
        reply = state.get("reply", "")
        return cls(state.get("answer", ""),
                   [Citation(**c) for c in state.get("citations", [])],
                   state.get("path", "fast"), state.get("model", "none"),
                   [CheckedCitation.from_json(d) for d in state.get("dropped", [])],
                   [Source(s["path"], s["line"], s["end_line"], s.get("name"))
                    for s in state.get("spans", [])],
                   reply, state.get("written", reply),
                   PackManifest.model_validate(packed) if packed else None,
                   IndexStats(**index) if index else None,
                   state.get("warnings", []), state.get("error"))


def answer_tokens(model: ChatModel | None) -> int:
    """Tokens the model may generate per reply, as configured, or the default."""
    for name in ("max_new_tokens", "max_tokens"):
        value = getattr(model, name, None)
        if isinstance(value, int):
            return value
    return DEFAULT_ANSWER_TOKENS


def recent_turns(history: list[dict[str, str]], limit: int) -> tuple[list[dict[str, str]], int]:
    """The last turns of `history` (at most MAX_HISTORY_TURNS, within `limit` tokens) and
    their tokens."""
    kept: list[dict[str, str]] = []
    used = 0
    for turn in reversed(history[-MAX_HISTORY_TURNS:]):
        cost = count_tokens(turn["question"]) + count_tokens(turn["answer"])
        if used + cost > limit:
            break
        kept.insert(0, {"question": turn["question"], "answer": turn["answer"]})
        used += cost
    return kept, used


def _fallback(spans: list[dict[str, Any]], reason: str, error: str | None) -> State:
    """The answer without a model: the ranked spans, which are their own citations."""
    listing = "\n".join(f"- {s['path']}:{s['line']}-{s['end_line']} {s['name'] or ''}".rstrip()
                        for s in spans) or "(nothing matched)"
    answer = NO_MODEL_ANSWER.format(reason=reason, spans=listing)
    return {"answer": answer, "reply": answer, "model": "none", "warnings": [],
            "citations": [{"path": s["path"], "line": s["line"], "end_line": s["end_line"]}
                          for s in spans], "error": error}


class AskNodes:
    """The nodes of the `ask` graph, bound to a run context."""

    def __init__(self, ctx: RunContext) -> None:
        """Bind to `ctx`."""
        self.ctx = ctx

    def retrieve(self, state: State) -> State:
        """Rank, search and pack the repository for the question (and the one before)."""
        model, error = self.ctx.model, None
        context = state.get("context_tokens")
        if model is not None and context is None:
            try:
                context = model.context_window
            except ChatModelError as err:
                error = f"the model failed to load: {err}"
                self.ctx.error("retrieve", error)
        context = context or DEFAULT_CONTEXT_WINDOW
        history = state.get("history") or []
        turns, turn_tokens = recent_turns(history, int(context * HISTORY_SHARE))
        query = " ".join([t["question"] for t in history[-1:]] + [state["question"]])
        built = build_context(Path(state["repo"]), query, context,
                              prompt_budget(context, answer_tokens(model) + turn_tokens),
                              with_pack=model is not None and error is None,
                              progress=partial(self.ctx.progress, "retrieve"))
        self.ctx.emit(ContextPacked(run_id=self.ctx.run_id, step="retrieve",
                                    manifest=built.manifest))
        return {"pack": built.pack, "spans_text": built.spans, "history": turns,
                "spans": [s.to_json() for s in built.sources],
                "index": built.index.to_json(),
                "packed": built.manifest.model_dump(mode="json"), "error": error}

    def answer(self, state: State) -> State:
        """One streamed model call over the context; without a usable model, the spans."""
        spans = state.get("spans", [])
        if self.ctx.model is None:
            return _fallback(spans, "no model is configured", None)
        if state.get("error"):
            return _fallback(spans, state["error"], state["error"])
        system = ASK_SYSTEM + (REPOSITORY_SECTION.format(pack=state["pack"])
                               if state.get("pack") else "")
        messages = [ChatMessage.system(system)]
        for turn in state.get("history", []):
            messages += [ChatMessage.user(turn["question"]),
                         ChatMessage(role="assistant", content=turn["answer"])]
        messages.append(ChatMessage.user(ASK_USER.format(
            spans=state.get("spans_text", ""), question=state["question"]).lstrip()))
        try:
            result = self.ctx.chat("answer", messages, thinking=state.get("path") == "slow",
                                   stream=True)
        except ChatModelError as err:
            self.ctx.error("answer", str(err))
            return _fallback(spans, f"the model failed: {err}", f"the model failed: {err}")
        reply = result.content.strip()
        return {"answer": reply, "reply": reply, "model": result.model,
                "warnings": list(result.warnings)}

    def verify(self, state: State) -> State:
        """Write cited span numbers out as `path:line`; keep the citations that hold;
        mark and report the others."""
        if state.get("model", "none") == "none":
            return {"status": "done", "dropped": [], "summary": "answered from ranked spans"}
        written = state.get("reply", "")
        sources = [Source(s["path"], s["line"], s["end_line"]) for s in state.get("spans", [])]
        reply = render_span_numbers(written, [str(s) for s in sources])
        report = verify_citations(state["repo"], reply)
        for item in report.dropped:
            self.ctx.notice("verify", f"dropped citation {item.text}: {item.reason}")
        return {"reply": reply, "written": written,
                "answer": mark_dropped(reply, report.dropped),
                "citations": [c.to_json() for c in report.verified],
                "dropped": [d.to_json() for d in report.dropped], "status": "done",
                "summary": f"{len(report.verified)} citations verified, "
                           f"{len(report.dropped)} dropped"}


def build(ctx: RunContext) -> StateGraph:
    """The `ask` graph for `ctx` (compile it with a checkpointer to run it)."""
    nodes = AskNodes(ctx)
    graph = StateGraph(AskState)
    for name in ("retrieve", "answer", "verify"):
        graph.add_node(name, ctx.node(name, getattr(nodes, name)))
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "answer")
    graph.add_edge("answer", "verify")
    graph.add_edge("verify", END)
    return graph
