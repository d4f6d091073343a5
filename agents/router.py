"""Route a request to the Fast Path or the Slow Path, and to the graph that serves it.

The Fast Path is one non-thinking model call over the packed repository (`ask`); the
Slow Path thinks, and when code must change it runs a multi-step graph (`fix`, `repair`,
`review`) in a worktree. The decision reads the request: a question or a change, how
big it is, and whether code must change. It is a cheap, explainable rule set — every
route says why — and `--path fast|slow` overrides it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Literal

PathName = Literal["fast", "slow"]
GraphName = Literal["ask", "fix", "repair", "review"]

QUESTION_WORDS = frozenset({
    "how", "where", "why", "what", "which", "who", "when", "does", "do", "is", "are", "can",
    "could", "should", "would", "explain", "describe", "show", "list", "find", "summarise",
    "summarize", "tell",
})
CHANGE_VERBS = frozenset({
    "fix", "add", "implement", "change", "refactor", "rename", "remove", "delete", "update",
    "make", "write", "patch", "replace", "rewrite", "support", "handle", "create", "convert",
    "move", "extract", "improve", "optimise", "optimize", "upgrade", "migrate", "introduce",
})
POLITE = ("please ", "can you ", "could you ", "would you ", "i want you to ", "let's ",
          "we need to ", "i need you to ")
_REPAIR = re.compile(r"\b(make (the |all )?tests? (pass|green)|repair|failing tests?|"
                     r"tests? (are |is )?(failing|red|broken)|fix (the )?(failing )?tests?)\b")
_REVIEW = re.compile(r"^(please )?review\b|\b(pull request|merge request|this diff|the diff)\b")
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \".+\", line \d+",
                        re.MULTILINE)
LONG_REQUEST_WORDS = 60   # questions longer than this think (Slow Path)
MANY_QUESTIONS = 3        # as do requests asking this many questions at once


@dataclass(frozen=True)
class Route:
    """Where a request goes: the path, the graph, and why."""

    path: PathName
    graph: GraphName
    reason: str
    overridden: bool = False

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return asdict(self)


def _wants_change(text: str) -> bool:
    """Whether the request asks for code to change (an imperative, possibly polite)."""
    for prefix in POLITE:
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    words = re.findall(r"[a-z']+", text)
    return bool(words) and words[0] in CHANGE_VERBS


def classify(request: str) -> Route:
    """The route the request's own words call for."""
    text = " ".join(request.strip().lower().split())
    if not text:
        raise ValueError("empty request: say what you want to know or change")
    words = len(text.split())
    if _REVIEW.search(text):
        return Route("slow", "review", "asks for a review of a change")
    change = _wants_change(text)
    question = text.endswith("?") or text.split()[0] in QUESTION_WORDS
    if _REPAIR.search(text) and (change or not question):
        return Route("slow", "repair", "asks for failing tests to pass")
    if change and not text.endswith("?"):
        return Route("slow", "fix", "asks for code to change")
    if _TRACEBACK.search(request):
        return Route("slow", "ask", "carries a traceback to reason about")
    if words > LONG_REQUEST_WORDS or text.count("?") >= MANY_QUESTIONS:
        return Route("slow", "ask", f"a large question ({words} words)")
    if question:
        return Route("fast", "ask", "a question about the code")
    return Route("fast", "ask", "no change asked for: answered as a question")


def route(request: str, override: PathName | None = None) -> Route:
    """Route `request`; `override` forces the path (`fast` can only answer, never edit)."""
    routed = classify(request)
    if override is None or override == routed.path:
        return routed
    if override == "fast":
        return Route("fast", "ask", f"--path fast (would be {routed.graph}: {routed.reason})",
                     overridden=True)
    return Route("slow", routed.graph, f"--path slow ({routed.reason})", overridden=True)
