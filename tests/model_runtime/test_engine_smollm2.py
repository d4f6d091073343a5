"""The engine on the bundled SmolLM2-135M: concurrent requests on a shared prefix read it
from the prefix cache and continue as a cold request does."""

from __future__ import annotations

import pytest
import torch

from model_runtime.chat import ChatMLFormat, Message
from model_runtime.engine import Engine, EngineConfig, GenerationParams
from model_runtime.gguf_loader import load_gguf_with_tokenizer
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.tokenizer import Tokenizer, gguf_path_of_smollm2
from tests.conftest import FIXTURES
from tests.model_runtime.causality import rounding_tolerance
from tests.model_runtime.engine_helpers import Run, record_logits, run_alone, safe_rows


@pytest.fixture(scope="module")
def smollm2() -> tuple[LlamaForCausalLM, Tokenizer]:
    return load_gguf_with_tokenizer(gguf_path_of_smollm2())


@pytest.mark.slow
def test_smollm2_follow_ups_on_a_cached_prefix_continue_as_cold_requests(
        smollm2: tuple[LlamaForCausalLM, Tokenizer]) -> None:
    model, tokenizer = smollm2
    code = (FIXTURES / "shop" / "shop" / "pricing.py").read_text(encoding="utf-8")
    system = Message("system", f"You answer questions about this file.\n{code}")

    def prompt(question: str) -> list[int]:
        return tokenizer.encode(ChatMLFormat().encode([system, Message("user", question)]))

    # Questions whose greedy answers have no near-ties in their first 8 tokens.
    first, second, third = (prompt(q) for q in (
        "Explain the code.", "Is there a bug?", "What is the file about?"))
    shared = next(i for i, (a, b) in enumerate(zip(second, third, strict=False)) if a != b)
    assert shared > 150
    params = GenerationParams(8)
    engine = Engine(model, tokenizer, EngineConfig(prefill_chunk=128))
    run = Run()
    record_logits(engine, run)
    list(engine.generate(first, params))
    handles = [engine.submit(p, params) for p in (second, third)]  # decoded together
    results = [list(h.events(timeout=120)) for h in handles]
    engine.close()
    terms = model.config.hidden_size
    for handle, ids, events in zip(handles, (second, third), results, strict=True):
        run.events[handle.request_id] = events
        assert run.finished(handle.request_id).usage.cached_prompt_tokens >= shared
        cold, cold_run = run_alone(model, tokenizer, ids, params, prefill_chunk=128)
        (rows,) = cold_run.logits.values()
        sampled = rows[-len(cold):]
        assert safe_rows(sampled, terms) == len(cold)
        assert run.tokens(handle.request_id) == cold
        warm = run.logits[handle.request_id][-len(cold):]
        worst = max((a - b).abs().max().item() for a, b in zip(warm, sampled, strict=True))
        assert worst <= rounding_tolerance(torch.stack(sampled), terms)
