"""The engine's background thread and request handles: concurrent submits from many
threads, streaming, cancellation, timeouts and closing."""

from __future__ import annotations

import queue
import threading

import pytest

from model_runtime.engine import (
    Engine,
    EngineConfig,
    EngineEvent,
    Finished,
    GenerationParams,
    PrefillEvent,
    RequestHandle,
    TokenEvent,
)
from model_runtime.loops import LOOP_NGRAM
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.sampling import SamplingParams
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.engine_helpers import run_alone
from tests.model_runtime.tiny_models import random_tokens


def test_concurrent_submits_stream_what_each_request_gets_alone(
        llama: LlamaForCausalLM, byte_level: Tokenizer) -> None:
    prompts = [random_tokens(n, seed=n) for n in (3, 20, 45, 80, 11, 150)]
    params = GenerationParams(12)
    engine = Engine(llama, byte_level, EngineConfig(max_running=4, prefill_chunk=32))
    got: dict[int, list[EngineEvent]] = {}

    def client(i: int) -> None:
        got[i] = list(engine.generate(prompts[i], params))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.close()
    for i, prompt in enumerate(prompts):
        events = got[i]
        assert isinstance(events[-1], Finished) and events[-1].finish_reason != "error"
        tokens = [e.token_id for e in events if isinstance(e, TokenEvent)]
        assert tokens == run_alone(llama, byte_level, prompt, params, prefill_chunk=32)[0]
        assert events[-1].usage.prompt_tokens == len(prompt)


def test_cancel_and_close_end_streams_with_aborted_and_free_everything(
        llama: LlamaForCausalLM, byte_level: Tokenizer) -> None:
    # Thousands of tokens that never loop: neither request can end by itself in time.
    endless = GenerationParams(2000, SamplingParams(no_repeat_ngram_size=LOOP_NGRAM))
    engine = Engine(llama, byte_level, EngineConfig(max_running=1, prefill_chunk=16))
    long = engine.submit(random_tokens(40, seed=1), endless)
    queued = engine.submit(random_tokens(10, seed=2), endless)
    events = long.events(timeout=30)
    head = [next(events) for _ in range(4)]
    assert head[:3] == [PrefillEvent(16, 40), PrefillEvent(32, 40), PrefillEvent(40, 40)]
    assert isinstance(head[3], TokenEvent)
    long.cancel()
    rest = list(events)
    assert isinstance(rest[-1], Finished) and rest[-1].finish_reason == "aborted"
    long.cancel()  # finished already: nothing happens
    engine.close()  # the queued request is aborted too
    (last,) = [e for e in queued.events(timeout=30) if isinstance(e, Finished)]
    assert last.finish_reason == "aborted"
    memory = engine.memory()
    assert (memory.bytes_in_use, memory.bytes_cached, memory.sequences_running,
            memory.sequences_waiting) == (0, 0, 0, 0)
    with pytest.raises(RuntimeError, match="closed"):
        engine.submit([1], GenerationParams(1))


def test_a_handle_without_events_times_out(llama: LlamaForCausalLM,
                                           byte_level: Tokenizer) -> None:
    engine = Engine(llama, byte_level)
    handle = RequestHandle("silent", queue.SimpleQueue(), engine)
    with pytest.raises(TimeoutError, match="request silent: no event in 0.01 s"):
        next(handle.events(timeout=0.01))
    engine.close()  # never started a thread: nothing to stop
