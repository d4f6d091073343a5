"""Driving the engine's synchronous core in tests, and the margins that make comparing
greedy tokens across batch shapes safe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from model_runtime.engine_core import EngineConfig, EngineCore
from model_runtime.requests import EngineEvent, Finished, GenerationParams
from model_runtime.runner import CausalLM
from model_runtime.stream import TokenEvent
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.causality import rounding_tolerance

# Greedy tokens may be compared across batch shapes only where the top two logits differ
# by far more than rounding: batched and single runs multiply matrices of other shapes, so
# logits differ by a few units in the last place of the logit scale (tests/model_runtime/
# causality.py); this many times `rounding_tolerance` keeps argmax flips out of reach.
MARGIN_FACTOR = 100.0


@dataclass
class Run:
    """Events of each request of a run, by request id; when recorded, the logits of every
    row the model produced for each (in order) and each step's work (tokens per row)."""

    events: dict[str, list[EngineEvent]] = field(default_factory=dict)
    logits: dict[str, list[Tensor]] = field(default_factory=dict)
    shapes: list[list[int]] = field(default_factory=list)

    def tokens(self, request_id: str) -> list[int]:
        """The generated token ids of a request."""
        return [e.token_id for e in self.events[request_id] if isinstance(e, TokenEvent)]

    def finished(self, request_id: str) -> Finished:
        """A request's last event, which must be `Finished`."""
        last = self.events[request_id][-1]
        assert isinstance(last, Finished), last
        return last


def record_logits(core: EngineCore, run: Run) -> None:
    """Make `core` keep in `run`, per request, a copy of every logits row its model
    produced, and the shape of each step's work."""
    forward = core.runner.forward
    running = core._running  # the test watches which rows are whose

    def recording(work: Sequence[tuple[object, Sequence[int]]]) -> Tensor:
        logits = forward(work)
        run.shapes.append([len(tokens) for _, tokens in work])
        by_cache = {id(r.cache): r.id for r in running}
        for (cache, _), row in zip(work, logits, strict=True):
            run.logits.setdefault(by_cache[id(cache)], []).append(row.detach().clone())
        return logits

    core.runner.forward = recording  # type: ignore[method-assign]


def drain(core: EngineCore, run: Run | None = None,
          before_step: Callable[[int], None] | None = None, max_steps: int = 10_000) -> Run:
    """Step `core` until it has no work; `before_step(i)` runs before step i (to add or
    abort requests mid-flight)."""
    run = run or Run()
    for i in range(max_steps):
        if before_step is not None:
            before_step(i)
        if not core.has_work():
            return run
        for request_id, event in core.step():
            run.events.setdefault(request_id, []).append(event)
    raise AssertionError(f"the engine still had work after {max_steps} steps")


def run_alone(model: CausalLM, tokenizer: Tokenizer, prompt: Sequence[int],
              params: GenerationParams, **config: int) -> tuple[list[int], Run]:
    """One request in an engine of its own (one place, no prefix cache): its tokens and
    the run (logits recorded)."""
    core = EngineCore(model, tokenizer, EngineConfig(max_running=1, prefix_cache_bytes=0,
                                                     **config))
    run = Run()
    record_logits(core, run)
    request_id = core.add_request(prompt, params)
    drain(core, run)
    return run.tokens(request_id), run


def smallest_margin(rows: Sequence[Tensor]) -> float:
    """The smallest gap between the two largest logits of any row."""
    return min(float(torch.diff(row.float().topk(2).values).abs()) for row in rows)


def safe_rows(rows: Sequence[Tensor], terms: int) -> int:
    """How many leading rows have their top two logits MARGIN_FACTOR rounding tolerances
    apart: the greedy tokens that cannot depend on the batch's shape."""
    bound = MARGIN_FACTOR * rounding_tolerance(torch.stack(list(rows)), terms)
    for i, row in enumerate(rows):
        if smallest_margin([row]) <= bound:
            return i
    return len(rows)


def assert_safe_margins(rows: Sequence[Tensor], terms: int) -> None:
    """Every row's top two logits differ by at least MARGIN_FACTOR rounding tolerances
    (`causality.rounding_tolerance`, `terms` products per logit), so greedy tokens do not
    depend on how the batch was shaped."""
    bound = MARGIN_FACTOR * rounding_tolerance(torch.stack(list(rows)), terms)
    margin = smallest_margin(rows)
    assert margin > bound, f"a greedy choice is too close to call: margin {margin:.3g}, " \
        f"needed {bound:.3g}; pick other prompts"

