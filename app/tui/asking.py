"""Ask behind `FathomService.ask`: the front door's `ask`, as the Ask screen shows it.

The agents do the work — route, index, rank, pack, one streamed model call, citations
checked against the files, the ranked spans when there is no model (`agents.api.ask`).
This module runs it in a thread with the conversation so far, and translates its typed
events as they come: the route into the path taken, steps into stages, the progress of
indexing, packing and prefill into measured stages, the pack's manifest into
`ContextReady`, streamed pieces into `AnswerText` and `ReasoningText`, the result into
an `Answer` whose valid citations link to the code and whose sources (the spans the
model read) are listed with it. Cancelling is the run's too: it stops between two
streamed pieces, interrupted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agents import api
from agents.api import CITATION, AskRequest, AskResult, Turn, citation_of
from agents.events import (
    AnswerDelta,
    ContextPacked,
    EventQueue,
    PackManifest,
    Progress,
    ReasoningDelta,
    Routed,
    StepStarted,
    TokensUsed,
)
from app.tui.errors import errors
from app.tui.state import (
    Answer,
    AnswerReady,
    AnswerText,
    AskEvent,
    Citation,
    ContextManifest,
    ContextReady,
    IndexSummary,
    ManifestFile,
    ManifestSpan,
    ModelInfo,
    PathTaken,
    ReasoningText,
    RouteChosen,
    SourceSpan,
    Stage,
)

if TYPE_CHECKING:
    from app.tui.services import FathomService

STAGES = {"retrieve": "indexing and packing", "answer": "prefill",
          "verify": "checking citations"}
CHANGE_HINT = "reads as a change request: start it as a fix in Runs (F5)"
# Parts of Markdown where a citation is not linked in place: fenced code, existing links,
# inline code spans (the split keeps them at odd positions).
_PROTECTED = re.compile(r"(```.*?(?:```|$)|~~~.*?(?:~~~|$)|\[[^\]\n]*\]\([^)\n]*\)"
                        r"|`[^`\n]+`)", re.DOTALL)


def ask(service: FathomService, question: str, earlier: Sequence[Answer],
        cancelled: Callable[[], bool], run_id: str | None) -> Iterator[AskEvent]:
    """See `FathomService.ask`."""
    clock = service.clock
    started = clock()
    yield Stage("loading model")
    model, info = service.model(), service.model_info()
    request = AskRequest(service.root, question, context_tokens=service.context_tokens,
                         history=tuple(Turn(a.question, a.content) for a in earlier
                                       if a.model != "none"))
    stream = EventQueue(lambda sink: api.ask(request, model=model, events=sink,
                                             cancelled=cancelled, run_id=run_id))
    usage: TokensUsed | None = None
    first: float | None = None
    path: PathTaken = "Fast"
    with errors("ask"):
        for event in stream:
            if isinstance(event, Routed):
                path = "Slow" if event.path == "slow" else "Fast"
                hint = f"; it {CHANGE_HINT}" if event.graph in ("fix", "repair") else ""
                yield RouteChosen(path, event.reason + hint)
            elif isinstance(event, StepStarted) and event.step in STAGES:
                yield Stage(STAGES[event.step])
            elif isinstance(event, Progress):
                yield Stage(event.task, event.done, event.total)
            elif isinstance(event, ContextPacked):
                yield ContextReady(context_manifest(event.manifest, info))
            elif isinstance(event, AnswerDelta | ReasoningDelta):
                first = first if first is not None else clock()
                kind = AnswerText if isinstance(event, AnswerDelta) else ReasoningText
                yield kind(event.text)
            elif isinstance(event, TokensUsed):
                usage = event
    result: AskResult = stream.result
    if result.status == "interrupted":
        return
    if result.index is not None:
        stats = result.index
        yield IndexSummary(stats.files, stats.definitions, stats.parsed, tuple(stats.warnings))
    ended = clock()
    completion = usage.completion_tokens if usage else 0
    rate = completion / max(ended - (first or started), 1e-6)
    citations = checked_citations(service.root, result)
    yield AnswerReady(Answer(
        question=question, content=result.reply,
        markdown=link_citations(result.reply, citations), citations=citations, path=path,
        model=result.model, prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=completion, seconds=round(ended - started, 3),
        tokens_per_second=round(rate, 1), warnings=tuple(result.warnings),
        error=result.error, cached_prompt_tokens=usage.cached_prompt_tokens if usage else 0,
        sources=source_spans(service.root, result)))


def context_manifest(packed: PackManifest, info: ModelInfo) -> ContextManifest:
    """The graph's manifest of what the model saw, for the Context screen (the window is
    the one the graph filled)."""
    files = tuple(ManifestFile(f.path, f.tokens, f.mode, f.reason, f.section)
                  for f in packed.files)
    spans = tuple(ManifestSpan(s.number, s.path, s.line, s.end_line, s.name, s.tokens)
                  for s in packed.spans)
    return ContextManifest(packed.query, ModelInfo(info.name, info.backend, packed.context),
                           packed.budget, packed.pack_tokens, packed.spans_tokens, files,
                           spans, packed.focused)


def checked_citations(root: Path, result: AskResult) -> tuple[Citation, ...]:
    """The answer's citations as the graph judged them, in order of appearance; a valid
    one shows the line it points at."""
    found: dict[str, Citation] = {}
    for cited in result.citations:
        raw = str(cited)
        found[raw] = Citation(raw, cited.path, cited.line,
                              cited.end_line if cited.end_line != cited.line else None,
                              valid=True, snippet=_line(root, cited.path, cited.line))
    for dropped in result.dropped:
        c = dropped.citation
        found.setdefault(dropped.text, Citation(
            dropped.text, c.path, c.line, c.end_line if c.end_line != c.line else None,
            problem=dropped.reason))
    return tuple(sorted(found.values(), key=lambda c: _position(result.reply, c)))


def source_spans(root: Path, result: AskResult) -> tuple[SourceSpan, ...]:
    """The spans the model read, numbered as in its prompt, each with its first line."""
    return tuple(SourceSpan(n, s.path, s.line, s.end_line, s.name, _line(root, s.path, s.line))
                 for n, s in enumerate(result.sources, 1))


def _position(text: str, citation: Citation) -> int:
    """Where the citation first appears in `text` (its path:line form)."""
    at = text.find(f"{citation.path}:{citation.line}")
    return at if at >= 0 else len(text)


def _line(root: Path, path: str, line: int) -> str:
    """Line `line` of a file the graph checked (a verified citation or a source),
    stripped and cut short; empty when the file is gone."""
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip()[:80] if line <= len(lines) else ""


def link_citations(markdown: str, citations: Sequence[Citation]) -> str:
    """`markdown` with each valid citation turned into a link to the code viewer.

    Code blocks and existing links are left alone; an inline code span holding just a
    citation becomes a link that keeps the code style.
    """
    valid = {(c.path, c.line): c for c in citations if c.valid}

    def target(match: re.Match[str]) -> Citation | None:
        """The valid citation a match names, if any."""
        named = citation_of(match)
        return valid.get((named.path, named.line))

    def link(match: re.Match[str]) -> str:
        """A citation in running text, linked."""
        citation = target(match)
        return f"[{match.group(0)}]({citation.href})" if citation else match.group(0)

    def protected(part: str) -> str:
        """A code span that is exactly a citation, linked; anything else as it is."""
        if part.startswith("`") and not part.startswith("```"):
            whole = CITATION.fullmatch(part.strip("`"))
            citation = target(whole) if whole else None
            return f"[{part}]({citation.href})" if citation else part
        return part

    parts = _PROTECTED.split(markdown)
    return "".join(protected(part) if i % 2 else CITATION.sub(link, part)
                   for i, part in enumerate(parts))
