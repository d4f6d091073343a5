"""Chat prompts: DeepSeek V4's encoding (with DSML tools and thinking modes) and ChatML.

V4 layout, as published in DeepSeek's `encoding/encoding_dsv4.py` (reimplemented here):

    <｜begin▁of▁sentence｜>[effort prefix]SYSTEM[\\n\\n## Tools …]
    <｜User｜>USER<｜Assistant｜></think>ANSWER[\\n\\n<｜DSML｜tool_calls>…]<｜end▁of▁sentence｜>
    <｜User｜><tool_result>…</tool_result><｜Assistant｜><think>

Non-thinking mode (our Fast Path) closes the think block right after the assistant tag;
thinking mode (our Slow Path) opens it, and the model writes reasoning, `</think>`, then
its answer. Tool results have no role of their own: they join the following user turn.
Reasoning of earlier turns is dropped in thinking mode unless tools are in play.

ChatML (`<|im_start|>role\\n…<|im_end|>`) serves SmolLM2 and other small GGUF models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from model_runtime.dsml import (
    DSML,
    EOS_TEXT,
    THINK_CLOSE,
    THINK_OPEN,
    DsmlStreamParser,
    ToolCall,
    render_tool_calls,
)

Role = Literal["system", "developer", "user", "assistant", "tool"]
ReasoningEffort = Literal["high", "max"]

V4_BOS_TEXT = "<｜begin▁of▁sentence｜>"
V4_USER = "<｜User｜>"
V4_ASSISTANT = "<｜Assistant｜>"

REASONING_EFFORT_MAX = (
    "Reasoning Effort: Absolute maximum with no shortcuts permitted.\n"
    "You MUST be very thorough in your thinking and comprehensively decompose the problem to "
    "resolve the root cause, rigorously stress-testing your logic against all potential paths, "
    "edge cases, and adversarial scenarios.\n"
    "Explicitly write out your entire deliberation process, documenting every intermediate "
    "step, considered alternative, and rejected hypothesis to ensure absolutely no assumption "
    "is left unchecked.\n\n"
)

TOOLS_TEMPLATE = """## Tools

You have access to a set of tools to help answer the user's question. You can invoke tools by \
writing a "<{dsml}tool_calls>" block like the following:

<{dsml}tool_calls>
<{dsml}invoke name="$TOOL_NAME">
<{dsml}parameter name="$PARAMETER_NAME" string="true|false">$PARAMETER_VALUE</{dsml}parameter>
...
</{dsml}invoke>
<{dsml}invoke name="$TOOL_NAME2">
...
</{dsml}invoke>
</{dsml}tool_calls>

String parameters should be specified as is and set `string="true"`. For all other types \
(numbers, booleans, arrays, objects), pass the value in JSON format and set `string="false"`.

If thinking_mode is enabled (triggered by {think_open}), you MUST output your complete \
reasoning inside {think_open}...{think_close} BEFORE any tool calls or final response.

Otherwise, output directly after {think_close} with tool calls or final response.

### Available Tool Schemas

{schemas}

You MUST strictly follow the above defined tool name and parameter schemas to invoke tool calls.
"""

SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


class ChatEncodingError(ValueError):
    """A conversation that cannot be encoded (unknown role, empty developer message, …)."""


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: name, description and JSON Schema of its parameters."""

    name: str
    description: str
    parameters: dict[str, Any]

    @classmethod
    def from_openai(cls, tool: dict[str, Any]) -> ToolSpec:
        """From OpenAI's `{"type": "function", "function": {...}}` form."""
        fn = tool.get("function", tool)
        return cls(fn["name"], fn.get("description", ""), fn.get("parameters", {}))

    def schema_json(self) -> str:
        """One-line JSON, the way the V4 prompt lists tool schemas."""
        return json.dumps({"name": self.name, "description": self.description,
                           "parameters": self.parameters}, ensure_ascii=False)


