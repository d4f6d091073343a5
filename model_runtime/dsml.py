"""DSML, DeepSeek V4's tool-call markup: writing it, and a streaming parser for model output.

A V4 assistant turn is `reasoning </think> content` followed, when it calls tools, by

    \\n\\n<｜DSML｜tool_calls>
    <｜DSML｜invoke name="NAME">
    <｜DSML｜parameter name="KEY" string="true|false">VALUE</｜DSML｜parameter>
    </｜DSML｜invoke>
    </｜DSML｜tool_calls>

and then the end-of-sentence token. `string="true"` values are raw text; the others are
JSON. (Format as published in DeepSeek's `encoding/encoding_dsv4.py`; code is ours.)

`DsmlStreamParser` turns generated text, fed in arbitrary pieces, into reasoning deltas,
content deltas and complete tool calls. It never raises on model output: every problem
(unclosed blocks, bad JSON, stray tags, text where none belongs) becomes a `ParseIssue`
and parsing carries on. Its output depends only on the concatenated text, not on how
the text was split into pieces.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

DSML = "｜DSML｜"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
EOS_TEXT = "<｜end▁of▁sentence｜>"
TOOL_CALLS_OPEN = f"<{DSML}tool_calls>"
TOOL_CALLS_CLOSE = f"</{DSML}tool_calls>"
INVOKE_OPEN = f"<{DSML}invoke"
INVOKE_CLOSE = f"</{DSML}invoke>"
PARAM_OPEN = f"<{DSML}parameter"
PARAM_CLOSE = f"</{DSML}parameter>"


@dataclass(frozen=True)
class ToolCall:
    """One call of a tool by the model: its name and its arguments as a JSON object."""

    name: str
    arguments: dict[str, Any]
    id: str = ""

    def arguments_json(self) -> str:
        """The arguments serialised as a JSON object string (OpenAI's wire format)."""
        return json.dumps(self.arguments, ensure_ascii=False)


def render_tool_calls(calls: list[ToolCall]) -> str:
    """The DSML block for `calls`, starting with its two-newline separator."""
    invokes = []
    for call in calls:
        params = []
        for key, value in call.arguments.items():
            is_str = isinstance(value, str)
            text = value if is_str else json.dumps(value, ensure_ascii=False)
            params.append(
                f'{PARAM_OPEN} name="{key}" string="{"true" if is_str else "false"}">'
                f"{text}{PARAM_CLOSE}"
            )
        invokes.append(f'{INVOKE_OPEN} name="{call.name}">\n' + "\n".join(params)
                       + f"\n{INVOKE_CLOSE}")
    return f"\n\n{TOOL_CALLS_OPEN}\n" + "\n".join(invokes) + f"\n{TOOL_CALLS_CLOSE}"


@dataclass(frozen=True)
class ReasoningDelta:
    """New reasoning text (inside `<think>` … `</think>`)."""

    text: str


@dataclass(frozen=True)
class ContentDelta:
    """New answer text."""

    text: str


@dataclass(frozen=True)
class ToolCallEvent:
    """A tool call whose `</｜DSML｜invoke>` has been read."""

    call: ToolCall


@dataclass(frozen=True)
class ParseIssue:
    """Something malformed in the model's output, at character `offset` of the stream."""

    message: str
    offset: int


ParseEvent = ReasoningDelta | ContentDelta | ToolCallEvent | ParseIssue


@dataclass
class ParsedMessage:
    """Everything parsed from one assistant turn."""

    reasoning: str = ""
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)


class _State(Enum):
    REASONING = "reasoning"
    CONTENT = "content"
    TOOLS = "tools"
    AFTER_TOOLS = "after_tools"
    DONE = "done"


_REASONING_MARKERS = (THINK_CLOSE, "\n\n" + TOOL_CALLS_OPEN, TOOL_CALLS_OPEN, INVOKE_OPEN,
                      THINK_OPEN, EOS_TEXT)
_CONTENT_MARKERS = ("\n\n" + TOOL_CALLS_OPEN, TOOL_CALLS_OPEN, INVOKE_OPEN, THINK_OPEN,
                    THINK_CLOSE, EOS_TEXT)
_TOOLS_MARKERS = (TOOL_CALLS_CLOSE, INVOKE_OPEN, EOS_TEXT)
_INVOKE_HEAD = re.compile(r'<｜DSML｜invoke\s+name="([^"]*)"\s*>')
_PARAM = re.compile(
    r'<｜DSML｜parameter\s+name="([^"]*)"(?:\s+string="([^"]*)")?\s*>(.*?)</｜DSML｜parameter>',
    re.DOTALL,
)
_SNIPPET = 40


