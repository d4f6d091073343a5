"""One request's generated tokens as a stream of events with text deltas.

Text arrives as deltas from `StreamDecoder`, so no delta splits a UTF-8 character; text
that might be the start of a stop string is held back until it is clear either way, so
stop strings never reach the caller.

Generation also stops when the output loops (`model_runtime.loops`: a stretch of 8 tokens
arrives a third time, as far after the second as the second was after the first),
whatever the sampling options. The text of that third occurrence is not released: what
the caller gets ends where it began, so the repeat shows at most twice. To make that
possible the text of the last 7 tokens is always held back until the next token arrives
(or the stream ends).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from model_runtime.dsml import partial_marker_start
from model_runtime.loops import LOOP_NGRAM, LoopDetector
from model_runtime.tokenizer import Tokenizer

FinishReason = Literal["eos", "stop", "length", "repetition"]


@dataclass(frozen=True)
class TokenEvent:
    """One generated token and the text it releases (possibly empty).

    The last token event of a stream has `finish_reason`: "eos" (the model ended its turn;
    the EOS token's own text is not included), "stop" (a stop string was produced; neither
    it nor anything after it is included), "length" (`max_new_tokens` reached) or
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


class TokenStream:
    """Turns one request's sampled tokens, one at a time, into `TokenEvent`s."""

    def __init__(self, tokenizer: Tokenizer, stop: tuple[str, ...], max_new_tokens: int
                 ) -> None:
        """A stream that ends at a stop id, a stop string, a loop or `max_new_tokens`."""
        self.stop_ids = tokenizer.stop_ids
        self.stops = stop
        self.max_new_tokens = max_new_tokens
        self.count = 0  # tokens pushed
        self._loop = LoopDetector()
        self._decoder = tokenizer.stream_decoder()
        self._pending = ""  # decoded text not yet released: it may still become a stop string
        self._held: deque[str] = deque()  # text of the last LOOP_NGRAM - 1 tokens

    def push(self, token: int) -> TokenEvent:
        """The event of the next generated token; its `finish_reason` is set when the
        stream ends with it (no token may be pushed after that)."""
        self.count += 1
        if token in self.stop_ids:
            return TokenEvent(token, self._unheld() + self._decoder.flush(), "eos")
        if self._loop.push(token):
            return TokenEvent(token, "", "repetition")
        self._pending += self._decoder.push(token)
        last = self.count == self.max_new_tokens
        if last:
            self._pending += self._decoder.flush()
        text, self._pending, stopped = _release(self._pending, self.stops, final=last)
        if stopped or last:
            held = "".join(self._held)
            return TokenEvent(token, held + text, "stop" if stopped else "length")
        self._held.append(text)
        return TokenEvent(token, self._held.popleft() if len(self._held) == LOOP_NGRAM else "")

    def _unheld(self) -> str:
        """All text held back so far (for the end of the stream)."""
        return "".join(self._held) + self._pending


def _release(pending: str, stops: tuple[str, ...], final: bool) -> tuple[str, str, bool]:
    """Split `pending` into (text to release, text to hold, whether a stop string hit)."""
    if not stops:
        return pending, "", False
    hits = [at for at in (pending.find(s) for s in stops) if at >= 0]
    if hits:
        return pending[:min(hits)], "", True
    keep = len(pending) if final else partial_marker_start(pending, stops)
    return pending[:keep], pending[keep:], False
