"""Repeat controls and the loop stop: the repetition penalty and no-repeat n-grams on
hand-made logits, and the decode loop over a tiny model that always predicts the same
cycle of tokens."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from model_runtime.generate import TokenEvent, generate
from model_runtime.loops import LOOP_NGRAM, LoopDetector
from model_runtime.sampling import RepeatControls, SamplingParams, sample
from model_runtime.tokenizer import Tokenizer
from tests.model_runtime.looping import Cycle, byte_tokenizer

INF = float("inf")


def _controls(penalty: float = 1.0, ngram: int = 0, seen: tuple[int, ...] = ()
              ) -> RepeatControls:
    controls = RepeatControls(SamplingParams(repetition_penalty=penalty,
                                             no_repeat_ngram_size=ngram))
    for token in seen:
        controls.observe(token)
    return controls


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5, -3.0, 1.0, 0.0]])
    before = logits.clone()
    out = _controls(2.0, seen=(0, 1, 5, 0, 0)).apply(logits)  # token 0 three times: once
    assert torch.allclose(out, torch.tensor([[1.0, -2.0, 0.5, -3.0, 1.0, 0.0]]))
    assert torch.equal(logits, before)  # a new tensor; the model's logits are untouched
    # Greedy: a token the output holds loses to a slightly less likely new one.
    close = torch.tensor([[3.0, 2.8, 0.0, 0.0, 0.0, 0.0]])
    assert sample(close, SamplingParams()).tolist() == [0]
    assert sample(_controls(1.2, seen=(0,)).apply(close), SamplingParams()).tolist() == [1]
    assert torch.equal(_controls(seen=(0, 1)).apply(logits), logits)  # 1.0 is off


def test_no_repeat_ngram_bans_only_tokens_completing_a_seen_ngram() -> None:
    logits = torch.zeros(1, 6)
    banned = torch.isinf(_controls(ngram=3, seen=(1, 2, 3, 1, 2)).apply(logits))
    assert banned.tolist() == [[False, False, False, True, False, False]]  # (1, 2) -> 3
    two = _controls(ngram=3, seen=(1, 2, 3, 1, 2, 4, 1, 2)).apply(logits)
    assert torch.isinf(two).nonzero()[:, 1].tolist() == [3, 4]
    assert not torch.isinf(_controls(ngram=3, seen=(1, 2, 3, 2, 1)).apply(logits)).any()
    assert not torch.isinf(_controls(ngram=3, seen=(1,)).apply(logits)).any()
    # n = 1 bans every token already generated.
    ones = torch.isinf(_controls(ngram=1, seen=(4, 2, 4)).apply(logits))
    assert ones.tolist() == [[False, False, True, False, True, False]]
    # Both at once: penalty first, then the ban.
    both = _controls(2.0, ngram=2, seen=(1, 2, 1)).apply(torch.ones(1, 6))
    assert both.tolist() == [[1.0, 0.5, -INF, 1.0, 1.0, 1.0]]


@pytest.mark.parametrize(("options", "message"), [
    ({"repetition_penalty": 0.9}, "repetition_penalty must be a finite number >= 1"),
    ({"repetition_penalty": float("nan")}, "repetition_penalty"),
    ({"repetition_penalty": INF}, "repetition_penalty"),
    ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size must be an integer >= 0"),
    ({"no_repeat_ngram_size": 2.5}, "no_repeat_ngram_size"),
    ({"no_repeat_ngram_size": True}, "no_repeat_ngram_size"),
])
def test_bad_repeat_controls_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SamplingParams(**options)


def test_loop_detector_counts_overlapping_and_periodic_occurrences() -> None:
    detector = LoopDetector(n=3, times=3)
    assert [detector.push(t) for t in [7, 7, 7, 7]] == [False, False, False, False]
    assert detector.push(7)  # (7, 7, 7) at offsets 0, 1, 2
    periodic = LoopDetector(n=3, times=3)
    assert not any(periodic.push(t) for t in [1, 2, 3, 9, 1, 2, 3, 9, 1, 2])
    assert periodic.push(3)  # every 4 tokens: the output has become periodic
    # The same stretch three times, but not periodically (code may say a thing thrice).
    spread = LoopDetector(n=3, times=3)
    assert not any(spread.push(t) for t in [1, 2, 3, 9, 1, 2, 3, 8, 5, 1, 2, 3])
    assert not any(spread.push(t) for t in [6, 1, 2, 3])  # gaps 5, 4: still not periodic
    assert [spread.push(t) for t in [6, 1, 2, 3]] == [False, False, False, True]  # 4, 4
    with pytest.raises(ValueError, match="LoopDetector"):
        LoopDetector(n=0)


# -- the decode loop -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return byte_tokenizer()


def _events(model: Cycle, tokenizer: Tokenizer, prompt: str, n: int,
            **options: Any) -> tuple[list[TokenEvent], str]:
    events = list(generate(model, tokenizer, tokenizer.encode(prompt), n, **options))
    return events, "".join(e.text for e in events)


@pytest.mark.parametrize(("cycle", "tokens"), [("abc", LOOP_NGRAM + 2 * 3),
                                               ("abcdefghijkl", LOOP_NGRAM + 2 * 12),
                                               ("z", LOOP_NGRAM + 2)])
def test_a_looping_output_stops_at_the_third_round_and_its_text_is_cut(
        tokenizer: Tokenizer, cycle: str, tokens: int) -> None:
    model = Cycle(tokenizer, cycle)
    events, text = _events(model, tokenizer, "Go: ", 200)
    assert len(events) == tokens and events[-1].finish_reason == "repetition"
    assert all(e.finish_reason is None for e in events[:-1])
    # What was released ends where the third occurrence of the looping 8-gram began.
    looped = (cycle * 30)[:tokens]
    assert text == looped[:tokens - LOOP_NGRAM]
    if len(cycle) >= LOOP_NGRAM:
        assert text == cycle * 2  # a long repeat shows exactly twice
    # The loop stop does not depend on the sampling options.
    sampled, _ = _events(model, tokenizer, "Go: ", 200, temperature=0.1, seed=0)
    assert [e.token_id for e in sampled] == [e.token_id for e in events]


def test_text_is_held_back_seven_tokens_and_released_at_the_end(tokenizer: Tokenizer) -> None:
    model = Cycle(tokenizer, "abcdefghijklmnop")
    events, text = _events(model, tokenizer, "Go: ", 12)
    assert [e.text for e in events[:LOOP_NGRAM - 1]] == [""] * (LOOP_NGRAM - 1)
    assert events[LOOP_NGRAM - 1].text == "a"
    assert text == "abcdefghijkl" and events[-1].finish_reason == "length"
    assert events[-1].text == "efghijkl"


def test_penalty_and_ngram_ban_break_the_loop_in_the_decode_loop(tokenizer: Tokenizer) -> None:
    model = Cycle(tokenizer, "abcd")
    events, text = _events(model, tokenizer, "abcd", 50)
    assert events[-1].finish_reason == "repetition"
    # The prompt does not count: copying it is free, repeating the output is not.
    events, text = _events(model, tokenizer, "abcd", 50, repetition_penalty=1.5)
    assert (text, events[-1].finish_reason) == ("abcd!", "eos")  # 4 / 1.5 < 3
    events, text = _events(model, tokenizer, "abcd", 50, no_repeat_ngram_size=2)
    assert (text, events[-1].finish_reason) == ("abcda!", "eos")  # "ab" again is banned
    # Greedy with penalties is deterministic.
    again = _events(model, tokenizer, "abcd", 50, no_repeat_ngram_size=2)[1]
    assert again == text
    with pytest.raises(ValueError, match="repetition_penalty"):
        next(generate(model, tokenizer, [1], 4, repetition_penalty=0.5))