@dataclass(frozen=True)
class Message:
    """One turn of a conversation.

    `reasoning` is an assistant's thinking, `tool_calls` the calls it made; a `tool`
    message carries one call's result in `content`, linked by `tool_call_id`.
    """

    role: Role
    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @classmethod
    def from_openai(cls, message: dict[str, Any]) -> Message:
        """From an OpenAI chat message dict (`reasoning_content` holds the thinking)."""
        calls = tuple(
            ToolCall(name=c["function"]["name"], id=c.get("id", ""),
                     arguments=_arguments_from_json(c["function"].get("arguments") or "{}"))
            for c in message.get("tool_calls") or ()
        )
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise ChatEncodingError(f"unknown message role {role!r}")
        return cls(role=role, content=message.get("content") or "",
                   reasoning=message.get("reasoning_content"), tool_calls=calls,
                   tool_call_id=message.get("tool_call_id"))


def _arguments_from_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ChatEncodingError(f"tool call arguments are not JSON: {text[:80]!r}") from err
    if not isinstance(value, dict):
        raise ChatEncodingError(f"tool call arguments are not a JSON object: {text[:80]!r}")
    return value


def render_tools(tools: list[ToolSpec]) -> str:
    """The `## Tools` section V4 expects in its system prompt."""
    return TOOLS_TEMPLATE.format(dsml=DSML, think_open=THINK_OPEN, think_close=THINK_CLOSE,
                                 schemas="\n".join(t.schema_json() for t in tools))


@dataclass(frozen=True)
class _Block:
    """One piece of a user turn: its own text, or a tool's result."""

    text: str
    tool_call_id: str | None = None  # set (possibly "") for tool results


@dataclass
class _Turn:
    """A message after tool results are merged into user turns: what gets rendered."""

    message: Message  # for user turns, an empty placeholder: the text is in `blocks`
    blocks: list[_Block] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=list)

    @property
    def role(self) -> str:
        """The rendered role: system, developer, user or assistant."""
        return self.message.role


def _merge_turns(messages: list[Message]) -> list[_Turn]:
    """Fold `tool` messages and consecutive user messages into one user turn each."""
    turns: list[_Turn] = []
    for msg in messages:
        if msg.role in ("user", "tool"):
            if msg.role == "user":
                block = _Block(msg.content)
            else:
                block = _Block(f"<tool_result>{msg.content}</tool_result>", msg.tool_call_id or "")
            if turns and turns[-1].role == "user":
                turns[-1].blocks.append(block)
            else:
                turns.append(_Turn(Message("user"), blocks=[block]))
        elif msg.role in ("system", "developer", "assistant"):
            if msg.role == "developer" and not msg.content:
                raise ChatEncodingError("a developer message needs content")
            turns.append(_Turn(msg))
        else:
            raise ChatEncodingError(f"unknown message role {msg.role!r}")
    return turns


def _order_tool_results(turns: list[_Turn]) -> None:
    """Put each user turn's tool results in the order the preceding assistant called them."""
    order: dict[str, int] = {}
    for turn in turns:
        if turn.role == "assistant" and turn.message.tool_calls:
            order = {c.id: i for i, c in enumerate(turn.message.tool_calls) if c.id}
        elif turn.role == "user" and order:
            results = [b for b in turn.blocks if b.tool_call_id is not None]
            if len(results) > 1:
                ranked = iter(sorted(results, key=lambda b: order.get(b.tool_call_id or "", 0)))
                turn.blocks = [next(ranked) if b.tool_call_id is not None else b
                               for b in turn.blocks]


def _last_user_index(turns: list[_Turn]) -> int:
    return max((i for i, t in enumerate(turns) if t.role in ("user", "developer")), default=-1)


def encode_v4(
    messages: list[Message],
    *,
    tools: list[ToolSpec] | None = None,
    thinking: bool = False,
    reasoning_effort: ReasoningEffort | None = None,
    drop_thinking: bool = True,
    add_bos: bool = True,
) -> str:
    """The V4 prompt for `messages`, ending ready for the assistant's reply.

    `tools` go into the (first) system message, which is created when there is none.
    `reasoning_effort="max"` prefixes the prompt with the maximum-effort instruction in
    thinking mode ("high" is the model's default and adds nothing). Earlier turns'
    reasoning is dropped in thinking mode when `drop_thinking` and no tools are given.
    """
    if reasoning_effort not in (None, "high", "max"):
        raise ChatEncodingError(f"reasoning_effort must be 'high' or 'max', not "
                                f"{reasoning_effort!r}")
    turns = _merge_turns(messages)
    if tools:
        if not turns or turns[0].role != "system":
            turns.insert(0, _Turn(Message("system", "")))
        turns[0].tools = list(tools)
    _order_tool_results(turns)
    drop = drop_thinking and not tools
    if thinking and drop:
        last_user = _last_user_index(turns)
        turns = [t for i, t in enumerate(turns) if t.role != "developer" or i >= last_user]
    last_user = _last_user_index(turns)

    out = [V4_BOS_TEXT] if add_bos else []
    for i, turn in enumerate(turns):
        if i == 0 and thinking and reasoning_effort == "max":
            out.append(REASONING_EFFORT_MAX)
        out.append(_render_v4_turn(turn, keep_reasoning=thinking and (not drop or i > last_user)))
        followed_by_reply = i + 1 == len(turns) or turns[i + 1].role == "assistant"
        if turn.role in ("user", "developer") and followed_by_reply:
            opens_thinking = thinking and (not drop or i >= last_user)
            out.append(V4_ASSISTANT + (THINK_OPEN if opens_thinking else THINK_CLOSE))
    return "".join(out)


