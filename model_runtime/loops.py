"""Noticing that generated output loops: the same stretch of tokens again and again.

Small models decoded greedily degenerate into repeating one sentence (or one token) until
they run out of tokens. `LoopDetector` says so as soon as some stretch of `LOOP_NGRAM`
tokens arrives for the `LOOP_TIMES`-th time at the same distance each time — the output has
become periodic — so the caller can stop. Any longer stretch repeated that way contains an
8-gram repeated that way, so watching 8-grams catches it at its earliest. Occurrences may
overlap: a token repeated ten times is a loop too. Equal spacing is what tells a loop from
code that legitimately says the same thing three times in different places (three
identical assertions, a line quoted in an edit's search and replace blocks and again).
"""

from __future__ import annotations

from collections import deque

LOOP_NGRAM = 8  # tokens in the stretch that must recur
LOOP_TIMES = 3  # the occurrence that ends generation


class LoopDetector:
    """Remembers where every n-gram of one sequence's output last ended, in O(n) per token.

    The keys are the n-grams themselves (tuples of `n` ints hash in constant time, and
    exact keys leave no hash collision to reason about); the dict holds at most one entry
    per generated token, each the last `times - 1` positions of its n-gram.
    """

    def __init__(self, n: int = LOOP_NGRAM, times: int = LOOP_TIMES) -> None:
        """Report when an n-gram is seen for the `times`-th time, evenly spaced."""
        if n < 1 or times < 2:
            raise ValueError(f"LoopDetector needs n >= 1 and times >= 2, got {n}, {times}")
        self.n, self.times = n, times
        self._window: deque[int] = deque(maxlen=n)
        self._ends: dict[tuple[int, ...], tuple[int, ...]] = {}
        self._position = -1

    def push(self, token: int) -> bool:
        """Add a generated token; True when it completes the `times`-th occurrence of an
        n-gram whose last `times` occurrences are equally far apart."""
        self._window.append(token)
        self._position += 1
        if len(self._window) < self.n:
            return False
        key = tuple(self._window)
        ends = (*self._ends.get(key, ()), self._position)
        self._ends[key] = ends[-(self.times - 1):]
        if len(ends) < self.times:
            return False
        gaps = {b - a for a, b in zip(ends, ends[1:], strict=False)}
        return len(gaps) == 1
