"""The scripted backend: replays a JSON transcript turn by turn, for tests and demos.

A transcript is `{"model": NAME, "turns": [TURN, …]}` (or just the list of turns), each

    {"expect": {"role": "tool", "contains": ["3 passed"], "tools": ["run_tests"],
                "thinking": true},
     "reply":  {"content": "…", "reasoning": "…",
                "tool_calls": [{"name": "read_file", "arguments": {"path": "a.py"}}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30}}}

Every call takes the next turn and checks the conversation against its `expect` (all
fields optional): the last message's role, strings its text must contain, tools that
must be offered, thinking mode. A conversation that does not match raises
`ScriptDivergedError` saying which turn, what was expected and what came; one call too
many raises `ScriptExhaustedError`. Usage is the reply's own, or else estimated as one
token per four characters.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agents.llm import (
    BaseChatModel,
    ChatMessage,
    ChatModelError,
    ChatResult,
    ContentDelta,
    Pricing,
    ReasoningDelta,
    Role,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)


class ScriptDivergedError(ChatModelError):
    """The conversation is not the one the transcript expects at this turn."""


class ScriptExhaustedError(ChatModelError):
    """The model was asked for more turns than the transcript holds."""


class Expectation(BaseModel):
    """What the conversation must look like when a turn is replayed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role | None = None
    contains: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    thinking: bool | None = None

    @field_validator("contains", "tools", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


class ScriptedCall(BaseModel):
    """A tool call in a scripted reply; `id` defaults to `call_<turn>_<n>`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    arguments: dict[str, object] = Field(default_factory=dict)
    id: str | None = None


class ScriptedReply(BaseModel):
    """What the model says at one turn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[ScriptedCall, ...] = ()
    usage: Usage | None = None


class ScriptTurn(BaseModel):
    """One expected request and its reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expect: Expectation = Expectation()
    reply: ScriptedReply


class Transcript(BaseModel):
    """A whole script: the model name to report and the turns in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = "scripted"
    turns: tuple[ScriptTurn, ...]


def _estimate(text: str) -> int:
    """Tokens of text, estimated as one per four characters (at least one if non-empty)."""
    return (len(text) + 3) // 4


def _snippet(text: str, limit: int = 160) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


class ScriptedBackend(BaseChatModel):
    """Replays a `Transcript`; `requests` keeps every conversation it was sent."""

    def __init__(self, transcript: Transcript, source: str = "<transcript>",
                 pricing: Pricing | None = None) -> None:
        """`source` names the transcript in errors (its file path, usually)."""
        super().__init__(transcript.model, pricing)
        self.transcript = transcript
        self.source = source
        self.requests: list[list[ChatMessage]] = []
        self._next = 0
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path, pricing: Pricing | None = None) -> ScriptedBackend:
        """Load a transcript file; `ChatModelError` naming the file if it is unreadable."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, list):
                data = {"turns": data}
            transcript = Transcript.model_validate(data)
        except (OSError, json.JSONDecodeError, ValidationError) as err:
            raise ChatModelError(f"{path}: not a usable transcript: {err}") from err
        return cls(transcript, str(path), pricing)

    @property
    def remaining(self) -> int:
        """Turns not yet replayed."""
        return len(self.transcript.turns) - self._next

    def _take(self, messages: list[ChatMessage], tools: list[ToolSpec],
              thinking: bool) -> tuple[int, ScriptTurn]:
        """The next turn, checked against the conversation."""
        with self._lock:
            index = self._next
            turns = self.transcript.turns
            last = messages[-1]
            seen = f"the last message was {last.role}: {_snippet(last.content)}"
            if index >= len(turns):
                raise ScriptExhaustedError(f"{self.source}: all {len(turns)} turns were "
                                           f"replayed, but the model was called again; {seen}")
            turn = turns[index]
            problems = _differences(turn.expect, last, tools, thinking)
            if problems:
                raise ScriptDivergedError(f"{self.source}: turn {index + 1} of {len(turns)} "
                                          f"expected {'; '.join(problems)}; {seen}")
            self._next += 1
            self.requests.append(messages)
            return index, turn

    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        index, turn = self._take(messages, tools, thinking)
        reply = turn.reply
        calls = tuple(ToolCall(name=c.name, arguments=dict(c.arguments),
                               id=c.id or f"call_{index + 1}_{n + 1}")
                      for n, c in enumerate(reply.tool_calls))
        if reply.reasoning:
            yield ReasoningDelta(text=reply.reasoning)
        for piece in re.findall(r"\s*\S+\s*|\s+", reply.content):
            yield ContentDelta(text=piece)
        for call in calls:
            yield ToolCallDelta(call=call)
        usage = reply.usage or Usage(
            prompt_tokens=sum(_estimate(m.content) for m in messages),
            completion_tokens=_estimate(reply.content + (reply.reasoning or "")))
        yield ChatResult(content=reply.content, reasoning=reply.reasoning, tool_calls=calls,
                         usage=usage, model=self.name,
                         finish_reason="tool_calls" if calls else "stop")


def _differences(expect: Expectation, last: ChatMessage, tools: list[ToolSpec],
                 thinking: bool) -> list[str]:
    """What in the conversation differs from `expect` (empty when it matches)."""
    problems = []
    if expect.role is not None and last.role != expect.role:
        problems.append(f"a {expect.role} message last")
    missing = [text for text in expect.contains if text not in last.content]
    if missing:
        problems.append(f"the last message to contain {', '.join(map(repr, missing))}")
    offered = {t.name for t in tools}
    absent = [name for name in expect.tools if name not in offered]
    if absent:
        problems.append(f"tools {', '.join(absent)} to be offered (offered: "
                        f"{', '.join(sorted(offered)) or 'none'})")
    if expect.thinking is not None and expect.thinking != thinking:
        problems.append(f"thinking={expect.thinking}")
    return problems