def _render_v4_turn(turn: _Turn, keep_reasoning: bool) -> str:
    msg = turn.message
    if turn.role == "user":
        return V4_USER + "\n\n".join(b.text for b in turn.blocks)
    tools = "\n\n" + render_tools(turn.tools) if turn.tools else ""
    if turn.role == "system":
        return msg.content + tools
    if turn.role == "developer":
        return V4_USER + msg.content + tools
    reasoning = (msg.reasoning or "") + THINK_CLOSE if keep_reasoning else ""
    calls = render_tool_calls(list(msg.tool_calls)) if msg.tool_calls else ""
    return reasoning + msg.content + calls + EOS_TEXT


def encode_chatml(
    messages: list[Message],
    *,
    tools: list[ToolSpec] | None = None,
    add_generation_prompt: bool = True,
    default_system: str = SMOLLM2_DEFAULT_SYSTEM,
) -> str:
    """ChatML as in SmolLM2's template: a default system turn when none is given first.

    Tools, if any, are described in the system turn in the same DSML form V4 uses, so one
    parser reads tool calls from either model. Assistant tool calls are written the same way.
    """
    messages = list(messages)
    if not messages or messages[0].role != "system":
        messages.insert(0, Message("system", default_system))
    out = []
    for i, msg in enumerate(messages):
        content = msg.content
        if i == 0 and tools:
            content += "\n\n" + render_tools(list(tools))
        if msg.tool_calls:
            content += render_tool_calls(list(msg.tool_calls))
        out.append(f"<|im_start|>{msg.role}\n{content}<|im_end|>\n")
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


class ChatFormat(Protocol):
    """How one model family turns a conversation into a prompt and reads its reply."""

    def encode(self, messages: list[Message], tools: list[ToolSpec] | None = None,
               thinking: bool = False) -> str:
        """The prompt text, ending where the assistant's reply begins."""
        ...

    def parser(self, thinking: bool) -> DsmlStreamParser:
        """A fresh parser for the reply to a prompt encoded with the same `thinking`."""
        ...


@dataclass(frozen=True)
class V4ChatFormat:
    """DeepSeek V4's format; `reasoning_effort` applies to thinking-mode prompts."""

    reasoning_effort: ReasoningEffort | None = None

    def encode(self, messages: list[Message], tools: list[ToolSpec] | None = None,
               thinking: bool = False) -> str:
        """See `encode_v4`."""
        return encode_v4(messages, tools=tools, thinking=thinking,
                         reasoning_effort=self.reasoning_effort)

    def parser(self, thinking: bool) -> DsmlStreamParser:
        """A DSML parser starting in reasoning (thinking) or content mode."""
        return DsmlStreamParser(thinking)


@dataclass(frozen=True)
class ChatMLFormat:
    """ChatML for small llama-family models; they have no thinking mode."""

    default_system: str = SMOLLM2_DEFAULT_SYSTEM

    def encode(self, messages: list[Message], tools: list[ToolSpec] | None = None,
               thinking: bool = False) -> str:
        """See `encode_chatml`; `thinking` is ignored."""
        return encode_chatml(messages, tools=tools, default_system=self.default_system)

    def parser(self, thinking: bool) -> DsmlStreamParser:
        """A DSML parser in content mode (the reply never holds reasoning)."""
        return DsmlStreamParser(thinking=False)
