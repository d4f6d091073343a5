"""V4 chat encoding, its DSML parser (round trips and fuzzing), and ChatML for SmolLM2."""

from __future__ import annotations

import json
import math

import jinja2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from model_runtime.chat import (
    REASONING_EFFORT_MAX,
    ChatEncodingError,
    ChatMLFormat,
    Message,
    ToolSpec,
    V4ChatFormat,
    encode_chatml,
    encode_v4,
    render_tools,
)
from model_runtime.dsml import (
    EOS_TEXT,
    INVOKE_CLOSE,
    INVOKE_OPEN,
    PARAM_CLOSE,
    PARAM_OPEN,
    TOOL_CALLS_CLOSE,
    TOOL_CALLS_OPEN,
    ContentDelta,
    DsmlStreamParser,
    ParsedMessage,
    ReasoningDelta,
    ToolCall,
    ToolCallEvent,
    parse_completion,
    render_tool_calls,
)
from model_runtime.tokenizer import Tokenizer, gguf_path_of_smollm2

BOS = "<｜begin▁of▁sentence｜>"
U, A = "<｜User｜>", "<｜Assistant｜>"
SEARCH = ToolSpec("search", "Search the code", {"type": "object",
                                                "properties": {"q": {"type": "string"}}})


# -- encoding: exact strings, following DeepSeek's encoding_dsv4.py ---------------------------

def test_chat_mode_closes_thinking_after_each_assistant_tag() -> None:
    msgs = [Message("system", "Be brief."), Message("user", "hi"),
            Message("assistant", "hello", reasoning="ignored in chat mode"),
            Message("user", "bye")]
    assert encode_v4(msgs) == (f"{BOS}Be brief.{U}hi{A}</think>hello{EOS_TEXT}"
                               f"{U}bye{A}</think>")


def test_thinking_mode_opens_thinking_and_drops_earlier_reasoning() -> None:
    msgs = [Message("user", "q1"), Message("assistant", "a1", reasoning="r1"),
            Message("user", "q2")]
    assert encode_v4(msgs, thinking=True) == (f"{BOS}{U}q1{A}</think>a1{EOS_TEXT}"
                                              f"{U}q2{A}<think>")
    kept = encode_v4(msgs, thinking=True, drop_thinking=False)
    assert kept == f"{BOS}{U}q1{A}<think>r1</think>a1{EOS_TEXT}{U}q2{A}<think>"


def test_tools_go_into_the_system_prompt_and_keep_all_reasoning() -> None:
    call = ToolCall("search", {"q": "foo", "limit": 3}, id="c1")
    msgs = [Message("system", "You are Fathom."), Message("user", "find foo"),
            Message("assistant", "", reasoning="need to search", tool_calls=(call,)),
            Message("tool", "foo.py:1", tool_call_id="c1")]
    prompt = encode_v4(msgs, tools=[SEARCH], thinking=True)
    expected_call = (
        f'\n\n{TOOL_CALLS_OPEN}\n{INVOKE_OPEN} name="search">\n'
        f'{PARAM_OPEN} name="q" string="true">foo{PARAM_CLOSE}\n'
        f'{PARAM_OPEN} name="limit" string="false">3{PARAM_CLOSE}\n'
        f"{INVOKE_CLOSE}\n{TOOL_CALLS_CLOSE}"
    )
    assert prompt == (
        f"{BOS}You are Fathom.\n\n{render_tools([SEARCH])}{U}find foo{A}<think>"
        f"need to search</think>{expected_call}{EOS_TEXT}"
        f"{U}<tool_result>foo.py:1</tool_result>{A}<think>"
    )
    assert '{"name": "search", "description": "Search the code"' in render_tools([SEARCH])
    # Without a system message, one is created to carry the tools.
    bare = encode_v4([Message("user", "x")], tools=[SEARCH])
    assert bare == f"{BOS}\n\n{render_tools([SEARCH])}{U}x{A}</think>"


def test_tool_results_merge_into_one_user_turn_in_call_order() -> None:
    calls = (ToolCall("a", {}, id="1"), ToolCall("b", {}, id="2"))
    msgs = [Message("user", "go"), Message("assistant", "", tool_calls=calls),
            Message("tool", "B", tool_call_id="2"), Message("tool", "A", tool_call_id="1"),
            Message("user", "and then?")]
    prompt = encode_v4(msgs)
    assert prompt.endswith(f"{U}<tool_result>A</tool_result>\n\n<tool_result>B</tool_result>"
                           f"\n\nand then?{A}</think>")


def test_developer_role_and_max_reasoning_effort() -> None:
    msgs = [Message("system", "S"), Message("developer", "Use tabs."), Message("user", "q")]
    assert encode_v4(msgs) == f"{BOS}S{U}Use tabs.{U}q{A}</think>"
    assert encode_v4(msgs, thinking=True, reasoning_effort="max") == (
        f"{BOS}{REASONING_EFFORT_MAX}S{U}q{A}<think>")  # earlier developer turns are dropped
    assert encode_v4(msgs, reasoning_effort="max") == encode_v4(msgs)  # chat mode: no prefix
    assert encode_v4(msgs, thinking=True, reasoning_effort="high") == f"{BOS}S{U}q{A}<think>"
    with pytest.raises(ChatEncodingError, match="reasoning_effort"):
        encode_v4(msgs, reasoning_effort="extreme")  # type: ignore[arg-type]
    with pytest.raises(ChatEncodingError, match="developer"):
        encode_v4([Message("developer", "")])


