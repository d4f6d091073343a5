"""The engine's synchronous core: requests in, one step at a time, events out.

Requests wait in arrival order until one of `max_running` places is free; then they get
a KV cache of their own for prompt plus `max_new_tokens` (`runner`). Each `step` is one
forward pass (for llama one packed call; DeepSeek V4 runs its sequences one after
another, see `v4_runner`) over:

* one decode token for every sequence past its prefill, and
* one prefill chunk of at most `prefill_chunk` tokens for the oldest sequence still
  prefilling (chunked prefill: a long prompt never stalls the others' decoding).

A sequence's prefill starts with a prefix-cache lookup: the longest cached prefix of its
prompt is copied into its cache and only the rest is prefilled. Its cached tokens go into
the prefix cache after every prefill chunk and when it ends normally (llama: prompt and
output, the last block partial; V4: whole blocks up to a chunk end on a block boundary,
see `v4_runner`). Each request samples with its own `RequestSampler` and turns tokens
into text with its own `TokenStream`.

Thread safety: `add_request`, `abort`, `memory` and `step` may be called from any
thread; steps run one at a time, and `abort` waits for a running step to end.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from model_runtime.llama_runner import LlamaRunner
from model_runtime.models.deepseek_v4 import DeepseekV4ForCausalLM
from model_runtime.models.llama import LlamaForCausalLM
from model_runtime.prefix_cache import PrefixCache
from model_runtime.requests import EndReason, EngineEvent, Finished, GenerationParams, RequestUsage
from model_runtime.runner import CausalLM, Runner, SavesBlocks
from model_runtime.sampling import RequestSampler
from model_runtime.stream import PrefillEvent, TokenStream
from model_runtime.tokenizer import Tokenizer
from model_runtime.v4_runner import V4Runner

DEFAULT_PREFIX_CACHE_BYTES = 1 << 30  # 1 GiB: SmolLM2 (fp32) holds about 22K tokens in it


class EngineBusy(RuntimeError):
    """Too many requests are queued: try again later."""


class PromptTooLong(ValueError):
    """A prompt plus its `max_new_tokens` exceed the engine's context."""


