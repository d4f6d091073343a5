"""The TUI's adapter: the graph's citation checks shown and linked, safe file reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import citations
from agents.citations import verify_citations
from agents.graphs.ask.graph import AskResult
from agents.llm import ToolCall
from agents.toolbox import ToolBox
from app.tui.asking import checked_citations, link_citations
from app.tui.services import FathomService, ServiceError
from app.tui.state import Citation
from app.tui.widgets.answer import parse_href
from app.tui.widgets.budget import cells
from tests.app.tui.helpers import scripted
from tools.repo.showable import hidden_reason


@pytest.fixture
def service(shop: Path) -> FathomService:
    """The service over the shop, with a scripted model."""
    return FathomService(shop, model=scripted(), context=8192)


def test_the_graphs_citation_checks_are_shown_in_order(shop: Path) -> None:
    text = ("`apply_discount` is at shop/pricing.py:8-13. The total is `Cart.total` in "
            "./shop/models.py:25. `apply_discount` is also at shop/pricing.py:99. "
            "`coupon` lives in shop/gone.py:1. `Cart.total` again: shop/models.py:25.")
    report = verify_citations(shop, text)  # what the `ask` graph's verify step found
    result = AskResult(text, report.verified, "fast", "scripted", report.dropped, reply=text)
    found = {c.raw: c for c in checked_citations(shop, result)}
    assert list(found) == ["shop/pricing.py:8-13", "shop/models.py:25",
                           "shop/pricing.py:99", "shop/gone.py:1"]
    first = found["shop/pricing.py:8-13"]
    assert first.valid and first.end_line == 13
    assert first.snippet == "def apply_discount(cart: Cart, code: str) -> int:"
    assert found["shop/models.py:25"].valid
    assert "line 99 does not exist" in (found["shop/pricing.py:99"].problem or "")
    assert "no such file" in (found["shop/gone.py:1"].problem or "")


def test_links_skip_code_blocks_and_existing_links() -> None:
    ok = Citation("a/b.py:3", "a/b.py", 3, valid=True)
    bad = Citation("a/c.py:1", "a/c.py", 1)
    text = ("In a/b.py:3 and `a/b.py:3`, not a/c.py:1 nor `x = a/b.py:3`.\n"
            "```\na/b.py:3\n```\n[here](a/b.py:3)")
    assert link_citations(text, [ok, bad]) == (
        "In [a/b.py:3](cite:a/b.py%3A3) and [`a/b.py:3`](cite:a/b.py%3A3), not a/c.py:1 "
        "nor `x = a/b.py:3`.\n```\na/b.py:3\n```\n[here](a/b.py:3)")
    assert parse_href(ok.href) == ("a/b.py", 3)
    assert parse_href("https://example.com") is None


def test_read_file_stays_inside_and_hides_secrets(service: FathomService, shop: Path) -> None:
    assert service.read_file("shop/pricing.py").text.startswith('"""Discount codes."""')
    assert service.read_file(".env").note == "not shown: secret file: name matches '.env'"
    (shop.parent / "outside.py").write_text("x = 1\n")
    with pytest.raises(ServiceError, match="no such file"):
        service.read_file("../outside.py")
    (shop / "link.py").symlink_to(shop.parent / "outside.py")
    with pytest.raises(ServiceError, match="no such file"):
        service.read_file("link.py")


def test_budget_cells_keep_small_parts_visible() -> None:
    assert cells([1, 0, 998_999, 1_000], 50) == [1, 0, 48, 1]
    assert sum(cells([3, 5, 7], 80)) == 80
    assert cells([0, 0], 10) == [0, 0]


def test_every_place_that_shows_a_file_refuses_the_same_files(shop: Path,
                                                              service: FathomService) -> None:
    token = "ghp_" + "a1B2" * 9
    (shop / "logo.bin").write_bytes(b"\x89PNG\0\0\0hello")
    (shop / "shop" / "keys.py").write_text(f"GITHUB = '{token}'\n")
    box = ToolBox(shop)
    for path in (".env", "logo.bin", "shop/keys.py"):
        reason = hidden_reason(path, (shop / path).read_bytes())
        assert reason, path
        assert service.read_file(path).note == f"not shown: {reason}"
        assert citations.check_citation(shop, citations.Citation(path, 1, 1),
                                        "`GITHUB` and `hello` here")
        result = box.call(ToolCall(name="read_file", arguments={"path": path}, id="c"))
        assert not result.ok, path
    assert service.read_file("shop/pricing.py").note is None  # plain code is shown