def test_openai_messages_convert() -> None:
    msg = Message.from_openai({
        "role": "assistant", "content": None, "reasoning_content": "r",
        "tool_calls": [{"id": "x", "type": "function",
                        "function": {"name": "f", "arguments": '{"a": [1, 2]}'}}]})
    assert msg == Message("assistant", "", reasoning="r",
                          tool_calls=(ToolCall("f", {"a": [1, 2]}, id="x"),))
    assert ToolSpec.from_openai({"type": "function", "function": {
        "name": "s", "description": "d", "parameters": {}}}) == ToolSpec("s", "d", {})
    with pytest.raises(ChatEncodingError, match="not JSON"):
        Message.from_openai({"role": "assistant", "tool_calls": [
            {"function": {"name": "f", "arguments": "{oops"}}]})
    with pytest.raises(ChatEncodingError, match="role"):
        Message.from_openai({"role": "wizard", "content": "x"})


# -- round trips: encode an assistant turn, parse it back ---------------------------------

def _reply_text(history: list[Message], reply: Message, thinking: bool,
                tools: list[ToolSpec] | None = None) -> str:
    """What the model would generate for `reply`: the full encoding minus the prompt."""
    prompt = encode_v4(history, thinking=thinking, tools=tools)
    full = encode_v4([*history, reply], thinking=thinking, tools=tools)
    assert full.startswith(prompt)
    return full[len(prompt):]


@pytest.mark.parametrize("thinking", [False, True])
def test_round_trip_with_tool_calls_and_thinking(thinking: bool) -> None:
    calls = (ToolCall("search", {"q": "a \"quoted\" <b>", "n": 2, "deep": {"x": [1.5, None]}},
                      id="call_0"),
             ToolCall("read", {"path": "src/x.py", "lines": [1, 20], "ok": True}, id="call_1"))
    reply = Message("assistant", "Let me check.", reasoning="I should search." if thinking
                    else None, tool_calls=calls)
    text = _reply_text([Message("user", "where is foo?")], reply, thinking, tools=[SEARCH])
    parsed = parse_completion(text, thinking=thinking)
    assert parsed == ParsedMessage(reasoning=reply.reasoning or "", content="Let me check.",
                                   tool_calls=list(calls))
    assert json.loads(parsed.tool_calls[0].arguments_json())["deep"] == {"x": [1.5, None]}


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_MARKERS = ("<think>", "</think>", "｜DSML｜", EOS_TEXT)
_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,15}", fullmatch=True)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAME, inner, max_size=3),
    max_leaves=6,
)


