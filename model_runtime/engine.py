"""The inference engine: many requests on one model, continuously batched, with a prefix
cache, driven by a background thread.

    engine = Engine(model, tokenizer)
    handle = engine.submit(prompt_ids, GenerationParams(max_new_tokens=256))
    for event in handle.events():   # PrefillEvent..., TokenEvent..., Finished
        ...

`submit` queues a request and returns at once; a thread (started on the first submit)
runs `step` while there is work, and every event lands in its request's handle. The
synchronous core (`add_request`, `step`, `abort`, `memory`) is `EngineCore`'s; tests and
`model_runtime.generate` drive it directly, without the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence

from model_runtime.engine_core import (
    EngineBusy,
    EngineConfig,
    EngineCore,
    MemoryStats,
    PromptTooLong,
)
from model_runtime.requests import EngineEvent, Finished, GenerationParams, RequestUsage
from model_runtime.runner import CausalLM
from model_runtime.stream import PrefillEvent, TokenEvent
from model_runtime.tokenizer import Tokenizer

DEFAULT_CONFIG = EngineConfig()

__all__ = ["Engine", "EngineBusy", "EngineConfig", "EngineEvent", "Finished",
           "GenerationParams", "MemoryStats", "PrefillEvent", "PromptTooLong",
           "RequestHandle", "RequestUsage", "TokenEvent"]


class RequestHandle:
    """One submitted request: its events as they come, and a way to cancel it."""

    def __init__(self, request_id: str, events: queue.SimpleQueue[EngineEvent],
                 engine: Engine) -> None:
        """A handle reading `events`, which the engine fills."""
        self.request_id = request_id
        self._events = events
        self._engine = engine

    def events(self, timeout: float | None = None) -> Iterator[EngineEvent]:
        """The request's events, blocking for each; the last is `Finished`.

        Raises:
            TimeoutError: no event came within `timeout` seconds.
        """
        while True:
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"request {self.request_id}: no event in {timeout} s") \
                    from None
            yield event
            if isinstance(event, Finished):
                return

    def cancel(self) -> None:
        """Abort the request: its KV cache is freed and its events end with
        Finished("aborted"). Nothing happens once it has finished."""
        self._engine.abort(self.request_id)


class Engine(EngineCore):
    """`EngineCore` with a background thread that steps it, and request handles."""

    def __init__(self, model: CausalLM, tokenizer: Tokenizer,
                 config: EngineConfig = DEFAULT_CONFIG) -> None:
        """An idle engine over `model` (see `EngineConfig`); no thread runs yet."""
        super().__init__(model, tokenizer, config)
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, prompt_ids: Sequence[int], params: GenerationParams,
               request_id: str | None = None) -> RequestHandle:
        """Queue a request for the background thread; its handle. Raises as
        `add_request` does, and RuntimeError once the engine is closed."""
        events: queue.SimpleQueue[EngineEvent] = queue.SimpleQueue()
        with self._wake:
            if self._closed:
                raise RuntimeError("the engine is closed")
            request_id = self.add_request(prompt_ids, params, request_id, sink=events.put)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fathom-engine",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()
        return RequestHandle(request_id, events, self)

    def generate(self, prompt_ids: Sequence[int], params: GenerationParams
                 ) -> Iterator[EngineEvent]:
        """`submit`, then its events; a consumer that stops early cancels the request."""
        handle = self.submit(prompt_ids, params)
        try:
            yield from handle.events()
        finally:
            handle.cancel()

    def close(self) -> None:
        """Stop the thread and abort every request (their streams end with
        Finished("aborted")); the prefix cache is dropped."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        self.abort_all()
        with self._step_lock:
            if self.prefix is not None:
                self.prefix.clear()

    def _run(self) -> None:
        """The thread: step while there is work, sleep while there is none."""
        while True:
            with self._wake:
                while not self._closed and not self.has_work():
                    self._wake.wait()
                if self._closed:
                    return
            try:
                self.step()
            except Exception as err:  # a bug must not leave streams hanging
                self.abort_all("error", f"engine step failed: {type(err).__name__}: {err}")
