"""The `ask` graph (Fast Path): retrieve → answer → verify.

`retrieve` ranks and packs the repository for the question: the whole repository when
it fits the model's context (a V4 model's 1M tokens), else the top of the ranking —
whole files, then signatures, then a listing — and, after it, the best-matching spans
with numbered lines, which is what citations point at. The pack comes first and is the
same for every question, so a model's cached KV prefix survives; the spans and the
question form the tail. `answer` makes one call (non-thinking on the Fast Path,
thinking when routed to the Slow Path). `verify` keeps the citations that hold against
the files and marks the rest. With no model, or a model that fails, the answer is the
ranked spans themselves.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from agents.citations import Citation, mark_dropped, verify_citations
from agents.graphs.base import RunContext, State
from agents.llm import ChatMessage, ChatModel, ChatModelError
from agents.prompts.ask import (
    ASK_SYSTEM,
    ASK_USER,
    NO_MODEL_ANSWER,
    SPANS_FOOTER,
    SPANS_HEADER,
)
from tools.repo.index import RepoIndex
from tools.repo.pack import PackOptions, pack_repository
from tools.repo.rank import RankQuery, rank
from tools.repo.search import SearchHit, search
from tools.repo.tokens import count_tokens

DEFAULT_CONTEXT = 131_072     # tokens assumed for a remote model that does not say
DEFAULT_ANSWER_TOKENS = 1_024  # reserved for the answer when the model does not say
PROMPT_OVERHEAD = 400          # system prompt, chat template and question
TOKENIZER_MARGIN = 0.8         # budgets count V4 tokens; other tokenizers may need more
CENTRAL_KINDS = frozenset({"class", "function", "method", "interface", "struct", "trait"})
SPAN_SHARE = 0.5               # at most this share of the budget goes to numbered spans
MAX_SPANS = 8
MAX_SPAN_LINES = 60
MIN_PACK_TOKENS = 128          # below this the pack is left out, only spans are shown


class AskState(TypedDict, total=False):
    """The `ask` graph's state (JSON data only)."""

    question: str
    repo: str
    path: str
    context_tokens: int | None
    context: str
    spans: list[dict[str, Any]]
    packed: dict[str, Any]
    answer: str
    model: str
    citations: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    error: str | None
    status: str
    summary: str
    steps: int
    elapsed: float
    tokens: int


