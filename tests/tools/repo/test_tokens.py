"""Token counts: exact for the V4 tokenizer, additive over segments."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.repo.tokens import SegmentCounter, count_many, count_tokens, is_segment, v4_tokenizer

LINE_STARTS = st.sampled_from(list("abcXYZ<-#│0129(){}:;.,'\"$@_/\\中日ß"))
LINE_BODY = st.text(
    alphabet=st.sampled_from(list("ab Z09 \t.,:;()[]{}<>=+-*/#'\"_中文ßé│\r")) , max_size=40
)


@st.composite
def segments(draw: st.DrawFn) -> str:
    """A segment: a first line that starts with a visible character, then any lines."""
    lines = [draw(LINE_STARTS) + draw(LINE_BODY)]
    lines += draw(st.lists(LINE_BODY, max_size=4))
    return "\n".join(lines) + "\n" * draw(st.integers(1, 3))


def test_v4_tokenizer_is_the_real_one() -> None:
    assert v4_tokenizer().get_vocab_size() == 129_280
    assert count_tokens("") == 0
    text = "def add(self, instance):\n    return 42\n"
    assert count_tokens(text) == len(v4_tokenizer().encode(text, add_special_tokens=False).ids)
    assert count_many([text, "x"]) == [count_tokens(text), count_tokens("x")]


@settings(max_examples=150, deadline=None)
@given(st.lists(segments(), min_size=1, max_size=6))
def test_counts_add_up_over_segments(parts: list[str]) -> None:
    assert all(is_segment(p) for p in parts)
    assert sum(count_many(parts)) == count_tokens("".join(parts))


def test_counts_do_not_add_up_without_the_segment_rule() -> None:
    # The reason the rule exists: a blank first line merges with the newline before it.
    assert count_tokens("x\n" + "\n\n") != count_tokens("x\n") + count_tokens("\n\n")
    assert not is_segment("\n\nfoo\n")
    assert not is_segment("  indented first line\n")
    assert not is_segment("no newline")
    assert is_segment("<file>\n\n  body\n")


def test_segment_counter_caches_and_refuses_bad_segments() -> None:
    counter = SegmentCounter()
    assert counter.count(["a\n", "a\n", "b c\n"]) == 2 * count_tokens("a\n") + count_tokens("b c\n")
    assert counter.of("a\n") == count_tokens("a\n")
    with pytest.raises(ValueError, match="not an additive segment"):
        counter.count(["\nstarts blank\n"])
