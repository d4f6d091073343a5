"""Single-sequence generation with a contiguous KV cache, as a stream of token events.

The prompt is prefilled once (optionally in chunks, reporting progress after each), then
each step feeds one token.
Text arrives as deltas from `StreamDecoder`, so no delta splits a UTF-8 character; text
that might be the start of a stop string is held back until it is clear either way, so
stop strings never reach the caller. Works for any model with `forward(input_ids,
positions, cache, num_logits)` and `new_cache(batch_size, max_len)` (llama and DeepSeek V4).

Generation also stops when the output loops (`model_runtime.loops`: a stretch of 8 tokens
arrives a third time, as far after the second as the second was after the first),
whatever the sampling options. The text of that third occurrence is
not released: what the caller gets ends where it began, so the repeat shows at most twice.
To make that possible the text of the last 7 tokens is always held back until the next
token arrives (or the stream ends).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import torch
from torch import Tensor

from model_runtime.dsml import partial_marker_start
from model_runtime.loops import LOOP_NGRAM, LoopDetector
from model_runtime.sampling import RepeatControls, SamplingParams, sample
from model_runtime.tokenizer import Tokenizer

FinishReason = Literal["eos", "stop", "length", "repetition"]
PREFILL_CHUNK = 512  # prompt tokens per prefill chunk when progress is reported


class CausalLM(Protocol):
    """What `generate` needs from a model."""

    def forward(self, input_ids: Tensor, positions: Tensor | None = None,
                cache: Any = None, num_logits: int | None = None) -> Tensor:
        """Logits [B, T, vocab] (the last `num_logits` positions only when given); with a
        cache, continue the cached sequence."""
        ...

    def new_cache(self, batch_size: int, max_len: int) -> Any:
        """An empty decoding state for `batch_size` sequences of up to `max_len` tokens."""
        ...

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """The model's parameters (used to find its device)."""
        ...


@dataclass(frozen=True)
class TokenEvent:
    """One generated token and the text it releases (possibly empty).

    The last event of a stream has `finish_reason`: "eos" (the model ended its turn; the
    EOS token's own text is not included), "stop" (a stop string was produced; neither it
    nor anything after it is included), "length" (`max_new_tokens` reached) or
    "repetition" (the output looped; the text of the stretch's third occurrence, and any
    text held for a stop string, is not included).
    """

    token_id: int
    text: str
    finish_reason: FinishReason | None = None


@dataclass(frozen=True)
class PrefillEvent:
    """The first `done` of the prompt's `total` tokens are in the KV cache."""

    done: int
    total: int


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
    caller that is itself a stream (a chat backend) and cannot yield from a callback."""
    if not prompt_ids:
        raise ValueError("generate needs at least one prompt token")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if any(not s for s in stop):
        raise ValueError("stop strings must be non-empty")
    if prefill_chunk is not None and prefill_chunk < 1:
        raise ValueError(f"prefill_chunk must be >= 1, got {prefill_chunk}")
    params = SamplingParams(temperature=temperature, top_p=top_p,
                            repetition_penalty=repetition_penalty,
                            no_repeat_ngram_size=no_repeat_ngram_size)
    stops = tuple(stop)
    device = next(iter(model.parameters())).device
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device).manual_seed(seed)

    cache = model.new_cache(1, len(prompt_ids) + max_new_tokens)
    chunk = prefill_chunk or len(prompt_ids)
    for start in range(0, len(prompt_ids), chunk):
        logits = _forward(model, list(prompt_ids[start:start + chunk]), cache, device)
        yield PrefillEvent(min(start + chunk, len(prompt_ids)), len(prompt_ids))

    controls = RepeatControls(params)
    loop = LoopDetector()
    decoder = tokenizer.stream_decoder()
    pending = ""  # decoded text not yet released: it may still become a stop string
    held: deque[str] = deque()  # text of the last LOOP_NGRAM - 1 tokens: it may start a loop
    for step in range(max_new_tokens):
        token = int(sample(controls.apply(logits), params, generator)[0])
        if token in tokenizer.stop_ids:
            yield TokenEvent(token, "".join(held) + pending + decoder.flush(), "eos")
            return
        if loop.push(token):
            yield TokenEvent(token, "", "repetition")
            return
        controls.observe(token)
        pending += decoder.push(token)
        last = step == max_new_tokens - 1
        if last:
            pending += decoder.flush()
        text, pending, stopped = _release(pending, stops, final=last)
        if stopped or last:
            yield TokenEvent(token, "".join(held) + text, "stop" if stopped else "length")
            return
        held.append(text)
        yield TokenEvent(token, held.popleft() if len(held) == LOOP_NGRAM else "")
        logits = _forward(model, [token], cache, device)


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


def _forward(model: CausalLM, ids: list[int], cache: Any, device: torch.device) -> Tensor:
    """Logits [1, vocab] of the last of `ids`, fed after what `cache` holds."""
    # inference_mode per call: a `with` around the generator body would leak the mode
    # into the caller's code while the generator is suspended.
    with torch.inference_mode():
        logits = model.forward(torch.tensor([ids], device=device), cache=cache, num_logits=1)
    return logits[:, -1]


def _release(pending: str, stops: tuple[str, ...], final: bool) -> tuple[str, str, bool]:
    """Split `pending` into (text to release, text to hold, whether a stop string hit)."""
    if not stops:
        return pending, "", False
    hits = [at for at in (pending.find(s) for s in stops) if at >= 0]
    if hits:
        return pending[:min(hits)], "", True
    keep = len(pending) if final else partial_marker_start(pending, stops)
    return pending[:keep], pending[keep:], False
