"""Generating for one prompt at a time: a thin wrapper over the engine's synchronous core.

`generate` streams the continuation of one prompt as `TokenEvent`s (`generate_events`
also yields a `PrefillEvent` after each prefill chunk) with the engine's semantics: stop
strings are never released, output that loops ends the stream, deltas never split a
UTF-8 character (see `model_runtime.stream`). It runs an `EngineCore` with one place, no
prefix cache and the context the prompt needs, stepped in the caller's thread. Works for
any model with `forward(input_ids, positions, cache, num_logits)` and
`new_cache(batch_size, max_len)` (llama, DeepSeek V4, test doubles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from model_runtime.engine_core import EngineConfig, EngineCore
from model_runtime.requests import Finished, GenerationParams
from model_runtime.runner import CausalLM
from model_runtime.sampling import SamplingParams
from model_runtime.stream import FinishReason, PrefillEvent, TokenEvent
from model_runtime.tokenizer import Tokenizer

__all__ = ["PREFILL_CHUNK", "CausalLM", "FinishReason", "PrefillEvent", "TokenEvent",
           "generate", "generate_events", "generate_text"]

PREFILL_CHUNK = 512  # prompt tokens per prefill chunk when progress is reported


def generate(
    model: CausalLM,
    tokenizer: Tokenizer,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    stop: Sequence[str] = (),
    seed: int | None = None,
    prefill_chunk: int | None = None,
    on_prefill: Callable[[int, int], None] | None = None,
    repetition_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
) -> Iterator[TokenEvent]:
    """Stream the continuation of `prompt_ids`, one `TokenEvent` per generated token.

    `temperature == 0` is greedy; otherwise tokens are sampled from the top-p nucleus,
    reproducibly when `seed` is given. `repetition_penalty` and `no_repeat_ngram_size`
    discourage and forbid repeating the output (see `SamplingParams`; off by default);
    output that loops anyway ends the stream with "repetition". Only the last position's
    logits are computed.
    `prefill_chunk` feeds a long prompt in pieces of that many tokens, bounding the
    activations the prefill materialises. `on_prefill(done, total)` hears after each
    piece how many prompt tokens are in; given alone, it implies pieces of PREFILL_CHUNK.
    """
    if prefill_chunk is None and on_prefill is not None:
        prefill_chunk = PREFILL_CHUNK
    for event in generate_events(model, tokenizer, prompt_ids, max_new_tokens,
                                 temperature=temperature, top_p=top_p, stop=stop, seed=seed,
                                 prefill_chunk=prefill_chunk,
                                 repetition_penalty=repetition_penalty,
                                 no_repeat_ngram_size=no_repeat_ngram_size):
        if isinstance(event, TokenEvent):
            yield event
        elif on_prefill is not None:
            on_prefill(event.done, event.total)


def generate_events(
    model: CausalLM,
    tokenizer: Tokenizer,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    stop: Sequence[str] = (),
    seed: int | None = None,
    prefill_chunk: int | None = None,
    repetition_penalty: float = 1.0,
    no_repeat_ngram_size: int = 0,
) -> Iterator[PrefillEvent | TokenEvent]:
    """`generate`, with a `PrefillEvent` in the stream after each prefill piece: for a
    caller that is itself a stream and cannot yield from a callback.

    Raises:
        ValueError: bad arguments (on the first `next`).
        RuntimeError: the model failed (its error in the message).
    """
    params = GenerationParams(
        max_new_tokens, SamplingParams(temperature=temperature, top_p=top_p,
                                       repetition_penalty=repetition_penalty,
                                       no_repeat_ngram_size=no_repeat_ngram_size),
        tuple(stop), seed)
    chunk = max(len(prompt_ids), 1) if prefill_chunk is None else prefill_chunk
    core = EngineCore(model, tokenizer, EngineConfig(
        max_running=1, max_waiting=0, prefill_chunk=chunk, prefix_cache_bytes=0,
        max_context=len(prompt_ids) + max_new_tokens))
    core.add_request(prompt_ids, params)
    while True:
        for _, event in core.step():
            if isinstance(event, Finished):
                if event.error is not None:
                    raise RuntimeError(f"generation failed: {event.error}")
                return
            yield event


def generate_text(model: CausalLM, tokenizer: Tokenizer, prompt: str, max_new_tokens: int,
                  **options: Any) -> tuple[str, FinishReason]:
    """Convenience wrapper: the whole continuation of a text prompt and why it ended.

    `options` are `generate`'s keyword arguments (temperature, top_p, stop, seed, …).
    """
    parts = []
    reason: FinishReason = "length"
    for event in generate(model, tokenizer, tokenizer.encode(prompt), max_new_tokens,
                          **options):
        parts.append(event.text)
        reason = event.finish_reason or reason
    return "".join(parts), reason