def _snippet(text: str) -> str:
    return repr(text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…")


def partial_marker_start(buf: str, markers: tuple[str, ...]) -> int:
    """Index where the longest suffix of `buf` that could still grow into a marker begins.

    `len(buf)` when no suffix is a proper start of any marker: all of `buf` is safe to emit.
    """
    for start in range(max(0, len(buf) - max(map(len, markers)) + 1), len(buf)):
        tail = buf[start:]
        if any(m.startswith(tail) for m in markers):
            return start
    return len(buf)


def _find_first(buf: str, markers: tuple[str, ...]) -> tuple[int, str] | None:
    """Earliest full marker in `buf` (the longest one when two start at the same place)."""
    best: tuple[int, str] | None = None
    for marker in markers:
        at = buf.find(marker)
        if at >= 0 and (best is None or at < best[0]
                        or (at == best[0] and len(marker) > len(best[1]))):
            best = (at, marker)
    return best


class DsmlStreamParser:
    """Streaming parser from a V4 assistant turn's text to reasoning, content and tool calls.

    `thinking` says whether the prompt ended in `<think>` (the output starts with
    reasoning) or in `</think>` (it starts with the answer). Call `feed` with each text
    delta and `finish` at the end; both return the events the new text completed, and
    `result` holds everything so far.
    """

    def __init__(self, thinking: bool) -> None:
        self.result = ParsedMessage()
        self._state = _State.REASONING if thinking else _State.CONTENT
        self._buf = ""
        self._offset = 0  # stream offset of self._buf[0]
        self._events: list[ParseEvent] = []
        self._calls = 0
        self._after_eos_reported = False

    def feed(self, text: str) -> list[ParseEvent]:
        """Add generated text; return the events it completes."""
        self._buf += text
        self._run(final=False)
        return self._take()

    def finish(self) -> list[ParseEvent]:
        """Flush held-back text and report anything left unclosed."""
        self._run(final=True)
        if self._state is _State.REASONING:
            self._issue("output ended before </think>", self._offset)
        elif self._state is _State.TOOLS:
            self._issue("output ended inside a tool_calls block", self._offset)
        self._state = _State.DONE
        return self._take()

    # -- internals -----------------------------------------------------------------------

    def _take(self) -> list[ParseEvent]:
        events, self._events = self._events, []
        return events

    def _issue(self, message: str, offset: int) -> None:
        issue = ParseIssue(message, offset)
        self.result.issues.append(issue)
        self._events.append(issue)

    def _emit_text(self, text: str) -> None:
        if not text:
            return
        if self._state is _State.REASONING:
            self.result.reasoning += text
            self._events.append(ReasoningDelta(text))
        else:
            self.result.content += text
            self._events.append(ContentDelta(text))

    def _consume(self, n: int) -> str:
        taken, self._buf = self._buf[:n], self._buf[n:]
        self._offset += n
        return taken

    def _run(self, final: bool) -> None:
        while self._step(final):
            pass

    def _step(self, final: bool) -> bool:
        """Advance one unit; False when nothing more can be done with the text at hand."""
        if not self._buf:
            return False
        if self._state is _State.DONE:
            if not self._after_eos_reported:
                self._issue("text after end of sentence", self._offset)
                self._after_eos_reported = True
            self._consume(len(self._buf))
            return False
        if self._state is _State.TOOLS:
            return self._step_tools(final)
        if self._state is _State.AFTER_TOOLS:
            return self._step_after_tools(final)
        return self._step_text(final)

    def _step_text(self, final: bool) -> bool:
        markers = _REASONING_MARKERS if self._state is _State.REASONING else _CONTENT_MARKERS
        found = _find_first(self._buf, markers)
        if found is None:
            keep = len(self._buf) if final else partial_marker_start(self._buf, markers)
            self._emit_text(self._consume(keep))
            return False
        at, marker = found
        self._emit_text(self._consume(at))
        where = self._offset
        if marker == EOS_TEXT:
            if self._state is _State.REASONING:
                self._issue("end of sentence before </think>", where)
            self._consume(len(marker))
            self._state = _State.DONE
        elif marker == THINK_CLOSE and self._state is _State.REASONING:
            self._consume(len(marker))
            self._state = _State.CONTENT
        elif marker in (THINK_OPEN, THINK_CLOSE):
            if not (marker == THINK_OPEN and self._state is _State.REASONING
                    and not self.result.reasoning.strip()):
                self._issue(f"unexpected {marker} in {self._state.value}", where)
            self._consume(len(marker))
        elif marker == INVOKE_OPEN:
            self._issue("tool call outside a tool_calls block", where)
            self._state = _State.TOOLS  # keep the invoke tag in the buffer and parse it
        else:  # a tool_calls block opens
            if self._state is _State.REASONING:
                self._issue("tool calls before </think>", where)
            self._consume(len(marker))
            self._state = _State.TOOLS
        return True

    def _step_after_tools(self, final: bool) -> bool:
        """Only whitespace and end of sentence belong after a tool_calls block."""
        self._consume(len(self._buf) - len(self._buf.lstrip()))
        if not self._buf or (not final and EOS_TEXT.startswith(self._buf)):
            return False
        if self._buf.startswith(EOS_TEXT):
            self._consume(len(EOS_TEXT))
            self._state = _State.DONE
            return True
        self._issue("text after tool calls", self._offset)
        self._state = _State.CONTENT
        return True

    def _step_tools(self, final: bool) -> bool:
        stripped = len(self._buf) - len(self._buf.lstrip())
        self._consume(stripped)
        buf = self._buf
        if not buf:
            return False
        if buf.startswith(TOOL_CALLS_CLOSE):
            self._consume(len(TOOL_CALLS_CLOSE))
            self._state = _State.AFTER_TOOLS
            return True
        if buf.startswith(EOS_TEXT):
            self._issue("tool_calls block not closed", self._offset)
            self._consume(len(EOS_TEXT))
            self._state = _State.DONE
            return True
        if buf.startswith(INVOKE_OPEN):
            return self._step_invoke(final)
        if not final and any(m.startswith(buf) for m in _TOOLS_MARKERS):
            return False
        # Junk: up to the next '<' that may start a tag (or everything, at the end).
        nxt = buf.find("<", 1)
        if nxt < 0 and not final:
            return False
        junk = self._consume(len(buf) if nxt < 0 else nxt)
        self._issue(f"unexpected text in tool_calls block: {_snippet(junk)}",
                    self._offset - len(junk))
        return True

    def _step_invoke(self, final: bool) -> bool:
        buf = self._buf
        close = buf.find(INVOKE_CLOSE)
        # An invoke that is never closed ends where the next invoke or the block's end begins.
        cut = min((i for i in (buf.find(INVOKE_OPEN, 1), buf.find(TOOL_CALLS_CLOSE),
                               buf.find(EOS_TEXT)) if i >= 0), default=-1)
        where = self._offset
        if close >= 0 and (cut < 0 or close < cut):
            self._parse_invoke(self._consume(close), where)
            self._consume(len(INVOKE_CLOSE))
            return True
        if cut < 0 and not final:
            return False
        body = self._consume(len(buf) if cut < 0 else cut)
        head = _INVOKE_HEAD.match(body)
        name = head.group(1) if head else "?"
        self._issue(f"tool call {name!r} not closed with {INVOKE_CLOSE}; dropped", where)
        return True

    def _parse_invoke(self, text: str, where: int) -> None:
        """Parse `<｜DSML｜invoke name="…">…` (close tag removed) into a tool call."""
        head = _INVOKE_HEAD.match(text)
        if head is None or not head.group(1):
            self._issue(f"malformed tool call header: {_snippet(text)}", where)
            return
        name = head.group(1)
        args: dict[str, Any] = {}
        pos = head.end()
        while pos < len(text):
            gap = len(text[pos:]) - len(text[pos:].lstrip())
            pos += gap
            if pos >= len(text):
                break
            match = _PARAM.match(text, pos)
            if match is None:
                nxt = text.find(PARAM_OPEN, pos + 1)
                end = len(text) if nxt < 0 else nxt
                self._issue(f"malformed parameter in tool call {name!r}: "
                            f"{_snippet(text[pos:end])}", where + pos)
                pos = end
                continue
            key, kind, raw = match.groups()
            pos = match.end()
            if key in args:
                self._issue(f"duplicate parameter {key!r} in tool call {name!r}", where + pos)
                continue
            args[key] = self._decode_value(name, key, kind, raw, where + match.start())
        call = ToolCall(name=name, arguments=args, id=f"call_{self._calls}")
        self._calls += 1
        self.result.tool_calls.append(call)
        self._events.append(ToolCallEvent(call))

    def _decode_value(self, name: str, key: str, kind: str | None, raw: str, where: int) -> Any:
        if kind == "true":
            return raw
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            self._issue(f"parameter {key!r} of tool call {name!r} is not valid JSON; "
                        "kept as a string", where)
            return raw
        if kind != "false":
            self._issue(f"parameter {key!r} of tool call {name!r} has string={kind!r}, "
                        "expected 'true' or 'false'", where)
        return value


def parse_completion(text: str, thinking: bool) -> ParsedMessage:
    """Parse a whole assistant turn at once (same result as streaming it)."""
    parser = DsmlStreamParser(thinking)
    parser.feed(text)
    parser.finish()
    return parser.result