@dataclass(frozen=True)
class AskResult:
    """An answer, its verified citations, and what was left out."""

    answer: str
    citations: list[Citation]
    path: str
    model: str
    dropped: list[dict[str, Any]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The `fathom ask --json` contract: exactly answer, citations, path, model."""
        return {"answer": self.answer, "citations": [c.to_json() for c in self.citations],
                "path": self.path, "model": self.model}

    @classmethod
    def from_state(cls, state: State) -> AskResult:
        """The result of a finished `ask` run."""
        return cls(state.get("answer", ""),
                   [Citation(**c) for c in state.get("citations", [])],
                   state.get("path", "fast"), state.get("model", "none"),
                   state.get("dropped", []), state.get("spans", []))


def model_context(model: ChatModel) -> int:
    """How many tokens the model's context holds (loads an embedded model to find out)."""
    loaded = getattr(model, "loaded", None)
    if callable(loaded):
        return int(loaded().context)
    return int(getattr(model, "context_window", DEFAULT_CONTEXT))


def answer_tokens(model: ChatModel | None) -> int:
    """Tokens the model may generate per reply, as configured, or the default."""
    for name in ("max_new_tokens", "max_tokens"):
        value = getattr(model, name, None)
        if isinstance(value, int):
            return value
    return DEFAULT_ANSWER_TOKENS


def prompt_budget(context: int, reserve: int) -> int:
    """Tokens of repository text a prompt may hold in a context of `context` tokens."""
    return max(0, int((context - reserve - PROMPT_OVERHEAD) * TOKENIZER_MARGIN))


def numbered_span(root: Path, hit: SearchHit) -> str:
    """A span of a file with numbered lines (at most MAX_SPAN_LINES)."""
    lines = (root / hit.path).read_text(encoding="utf-8", errors="replace").splitlines()
    end = min(hit.end_line, hit.line + MAX_SPAN_LINES - 1, len(lines))
    body = "".join(f"{n:>5}| {lines[n - 1]}\n" for n in range(hit.line, end + 1))
    return f'<span path="{hit.path}" lines="{hit.line}-{end}">\n{body}</span>\n'


def build_context(root: Path, question: str, budget: int,
                  with_pack: bool = True) -> tuple[str, list[SearchHit], State]:
    """The packed repository plus numbered spans for `question`, within `budget` tokens.

    Returns the text, the spans shown (best first) and a summary of the pack (left out
    when `with_pack` is false: nobody will read it).
    """
    index = RepoIndex(root)
    index.update()
    with closing(index.connect()) as conn:
        hits = search(conn, index.fulltext(), question, MAX_SPANS) or _central_spans(
            conn, question, MAX_SPANS)
    shown, parts, used = [], [], count_tokens(SPANS_HEADER + SPANS_FOOTER)
    for hit in hits:
        text = numbered_span(root, hit)
        cost = count_tokens(text)
        if used + cost > budget * SPAN_SHARE:
            continue
        shown.append(hit)
        parts.append(text)
        used += cost
    spans = SPANS_HEADER + "".join(parts) + SPANS_FOOTER if parts else ""
    summary: State = {"budget": budget - used, "included": False}
    pack_text = ""
    if with_pack and budget - used >= MIN_PACK_TOKENS:
        try:
            pack = pack_repository(index, PackOptions(budget=budget - used, query=question))
        except ValueError as err:  # too small even to list the files
            summary["reason"] = str(err)
        else:
            pack_text = pack.text
            summary = {k: v for k, v in pack.manifest().items() if k != "files"}
            summary["included"] = True
    return pack_text + spans, shown, summary


def _central_spans(conn: sqlite3.Connection, question: str, limit: int) -> list[SearchHit]:
    """When no span matches the question's words: the repository's top-ranked definitions."""
    ranking = rank(conn, RankQuery(question))
    tops = [d for d in ranking.definitions if d.kind in CENTRAL_KINDS][:limit]
    return [SearchHit(d.path, d.line, d.end_line, round(d.score, 6), d.name) for d in tops]


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return {"path": hit.path, "line": hit.line, "end_line": hit.end_line,
            "name": hit.name, "score": hit.score}


def _fallback(spans: list[dict[str, Any]], reason: str) -> State:
    """The answer without a model: the ranked spans, which are their own citations."""
    listing = "\n".join(f"- {s['path']}:{s['line']}-{s['end_line']} {s['name'] or ''}".rstrip()
                        for s in spans) or "(nothing matched)"
    return {"answer": NO_MODEL_ANSWER.format(reason=reason, spans=listing), "model": "none",
            "citations": [{"path": s["path"], "line": s["line"], "end_line": s["end_line"]}
                          for s in spans], "error": reason}


class AskNodes:
    """The nodes of the `ask` graph, bound to a run context."""

    def __init__(self, ctx: RunContext) -> None:
        """Bind to `ctx`."""
        self.ctx = ctx

    def retrieve(self, state: State) -> State:
        """Rank, search and pack the repository for the question."""
        model, error = self.ctx.model, None
        context = state.get("context_tokens")
        if model is not None and context is None:
            try:
                context = model_context(model)
            except ChatModelError as err:
                error = f"the model failed to load: {err}"
                self.ctx.error("retrieve", error)
        budget = prompt_budget(context or DEFAULT_CONTEXT, answer_tokens(model))
        text, hits, packed = build_context(Path(state["repo"]), state["question"], budget,
                                           with_pack=model is not None and error is None)
        return {"context": text, "spans": [_hit_json(h) for h in hits], "packed": packed,
                "error": error}

    def answer(self, state: State) -> State:
        """One model call over the context; without a usable model, the ranked spans."""
        spans = state.get("spans", [])
        if self.ctx.model is None:
            return _fallback(spans, "no model is configured")
        if state.get("error"):
            return _fallback(spans, state["error"])
        messages = [ChatMessage.system(ASK_SYSTEM),
                    ChatMessage.user(ASK_USER.format(context=state.get("context", ""),
                                                     question=state["question"]))]
        try:
            result = self.ctx.chat("answer", messages, thinking=state.get("path") == "slow")
        except ChatModelError as err:
            self.ctx.error("answer", str(err))
            return _fallback(spans, f"the model failed: {err}")
        return {"answer": result.content.strip(), "model": result.model}

    def verify(self, state: State) -> State:
        """Keep the citations that hold; mark and report the others."""
        if state.get("model", "none") == "none":
            return {"status": "done", "dropped": [], "summary": "answered from ranked spans"}
        report = verify_citations(state["repo"], state.get("answer", ""))
        for item in report.dropped:
            self.ctx.notice("verify", f"dropped citation {item.text}: {item.reason}")
        dropped = [{"citation": d.text, "claim": d.claim, "reason": d.reason}
                   for d in report.dropped]
        return {"answer": mark_dropped(state.get("answer", ""), report.dropped),
                "citations": [c.to_json() for c in report.verified], "dropped": dropped,
                "status": "done",
                "summary": f"{len(report.verified)} citations verified, {len(dropped)} dropped"}


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
