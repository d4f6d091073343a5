"""The embedded backend on the engine: calls that start with the same packed repository
read it from the prefix cache (and say so in `usage`), concurrent calls are batched, and a
reply abandoned half-way frees its cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from agents.backends.embedded import EmbeddedBackend, LoadedModel
from agents.events import EventLog
from agents.graphs.ask.graph import AskResult
from agents.graphs.runner import start_run
from agents.llm import ChatMessage, ChatResult, PrefillProgress, StreamEvent, ToolSpec
from model_runtime.chat import ChatMLFormat, Message
from model_runtime.config import LlamaConfig
from model_runtime.models.llama import LlamaForCausalLM
from tests.conftest import FIXTURES
from tests.model_runtime.tiny_models import tiny_tokenizer

CONTEXT = 8192


class _TinyEmbedded(EmbeddedBackend):
    """The embedded backend over a tiny random llama and a byte-level tokenizer, keeping
    the messages of every call."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.calls: list[list[ChatMessage]] = []

    def _load(self) -> LoadedModel:
        config = LlamaConfig(vocab_size=257, hidden_size=32, intermediate_size=64,
                             num_layers=1, num_heads=2, num_kv_heads=1, head_dim=16,
                             max_position_embeddings=CONTEXT)
        return LoadedModel(LlamaForCausalLM(config).eval(), tiny_tokenizer(), ChatMLFormat(),
                           CONTEXT)

    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        self.calls.append(messages)
        return super()._stream(messages, tools, thinking)


def _system_prefix_tokens(model: _TinyEmbedded, messages: list[ChatMessage]) -> int:
    """Tokens of the prompt up to the end of the system message (the packed repository)."""
    loaded = model.loaded()
    text = loaded.chat_format.encode([Message(m.role, m.content) for m in messages])
    system = messages[0].content
    return len(loaded.tokenizer.encode(text[:text.index(system) + len(system)]))


def _repository_text() -> str:
    shop = FIXTURES / "shop"
    files = sorted(p for p in shop.rglob("*.py"))
    return "\n".join(f"{p.relative_to(shop)}:\n{p.read_text(encoding='utf-8')}" for p in files)


def test_a_second_question_on_the_same_system_message_reads_it_from_the_cache() -> None:
    model = _TinyEmbedded(max_new_tokens=4)
    system = ChatMessage.system(_repository_text())
    first = model.chat([system, ChatMessage.user("What does checkout do?")])
    assert first.usage.cached_prompt_tokens == 0
    events = list(model.chat([system, ChatMessage.user("Where are refunds?")], stream=True))
    result = events[-1]
    assert isinstance(result, ChatResult)
    prefix = _system_prefix_tokens(model, model.calls[-1])
    assert prefix > 1000
    assert result.usage.cached_prompt_tokens >= prefix
    progress = [e for e in events if isinstance(e, PrefillProgress)]
    assert progress[0].done == result.usage.cached_prompt_tokens  # read, not computed
    assert progress[-1].done == progress[-1].total == result.usage.prompt_tokens
    totals = model.meter.totals
    assert totals.cached_prompt_tokens == result.usage.cached_prompt_tokens
    assert model.engine().memory().bytes_in_use == 0


def test_an_ask_follow_up_reuses_the_packed_repository(shop_repo: Path) -> None:
    model = _TinyEmbedded(max_new_tokens=3)
    question = "what does checkout do?"
    first = start_run("ask", shop_repo, {"question": question, "repo": str(shop_repo),
                                         "path": "fast"}, model=model)
    answer = AskResult.from_state(first.state).reply
    log = EventLog()
    start_run("ask", shop_repo, {"question": "and refunds?", "repo": str(shop_repo),
                                 "path": "fast",
                                 "history": [{"question": question, "answer": answer}]},
              model=model, emit=log)
    (used,) = log.of("tokens")
    messages = model.calls[-1]
    assert messages[0].role == "system" and '<repository name="shop">' in messages[0].content
    prefix = _system_prefix_tokens(model, messages)
    assert used.cached_prompt_tokens >= prefix > 1000


def test_concurrent_calls_share_the_engine_and_an_abandoned_reply_frees_its_cache() -> None:
    model = _TinyEmbedded(max_new_tokens=6)
    replies: list[ChatResult] = []

    def ask(n: int) -> None:
        replies.append(model.chat([ChatMessage.user(f"question {n} " * 20)]))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(replies) == 4 and all(r.usage.completion_tokens >= 1 for r in replies)
    stream = model.chat([ChatMessage.user("a long question " * 50)], stream=True)
    assert isinstance(next(stream), PrefillProgress)
    stream.close()  # the consumer walks away before the reply
    assert model.engine().memory().sequences_running == 0