@dataclass(frozen=True)
class EngineConfig:
    """How the engine schedules and caches.

    Attributes:
        max_running: sequences decoded together (each holds a KV cache).
        max_waiting: requests queued beyond the free places; more raise `EngineBusy`.
        prefill_chunk: prompt tokens one sequence prefills per step.
        prefix_cache_bytes: budget of the prefix cache (0 disables it).
        max_context: cap on prompt + max_new_tokens (None: the model's own context).
        block_size: tokens per cache block (None: 64 for llama; for DeepSeek V4 the
            smallest multiple of every compress ratio of at least 64).
    """

    max_running: int = 16
    max_waiting: int = 64
    prefill_chunk: int = 512
    prefix_cache_bytes: int = DEFAULT_PREFIX_CACHE_BYTES
    max_context: int | None = None
    block_size: int | None = None

    def __post_init__(self) -> None:
        for name, low in (("max_running", 1), ("max_waiting", 0), ("prefill_chunk", 1),
                          ("prefix_cache_bytes", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("max_context", "block_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be None or an integer >= 1, got {value!r}")


@dataclass(frozen=True)
class MemoryStats:
    """KV memory, counted exactly from the tensors held.

    Attributes:
        block_size: tokens per block.
        bytes_in_use: caches of the running sequences (each sized to its prompt plus
            max_new_tokens, in whole blocks).
        bytes_free: what `max_running` sequences of the full context may still take.
        bytes_cached: blocks (and V4 boundary states) in the prefix cache.
        blocks_in_use: blocks the running sequences reserve.
        blocks_cached: blocks in the prefix cache.
        sequences_running: sequences holding a cache (prefilling or decoding).
        sequences_waiting: requests queued for a place.
    """

    block_size: int
    bytes_in_use: int
    bytes_free: int
    bytes_cached: int
    blocks_in_use: int
    blocks_cached: int
    sequences_running: int
    sequences_waiting: int


@dataclass(eq=False)
class _Request:
    """One request's state inside the engine."""

    id: str
    tokens: list[int]  # the prompt, then every generated token
    prompt_len: int
    params: GenerationParams
    sampler: RequestSampler
    stream: TokenStream
    sink: Callable[[EngineEvent], None] | None
    cache: Any = None
    prefilled: int = 0  # prompt tokens in the cache
    cached: int = 0  # of them restored from the prefix cache
    started: bool = False  # the prefill has begun (the prefix cache was consulted)
    pending: int | None = None  # sampled, not yet fed to the model

    @property
    def prefilling(self) -> bool:
        """Part of the prompt is not in the cache yet."""
        return self.prefilled < self.prompt_len


def make_runner(model: CausalLM, block_size: int | None) -> Runner:
    """The runner for `model`: packed llama, sequential V4 with prefix blocks, or
    sequential without prefix caching for any other `CausalLM`."""
    if isinstance(model, LlamaForCausalLM):
        return LlamaRunner(model, block_size)
    if isinstance(model, DeepseekV4ForCausalLM):
        return V4Runner(model, block_size)
    return Runner(model, block_size or 1)


class EngineCore:
    """Continuous batching over one model: `add_request`, then `step` until done."""

    def __init__(self, model: CausalLM, tokenizer: Tokenizer,
                 config: EngineConfig = EngineConfig()) -> None:
        """An idle engine; `config.max_context` is required for a model without a
        `config.max_position_embeddings`."""
        self.config = config
        self.tokenizer = tokenizer
        model_config = getattr(model, "config", None)
        own = getattr(model_config, "max_position_embeddings", None)
        context = self.config.max_context or own
        if context is None:
            raise ValueError("EngineConfig.max_context is required: the model does not say "
                             "its context length")
        self._context: int = context
        self._vocab: int | None = getattr(model_config, "vocab_size", None)
        self.runner = make_runner(model, self.config.block_size)
        self.prefix: PrefixCache | None = None
        if isinstance(self.runner, SavesBlocks) and self.config.prefix_cache_bytes:
            self.prefix = PrefixCache(self.config.prefix_cache_bytes, self.runner.block_size,
                                      self.runner.needs_state)
        self._waiting: deque[_Request] = deque()
        self._running: list[_Request] = []
        self._ids: set[str] = set()  # waiting or running
        self._outbox: list[tuple[str, EngineEvent]] = []  # events from outside a step
        self._queue_lock = threading.Lock()  # guards _waiting and _ids
        self._step_lock = threading.RLock()  # guards _running, caches, the prefix cache

    @property
    def context_window(self) -> int:
        """Most tokens (prompt plus generated) one request may use."""
        return self._context

    def add_request(self, prompt_ids: Sequence[int], params: GenerationParams,
                    request_id: str | None = None,
                    sink: Callable[[EngineEvent], None] | None = None) -> str:
        """Queue a request; its id (`request_id`, or a new one). `sink`, when given, hears
        each of its events as it happens (they are also returned by `step`).

        Raises:
            ValueError: an empty prompt, a token outside the vocabulary, a duplicate id.
            PromptTooLong: prompt plus `max_new_tokens` exceed `context_window`.
            EngineBusy: too many requests are waiting.
        """
        prompt = [int(t) for t in prompt_ids]
        if not prompt:
            raise ValueError("a request needs at least one prompt token")
        if self._vocab is not None:
            bad = next((i for i, t in enumerate(prompt) if not 0 <= t < self._vocab), None)
            if bad is not None:
                raise ValueError(f"prompt token {bad} is {prompt[bad]}, outside the "
                                 f"vocabulary of {self._vocab}")
        if len(prompt) + params.max_new_tokens > self._context:
            raise PromptTooLong(f"the prompt has {len(prompt)} tokens and asks for up to "
                                f"{params.max_new_tokens} more; the context holds "
                                f"{self._context}")
        request_id = request_id or uuid.uuid4().hex
        sampler = RequestSampler(params.sampling, params.seed, self.runner.device)
        stream = TokenStream(self.tokenizer, params.stop, params.max_new_tokens)
        request = _Request(request_id, prompt, len(prompt), params, sampler, stream, sink)
        with self._queue_lock:
            if request_id in self._ids:
                raise ValueError(f"request id {request_id!r} is already in use")
            free = self.config.max_running - len(self._running)
            if len(self._waiting) >= self.config.max_waiting + max(free, 0):
                raise EngineBusy(f"{len(self._waiting)} requests are waiting for "
                                 f"{max(free, 0)} free places (max_waiting "
                                 f"{self.config.max_waiting})")
            self._waiting.append(request)
            self._ids.add(request_id)
        return request_id

    def has_work(self) -> bool:
        """Whether a request is waiting or running."""
        with self._queue_lock:
            return bool(self._waiting or self._running or self._outbox)

    def step(self) -> list[tuple[str, EngineEvent]]:
        """Run one scheduling step; the events it produced, as (request id, event), in
        order (with those of aborts since the last step first)."""
        with self._step_lock:
            with self._queue_lock:
                events, self._outbox = self._outbox, []
            self._admit(events)
            work = [(r, [r.pending]) for r in self._running if r.pending is not None]
            prefilling = next((r for r in self._running if r.prefilling), None)
            if prefilling is not None:
                if not prefilling.started:
                    self._start_prefill(prefilling, events)
                end = self._chunk_end(prefilling)
                work.append((prefilling, prefilling.tokens[prefilling.prefilled:end]))
            if not work:
                return events
            try:
                with torch.inference_mode():
                    logits = self.runner.forward([(r.cache, tokens) for r, tokens in work])
            except Exception as err:  # a failed pass ends its requests, not the engine
                for request, _ in work:
                    self._finish(request, "error", events, f"{type(err).__name__}: {err}")
                return events
            for (request, tokens), row in zip(work, logits, strict=True):
                self._advance(request, len(tokens), row, events)
            return events

    def abort(self, request_id: str) -> None:
        """Cancel a request: its cache is freed now and its stream ends with
        Finished("aborted"). Unknown or finished ids are ignored."""
        events: list[tuple[str, EngineEvent]] = []
        with self._queue_lock:
            if request_id not in self._ids:
                return  # finished or never known: no need to wait for a step to end
            waiting = next((r for r in self._waiting if r.id == request_id), None)
            if waiting is not None:
                self._waiting.remove(waiting)
                self._ids.discard(request_id)
        if waiting is not None:
            self._emit(waiting, self._finished(waiting, "aborted"), events)
        else:
            with self._step_lock:
                running = next((r for r in self._running if r.id == request_id), None)
                if running is not None:
                    self._finish(running, "aborted", events)
        self._post(events)

    def abort_all(self, reason: EndReason = "aborted", error: str | None = None) -> None:
        """End every request with `reason` (and `error`)."""
        events: list[tuple[str, EngineEvent]] = []
        with self._step_lock:
            with self._queue_lock:
                waiting, self._waiting = list(self._waiting), deque()
                for request in waiting:
                    self._ids.discard(request.id)
            for request in waiting:
                self._emit(request, self._finished(request, reason, error), events)
            for request in list(self._running):
                self._finish(request, reason, events, error)
        self._post(events)

    def _post(self, events: list[tuple[str, EngineEvent]]) -> None:
        """Keep events that happened outside a step for the next step to return."""
        with self._queue_lock:
            self._outbox.extend(events)

    def memory(self) -> MemoryStats:
        """The KV memory held now, counted from the tensors."""
        with self._step_lock:
            caches = [r.cache for r in self._running]
            block = self.runner.block_size
            in_use = sum(self.runner.cache_bytes(c) for c in caches)
            reserved = sum(-(-(r.prompt_len + r.params.max_new_tokens) // block)
                           for r in self._running)
            capacity = self.config.max_running * self.runner.bytes_for(self._context)
            with self._queue_lock:
                waiting = len(self._waiting)
            return MemoryStats(
                block_size=block, bytes_in_use=in_use, bytes_free=capacity - in_use,
                bytes_cached=self.prefix.bytes_cached if self.prefix else 0,
                blocks_in_use=reserved,
                blocks_cached=self.prefix.blocks_cached if self.prefix else 0,
                sequences_running=len(self._running), sequences_waiting=waiting)

    # -- the parts of a step ---------------------------------------------------------------

    def _admit(self, events: list[tuple[str, EngineEvent]]) -> None:
        """Move waiting requests into free places, each with a fresh cache."""
        while len(self._running) < self.config.max_running:
            with self._queue_lock:
                if not self._waiting:
                    return
                request = self._waiting.popleft()
                self._running.append(request)
            try:
                request.cache = self.runner.allocate(request.prompt_len
                                                     + request.params.max_new_tokens)
            except (MemoryError, RuntimeError) as err:
                self._finish(request, "error", events, f"no memory for the KV cache: {err}")

    def _start_prefill(self, request: _Request, events: list[tuple[str, EngineEvent]]) -> None:
        """Restore the longest cached prefix of the prompt (all but its last token, whose
        logits are needed) into the request's cache."""
        request.started = True
        if self.prefix is None:
            return
        assert isinstance(self.runner, SavesBlocks)
        match = self.prefix.match(request.tokens[:request.prompt_len - 1])
        if not match.tokens:
            return
        self.runner.restore(request.cache, [b.payload for b in match.blocks], match.tokens,
                            match.blocks[-1].state)
        request.prefilled = request.cached = match.tokens
        self._emit(request, PrefillEvent(request.prefilled, request.prompt_len), events)

    def _chunk_end(self, request: _Request) -> int:
        """Where the request's next prefill chunk ends. When prefix states are saved only
        at block boundaries (V4), chunks end on them up to the prompt's last one."""
        start, total = request.prefilled, request.prompt_len
        end = min(start + self.config.prefill_chunk, total)
        if self.prefix is None or not self.prefix.needs_state:
            return end
        block = self.prefix.block_size
        last = (total - 1) // block * block  # the deepest prefix a later prompt can reuse
        if start < last:
            end = min(max(end // block * block, start + block), last)
        return end

    def _advance(self, request: _Request, fed: int, logits: Tensor,
                 events: list[tuple[str, EngineEvent]]) -> None:
        """Account for the `fed` tokens of this step, then sample once prefill is done."""
        if request.prefilling:
            request.prefilled += fed
            self._save_prefix(request)
            self._emit(request, PrefillEvent(request.prefilled, request.prompt_len), events)
            if request.prefilling:
                return
        try:
            token = request.sampler.choose(logits)
        except RuntimeError as err:  # e.g. probabilities that are not finite
            self._finish(request, "error", events, f"sampling failed: {err}")
            return
        event = request.stream.push(token)
        request.tokens.append(token)
        self._emit(request, event, events)
        if event.finish_reason is not None:
            self._finish(request, event.finish_reason, events)
            return
        request.sampler.observe(token)
        request.pending = token

    def _save_prefix(self, request: _Request) -> None:
        """Put the request's whole cached blocks into the prefix cache."""
        if self.prefix is None or request.cache is None:
            return
        runner = self.runner
        assert isinstance(runner, SavesBlocks)
        cache = request.cache
        saved = runner.saveable(cache)
        if saved:
            self.prefix.insert(request.tokens[:saved],
                               lambda index: runner.export_block(cache, index),
                               lambda: runner.export_state(cache))

    def _finish(self, request: _Request, reason: EndReason,
                events: list[tuple[str, EngineEvent]], error: str | None = None) -> None:
        """End a running request: save its blocks (when it ended normally), free its
        cache and emit Finished."""
        if reason not in ("aborted", "error"):
            self._save_prefix(request)
        request.cache = None
        with self._queue_lock:
            self._running.remove(request)
            self._ids.discard(request.id)
        self._emit(request, self._finished(request, reason, error), events)

    @staticmethod
    def _finished(request: _Request, reason: EndReason, error: str | None = None) -> Finished:
        """The request's Finished event."""
        usage = RequestUsage(prompt_tokens=request.prompt_len,
                             cached_prompt_tokens=request.cached,
                             completion_tokens=request.stream.count)
        return Finished(reason, usage, error)

    @staticmethod
    def _emit(request: _Request, event: EngineEvent,
              events: list[tuple[str, EngineEvent]]) -> None:
        """Record an event of `request`, and hand it to its sink."""
        events.append((request.id, event))
        if request.sink is not None:
            request.sink(event)
