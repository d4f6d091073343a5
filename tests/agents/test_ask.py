"""The `ask` graph: retrieval, one call, verified citations, and the no-model fallback."""

from __future__ import annotations

from pathlib import Path

import tokenizers
import torch
from tokenizers import AddedToken, decoders, models, pre_tokenizers

from agents.backends.embedded import EmbeddedBackend, LoadedModel
from agents.backends.scripted import ScriptedBackend, Transcript
from agents.citations import Citation
from agents.events import EVENT_ADAPTER, EventLog, Progress
from agents.graphs.ask.context import build_context
from agents.graphs.ask.graph import AskResult, recent_turns
from agents.graphs.base import RunContext
from agents.graphs.runner import resume_run, start_run
from model_runtime.chat import ChatMLFormat
from model_runtime.config import LlamaConfig
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.tokenizer import Tokenizer
from tests.conftest import FIXTURES

TRANSCRIPTS = FIXTURES / "transcripts"


def ask(root: Path, question: str, **options: object) -> dict[str, object]:
    return {"question": question, "repo": str(root), "path": "fast", **options}


def test_ask_keeps_real_citations_and_drops_fabricated_ones(shop_repo: Path) -> None:
    model = ScriptedBackend.from_file(TRANSCRIPTS / "ask_fabricated.json")
    log = EventLog()
    outcome = start_run("ask", shop_repo, ask(shop_repo, "How are discount codes applied?"),
                        model=model, emit=log)
    result = AskResult.from_state(outcome.state)
    assert result.model == "scripted-answerer" and result.path == "fast"
    assert result.citations == [Citation("shop/pricing.py", 8, 8),
                                Citation("shop/pricing.py", 5, 5),
                                Citation("shop/checkout.py", 9, 9)]
    assert {d.text: d.reason for d in result.dropped} == {
        "shop/refunds.py:12": "shop/refunds.py: no such file",
        "shop/pricing.py:16": "lines 14-17 of shop/pricing.py do not mention checkout"}
    assert "shop/refunds.py:12 [unverified]" in result.answer
    assert result.answer.endswith("shop/pricing.py:16: lines 14-17 of shop/pricing.py do not "
                                  "mention checkout")
    assert len(log.of("notice")) == 2
    assert set(result.to_json()) == {"answer", "citations", "sources", "path", "model"}
    system, question = model.requests[0][0].content, model.requests[0][-1].content
    assert '<repository name="shop">' in system  # the pack leads, the same for every question
    assert question.startswith("<relevant_spans>") and question.endswith(
        "Question: How are discount codes applied?")
    manifest = result.manifest
    assert manifest is not None and manifest.included and manifest.count("omitted") == 0
    assert {f.path for f in manifest.files} >= {"shop/pricing.py", "shop/checkout.py"}
    assert manifest.pack_tokens + manifest.spans_tokens <= manifest.budget < manifest.context
    assert [e.manifest for e in log.of("context")] == [manifest]
    streamed = "".join(e.text for e in log.of("answer_delta"))
    assert streamed == result.reply and "[unverified]" in result.answer.replace(streamed, "")


def _answers(*replies: str, reasoning: str | None = None) -> ScriptedBackend:
    return ScriptedBackend(Transcript.model_validate({"model": "scripted", "turns": [
        {"expect": {"role": "user"}, "reply": {"content": r, "reasoning": reasoning}}
        for r in replies]}))


def test_follow_ups_reuse_the_conversation(shop_repo: Path) -> None:
    first = "`apply_discount` (shop/pricing.py:8) applies it."
    model = _answers("It is called from `checkout` (shop/checkout.py:9).",
                     reasoning="The question follows one about discounts.")
    history = [{"question": "How is the discount applied?", "answer": first}]
    log = EventLog()
    outcome = start_run("ask", shop_repo, ask(shop_repo, "Where is it called?", path="slow",
                                              history=history), model=model, emit=log)
    messages = model.requests[0]
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1].content == history[0]["question"] and messages[2].content == first
    assert messages[3].content.endswith("Question: Where is it called?")
    result = AskResult.from_state(outcome.state)
    assert result.manifest is not None
    assert result.manifest.query == "How is the discount applied? Where is it called?"
    assert result.citations == [Citation("shop/checkout.py", 9, 9)]
    assert "".join(e.text for e in log.of("reasoning_delta")) == (
        "The question follows one about discounts.")


