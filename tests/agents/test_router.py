"""The router: questions take the Fast Path, changes the Slow Path, and --path overrides."""

from __future__ import annotations

import pytest

from agents.router import classify, route


@pytest.mark.parametrize(("request_text", "path", "graph"), [
    ("How does the checkout apply discount codes?", "fast", "ask"),
    ("where is format_price defined", "fast", "ask"),
    ("explain the pricing module", "fast", "ask"),
    ("Fix the off-by-one in mean()", "slow", "fix"),
    ("please add a --verbose flag to the CLI", "slow", "fix"),
    ("Can you rename Cart.total to Cart.sum", "slow", "fix"),
    ("make the tests pass", "slow", "repair"),
    ("the tests are failing after the upgrade, repair them", "slow", "repair"),
    ("Review this diff before I merge it", "slow", "review"),
    ("Why does this fail?\nTraceback (most recent call last):\n  File \"a.py\", line 3",
     "slow", "ask"),
    ("What is X? How is Y built? Where is Z used?", "slow", "ask"),
    ("caching layer", "fast", "ask"),
])
def test_classify(request_text: str, path: str, graph: str) -> None:
    routed = classify(request_text)
    assert (routed.path, routed.graph) == (path, graph), routed.reason
    assert routed.reason and not routed.overridden


def test_overrides() -> None:
    assert route("Fix the bug in mean", "fast").to_json() == {
        "path": "fast", "graph": "ask", "overridden": True,
        "reason": "--path fast (would be fix: asks for code to change)"}
    slow = route("where is mean defined?", "slow")
    assert (slow.path, slow.graph, slow.overridden) == ("slow", "ask", True)
    assert route("where is mean defined?", "fast").overridden is False
    with pytest.raises(ValueError, match="empty request"):
        route("   ")
