"""The Ask pipeline behind `FathomService.ask`: route, pack, stream, verify citations.

It uses the agents' pieces — the router (Fast or Slow Path), the context budget of
`agents.graphs.ask`, the citation checker of `agents.citations` — but streams the answer
token by token, keeps the conversation, and reports the whole manifest, which the `ask`
graph does not (yet) do; the TUI needs all three.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agents.citations import verify_citations
from agents.graphs.ask import answer_tokens, prompt_budget
from agents.llm import ChatMessage, ChatResult, ContentDelta, ReasoningDelta
from agents.router import route
from app.tui.errors import ServiceError, errors
from app.tui.prompts import ask_system_prompt
from app.tui.state import (
    Answer,
    AnswerReady,
    AnswerText,
    AskEvent,
    Citation,
    ContextManifest,
    ContextReady,
    ManifestFile,
    ModelInfo,
    ReasoningText,
    RouteChosen,
    Stage,
)
from tools.repo.index import RepoIndex
from tools.repo.pack import PackOptions, pack_repository
from tools.repo.rank import RankQuery, rank
from tools.repo.repomap import render_map

if TYPE_CHECKING:
    from app.tui.services import FathomService

MAP_SHARE = 0.125               # of the context budget, for the map of definitions
MAP_MAX_TOKENS = 2048
HISTORY_TURNS = 3               # earlier questions and answers sent along
CHANGE_HINT = "reads as a change request: start it as a fix in Runs (F5)"
_CITATION = re.compile(r"(?<![\w/.:-])((?:\./)?\.?\w[\w./-]*):(\d+)(?:-(\d+))?(?![\w/])")
# Parts of Markdown where a citation is not linked in place: fenced code, existing links,
# inline code spans (the split keeps them at odd positions).
_PROTECTED = re.compile(r"(```.*?(?:```|$)|~~~.*?(?:~~~|$)|\[[^\]\n]*\]\([^)\n]*\)"
                        r"|`[^`\n]+`)", re.DOTALL)


def ask(service: FathomService, question: str, earlier: Sequence[Answer],
        cancelled: Callable[[], bool]) -> Iterator[AskEvent]:
    """See `FathomService.ask`."""
    clock = service.clock
    started = clock()
    with errors("question"):
        routed = route(question)
    yield Stage("updating index")
    yield service.update_index()
    yield Stage("loading model")
    info = service.model_info()
    path = "Slow" if routed.path == "slow" else "Fast"
    hint = f"; it {CHANGE_HINT}" if routed.graph in ("fix", "repair") else ""
    yield RouteChosen(path, routed.reason + hint)
    yield Stage("packing context")
    query = " ".join([a.question for a in earlier[-1:]] + [question])
    with errors("packing"):
        manifest, system = pack_context(service.root, query, info,
                                        answer_tokens(service.model()))
    yield ContextReady(manifest)
    if cancelled():
        return
    messages = [ChatMessage.system(system)]
    for turn in earlier[-HISTORY_TURNS:]:
        messages += [ChatMessage.user(turn.question),
                     ChatMessage(role="assistant", content=turn.content)]
    messages.append(ChatMessage.user(question))
    yield Stage("prefill")
    result: ChatResult | None = None
    first: float | None = None
    with errors("model"):
        for event in service.model().chat(messages, thinking=path == "Slow", stream=True):
            if cancelled():
                return
            if isinstance(event, ContentDelta | ReasoningDelta):
                first = first if first is not None else clock()
                kind = AnswerText if isinstance(event, ContentDelta) else ReasoningText
                yield kind(event.text)
            elif isinstance(event, ChatResult):
                result = event
    if result is None:
        raise ServiceError("model: the reply ended without a result")
    ended = clock()
    citations = check_citations(service.root, result.content)
    rate = result.usage.completion_tokens / max(ended - (first or started), 1e-6)
    yield AnswerReady(Answer(
        question=question, content=result.content,
        markdown=link_citations(result.content, citations), citations=citations, path=path,
        model=result.model, prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens, seconds=round(ended - started, 3),
        tokens_per_second=round(rate, 1), warnings=result.warnings))


def pack_context(root: Path, query: str, info: ModelInfo,
                 reserve: int) -> tuple[ContextManifest, str]:
    """Pack the repository for `query` into what the model's window leaves after
    `reserve` answer tokens: the manifest and the system prompt (map and pack)."""
    budget = prompt_budget(info.context, reserve)
    map_budget = min(int(budget * MAP_SHARE), MAP_MAX_TOKENS)
    index = RepoIndex(root)
    conn = index.connect()
    try:
        ranking = rank(conn, RankQuery(query))
    finally:
        conn.close()
    repo_map = render_map(ranking, map_budget)
    pack = pack_repository(index, PackOptions(budget=budget - repo_map.tokens, query=query))
    files = tuple(ManifestFile(e.path, e.tokens, e.mode, e.reason, e.section)  # type: ignore[arg-type]
                  for e in pack.entries)
    manifest = ContextManifest(query, info, budget, pack.total_tokens, repo_map.tokens, files)
    first = next((d for d in ranking.definitions if d.kind != "field"), None)
    example = f"{first.path}:{first.line}" if first else None
    return manifest, ask_system_prompt(repo_map.text, pack.text, example)


def check_citations(root: Path, text: str) -> tuple[Citation, ...]:
    """The answer's citations as the agents' checker judges them, in order of appearance."""
    report = verify_citations(root, text)
    found: dict[str, Citation] = {}
    for cited in report.verified:
        raw = str(cited)
        found[raw] = Citation(raw, cited.path, cited.line,
                              cited.end_line if cited.end_line != cited.line else None,
                              valid=True, snippet=_line(root, cited.path, cited.line))
    for dropped in report.dropped:
        c = dropped.citation
        found.setdefault(dropped.text, Citation(
            dropped.text, c.path, c.line, c.end_line if c.end_line != c.line else None,
            problem=dropped.reason))
    return tuple(sorted(found.values(), key=lambda c: _position(text, c)))


def _position(text: str, citation: Citation) -> int:
    """Where the citation first appears in `text` (its path:line form)."""
    at = text.find(f"{citation.path}:{citation.line}")
    return at if at >= 0 else len(text)


def _line(root: Path, path: str, line: int) -> str:
    """Line `line` of a verified citation's file, stripped and cut short."""
    lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    return lines[line - 1].strip()[:80] if line <= len(lines) else ""


def link_citations(markdown: str, citations: Sequence[Citation]) -> str:
    """`markdown` with each valid citation turned into a link to the code viewer.

    Code blocks and existing links are left alone; an inline code span holding just a
    citation becomes a link that keeps the code style.
    """
    valid = {(c.path, c.line): c for c in citations if c.valid}

    def target(match: re.Match[str]) -> Citation | None:
        """The valid citation a match names, if any."""
        return valid.get((match.group(1).removeprefix("./"), int(match.group(2))))

    def link(match: re.Match[str]) -> str:
        """A citation in running text, linked."""
        citation = target(match)
        return f"[{match.group(0)}]({citation.href})" if citation else match.group(0)

    def protected(part: str) -> str:
        """A code span that is exactly a citation, linked; anything else as it is."""
        if part.startswith("`") and not part.startswith("```"):
            whole = _CITATION.fullmatch(part.strip("`"))
            citation = target(whole) if whole else None
            return f"[{part}]({citation.href})" if citation else part
        return part

    parts = _PROTECTED.split(markdown)
    return "".join(protected(part) if i % 2 else _CITATION.sub(link, part)
                   for i, part in enumerate(parts))