def test_long_histories_keep_the_last_turns_that_fit() -> None:
    turns = [{"question": f"question {n}?", "answer": "word " * 50} for n in range(5)]
    kept, tokens = recent_turns(turns, 10_000)
    assert [t["question"] for t in kept] == ["question 2?", "question 3?", "question 4?"]
    assert 0 < tokens <= 10_000
    kept, tokens = recent_turns(turns, tokens // 3 + 1)
    assert [t["question"] for t in kept] == ["question 4?"]


def test_a_cancelled_answer_ends_the_run_as_interrupted(shop_repo: Path) -> None:
    log = EventLog()  # cancelled once the first piece of the answer has arrived
    outcome = start_run("ask", shop_repo, ask(shop_repo, "What does checkout do?"),
                        model=_answers("`checkout` (shop/checkout.py:9) takes the order."),
                        emit=log, cancelled=lambda: bool(log.of("answer_delta")))
    assert outcome.status == "interrupted" and outcome.record.status == "interrupted"
    assert len(log.of("answer_delta")) == 1 and "verify" not in {
        e.step for e in log.of("step_started")}
    assert log.of("run_finished")[-1].status == "interrupted"
    resumed = resume_run(shop_repo, outcome.run_id,
                         model=_answers("`checkout` (shop/checkout.py:9) takes the order."))
    assert resumed.status == "done"
    assert AskResult.from_state(resumed.state).citations == [Citation("shop/checkout.py", 9, 9)]


def test_ask_without_a_model_returns_the_ranked_spans(shop_repo: Path) -> None:
    outcome = start_run("ask", shop_repo, ask(shop_repo, "where is apply_discount defined?"),
                        model=None)
    result = AskResult.from_state(outcome.state)
    assert result.model == "none" and result.answer.startswith("No model answered")
    assert result.citations[0] == Citation("shop/pricing.py", 8, 13)  # apply_discount itself
    assert [c.path for c in result.citations] == [s.path for s in result.sources]
    assert "shop/pricing.py:" in result.answer and result.error is None
    assert result.manifest is not None and not result.manifest.included


def test_ask_falls_back_to_spans_when_the_model_fails(shop_repo: Path, tmp_path: Path) -> None:
    broken = EmbeddedBackend(tmp_path / "missing.gguf")
    result = AskResult.from_state(start_run(
        "ask", shop_repo, ask(shop_repo, "what does checkout do?"), model=broken).state)
    assert result.model == "none" and "failed to load" in result.answer
    assert result.error is not None and "failed to load" in result.error
    assert result.citations and result.citations[0].path == "shop/checkout.py"
    exhausted = ScriptedBackend(Transcript(turns=()))
    result = AskResult.from_state(start_run(
        "ask", shop_repo, ask(shop_repo, "what does checkout do?", context_tokens=4096),
        model=exhausted).state)
    assert result.model == "none" and "the model failed" in result.answer


def test_context_packs_the_whole_repository_when_it_fits(shop_repo: Path) -> None:
    whole = build_context(shop_repo, "apply_discount", 131_072, 100_000)
    assert whole.manifest.included and whole.manifest.count("omitted") == 0
    assert whole.pack.startswith("<repository") and whole.spans.startswith("<relevant_spans>")
    assert whole.sources[0].path == "shop/pricing.py" and whole.index.files > 0
    small = build_context(shop_repo, "apply_discount", 131_072, 400)
    assert len(small.pack) < len(whole.pack) and small.sources[0].path == "shop/pricing.py"
    assert small.manifest.pack_tokens + small.manifest.spans_tokens <= 400
    assert small.manifest.count("omitted") > 0
    spans_only = build_context(shop_repo, "apply_discount", 131_072, 400, with_pack=False)
    assert spans_only.pack == "" and not spans_only.manifest.included
    assert spans_only.manifest.reason == "no model will read it"


class _TinyEmbedded(EmbeddedBackend):
    """The embedded backend over a tiny random llama and a byte-level tokenizer."""

    def _load(self) -> LoadedModel:
        torch.manual_seed(0)
        config = LlamaConfig(vocab_size=257, hidden_size=32, intermediate_size=64,
                             num_layers=1, num_heads=2, num_kv_heads=1, head_dim=16,
                             max_position_embeddings=16_384)
        alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
        backend = tokenizers.Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)},
                                                  merges=[]))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        backend.add_special_tokens([AddedToken("<|eos|>", special=True)])
        tokenizer = Tokenizer(backend, bos_token=None, eos_token="<|eos|>")
        return LoadedModel(LlamaForCausalLM(config).eval(), tokenizer, ChatMLFormat(), 16_384)


def test_indexing_packing_and_prefill_progress_become_run_events(shop_repo: Path) -> None:
    log = EventLog()
    model = _TinyEmbedded(max_new_tokens=3, prefill_chunk=256)
    outcome = start_run("ask", shop_repo, ask(shop_repo, "what does checkout do?",
                                              context_tokens=1500), model=model, emit=log)
    assert outcome.status == "done" and AskResult.from_state(outcome.state).error is None
    progress = [e for e in log.events if isinstance(e, Progress)]
    assert {(e.step, e.task) for e in progress} == {
        ("retrieve", "indexing"), ("retrieve", "packing"), ("answer", "prefill")}
    for task in ("indexing", "packing", "prefill"):
        done = [e.done for e in progress if e.task == task]
        totals = {e.total for e in progress if e.task == task}
        assert len(totals) == 1 and done[-1] == totals.pop(), task
        assert all(a < b for a, b in zip(done, done[1:], strict=False)), task
    prompt = log.of("tokens")[0].prompt_tokens
    prefill = [e.done for e in progress if e.task == "prefill"]
    assert prompt > 1024 and prefill == [*range(256, prompt, 256), prompt]
    assert [e.done for e in progress if e.task == "packing"][0] == 0
    kinds = [e.kind for e in log.events]  # prefill is reported before the reply ends
    assert kinds.index("context") < kinds.index("progress", kinds.index("context")) < \
        kinds.index("tokens")
    for event in progress:
        assert EVENT_ADAPTER.validate_json(event.model_dump_json()) == event


def test_progress_events_are_one_per_percent() -> None:
    log = EventLog()
    ctx = RunContext("r", None, emit=log)
    for done in range(10_001):
        ctx.progress("retrieve", "packing", done, 10_000)
    ctx.progress("retrieve", "packing", 0, 0)  # a second, empty, task still starts and ends
    done = [e.done for e in log.of("progress")]
    assert done == [*range(0, 10_001, 100), 0]
