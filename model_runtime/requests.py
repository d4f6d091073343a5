"""What a request to the engine asks for, and the events it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from model_runtime.sampling import SamplingParams
from model_runtime.stream import PrefillEvent, TokenEvent

EndReason = Literal["eos", "stop", "length", "repetition", "aborted", "error"]


@dataclass(frozen=True)
class GenerationParams:
    """How to continue one prompt: at most `max_new_tokens` tokens, chosen per `sampling`,
    ending early at any of the `stop` strings (never released); `seed` makes sampling
    reproducible (None: a random one)."""

    max_new_tokens: int
    sampling: SamplingParams = field(default_factory=SamplingParams)
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) \
                or self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an integer >= 1, got "
                             f"{self.max_new_tokens!r}")
        if isinstance(self.stop, str):
            raise ValueError("stop must be a tuple of strings, not one string")
        if any(not isinstance(s, str) or not s for s in self.stop):
            raise ValueError("stop strings must be non-empty")


@dataclass(frozen=True)
class RequestUsage:
    """Tokens of one request: its prompt, the part of it read from the prefix cache
    (not prefilled), and the tokens generated (the EOS token included)."""

    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Finished:
    """The last event of every request. `finish_reason` is the last token's (see
    `TokenEvent`), "aborted" (cancelled, or the engine closed) or "error" (`error` says
    what failed)."""

    finish_reason: EndReason
    usage: RequestUsage
    error: str | None = None


EngineEvent = PrefillEvent | TokenEvent | Finished