def _clean(text: str) -> bool:
    return not any(m in text for m in _MARKERS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(thinking=st.booleans(), reasoning=_TEXT, content=_TEXT,
       calls=st.lists(st.tuples(_NAME, st.dictionaries(_NAME, _JSON, max_size=4)), max_size=3))
def test_round_trip_fuzzed(thinking: bool, reasoning: str, content: str,
                           calls: list[tuple[str, dict]]) -> None:
    assume(_clean(reasoning) and _clean(content) and _clean(json.dumps(calls)))
    assume(all(_clean(v) for _, args in calls for v in args.values() if isinstance(v, str)))
    tool_calls = tuple(ToolCall(n, a, id=f"call_{i}") for i, (n, a) in enumerate(calls))
    reply = Message("assistant", content, reasoning=reasoning if thinking else None,
                    tool_calls=tool_calls)
    text = _reply_text([Message("user", "q")], reply, thinking)
    parsed = parse_completion(text, thinking)
    assert parsed.issues == []
    assert (parsed.reasoning, parsed.content) == (reasoning if thinking else "", content)
    # JSON floats survive exactly; -0.0 == 0.0 and friends compare equal.
    assert parsed.tool_calls == list(tool_calls)
    assert all(not (isinstance(v, float) and math.isnan(v))
               for c in parsed.tool_calls for v in c.arguments.values())


# -- the streaming parser on broken output -------------------------------------------------

def test_streaming_events_in_order() -> None:
    text = ("think hard</think>Answer"
            + render_tool_calls([ToolCall("f", {"x": 1})]) + EOS_TEXT)
    parser = DsmlStreamParser(thinking=True)
    events = [e for ch in text for e in parser.feed(ch)] + parser.finish()
    kinds = [type(e) for e in events]
    assert kinds.index(ToolCallEvent) > max(i for i, k in enumerate(kinds) if k is ContentDelta)
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "think hard"
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == "Answer"
    assert parser.result.issues == []


@pytest.mark.parametrize(("text", "thinking", "issue", "calls"), [
    ("no end of reasoning", True, "ended before </think>", 0),
    ("r</think>a\n\n" + TOOL_CALLS_OPEN + f'\n{INVOKE_OPEN} name="f">\n', True,
     "not closed", 0),
    (f'{TOOL_CALLS_OPEN}{INVOKE_OPEN} name="f">{PARAM_OPEN} name="x" string="false">'
     f"{{bad json{PARAM_CLOSE}{INVOKE_CLOSE}{TOOL_CALLS_CLOSE}", False, "not valid JSON", 1),
    (f'{INVOKE_OPEN} name="f">{INVOKE_CLOSE}', False, "outside a tool_calls block", 1),
    (f"{TOOL_CALLS_OPEN}{TOOL_CALLS_CLOSE} trailing words", False, "text after tool calls", 0),
    (f"{TOOL_CALLS_OPEN}junk{TOOL_CALLS_CLOSE}", False, "unexpected text", 0),
    (f'{TOOL_CALLS_OPEN}{INVOKE_OPEN} nam="f">{INVOKE_CLOSE}{TOOL_CALLS_CLOSE}', False,
     "malformed tool call header", 0),
    (f"done{EOS_TEXT}more", False, "after end of sentence", 0),
    ("answer <think> x", False, "unexpected <think>", 0),
    (f'{TOOL_CALLS_OPEN}{INVOKE_OPEN} name="f">{PARAM_OPEN} name="x" string="true">1'
     f'{PARAM_CLOSE}{PARAM_OPEN} name="x" string="true">2{PARAM_CLOSE}{INVOKE_CLOSE}',
     False, "duplicate parameter", 1),
])
def test_malformed_output_is_reported_not_raised(text: str, thinking: bool, issue: str,
                                                 calls: int) -> None:
    parsed = parse_completion(text, thinking)
    assert any(issue in i.message for i in parsed.issues), parsed.issues
    assert len(parsed.tool_calls) == calls


def test_bad_json_is_kept_as_a_string() -> None:
    text = (f'{TOOL_CALLS_OPEN}\n{INVOKE_OPEN} name="f">\n{PARAM_OPEN} name="n" '
            f'string="false">12 apples{PARAM_CLOSE}\n{INVOKE_CLOSE}\n{TOOL_CALLS_CLOSE}')
    assert parse_completion(text, False).tool_calls == [ToolCall("f", {"n": "12 apples"},
                                                                 id="call_0")]


_FRAGMENTS = st.sampled_from([
    "<think>", "</think>", "\n\n", "\n", " ", TOOL_CALLS_OPEN, TOOL_CALLS_CLOSE, INVOKE_OPEN,
    INVOKE_CLOSE, PARAM_OPEN, PARAM_CLOSE, ' name="f">', ' name="x" string="true">',
    ' string="false">', ' string="maybe">', '{"a": [1, 2]}', "{oops", "42", EOS_TEXT,
    "<", "</", "<｜", "｜DSML｜", "<｜DSML｜tool", "hello", "ü😀", '"', ">",
])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_FRAGMENTS | _TEXT, max_size=30), thinking=st.booleans(),
       cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12))
def test_fuzzed_broken_dsml_never_crashes_and_chunking_does_not_matter(
        pieces: list[str], thinking: bool, cuts: list[int]) -> None:
    text = "".join(pieces)
    whole = parse_completion(text, thinking)
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    parser = DsmlStreamParser(thinking)
    events = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        events += parser.feed(text[lo:hi])
    events += parser.finish()
    assert parser.result == whole
    assert "".join(e.text for e in events if isinstance(e, ContentDelta)) == whole.content
    assert [e.call for e in events if isinstance(e, ToolCallEvent)] == whole.tool_calls


# -- ChatML (SmolLM2) ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def smol_template() -> str:
    template = Tokenizer.from_gguf(gguf_path_of_smollm2()).chat_template
    assert template is not None
    return template


@pytest.mark.parametrize("messages", [
    [Message("user", "What is 2+2?")],
    [Message("system", "Answer in French."), Message("user", "Hello"),
     Message("assistant", "Bonjour"), Message("user", "Bye")],
])
def test_chatml_matches_the_ggufs_own_template(smol_template: str,
                                               messages: list[Message]) -> None:
    rendered = jinja2.Template(smol_template).render(
        messages=[{"role": m.role, "content": m.content} for m in messages],
        add_generation_prompt=True)
    assert encode_chatml(messages) == rendered


def test_chat_formats_share_one_interface() -> None:
    msgs = [Message("user", "hi")]
    assert V4ChatFormat().encode(msgs, thinking=True).endswith(f"{A}<think>")
    assert V4ChatFormat().parser(thinking=True).feed("r</think>a") == [ReasoningDelta("r"),
                                                                     ContentDelta("a")]
    chatml = ChatMLFormat().encode(msgs, tools=[SEARCH])
    assert "## Tools" in chatml and chatml.endswith("<|im_start|>assistant\n")
    reply = "Sure." + render_tool_calls([ToolCall("search", {"q": "x"})])
    parser = ChatMLFormat().parser(thinking=True)
    parser.feed(reply)
    parser.finish()
    assert parser.result.tool_calls == [ToolCall("search", {"q": "x"}, id="call_0")]
