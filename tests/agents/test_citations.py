"""Citations are checked against the files: they must exist and say what is claimed."""

from __future__ import annotations

from pathlib import Path

from agents.citations import (
    Citation,
    check_citation,
    claim_terms,
    mark_dropped,
    render_span_numbers,
    verify_citations,
)


def test_claim_terms_prefer_identifiers_and_skip_paths() -> None:
    identifiers, words = claim_terms(
        "In shop/models.py the `Cart.total()` method (shop/models.py:12) sums prices.")
    assert identifiers == {"Cart.total", "total"}
    assert words == {"sums", "prices"}
    assert claim_terms("mean([2, 4]) returns 2.0")[0] == {"mean"}


def test_verified_citations_hold_and_others_say_why(shop_repo: Path) -> None:
    answer = ("`apply_discount` (shop/pricing.py:8-13) raises for unknown codes. "
              "The discount table is `DISCOUNT_CODES` at `shop/pricing.py:5`.\n"
              "Refunds live in shop/refunds.py:3. `quick_buy` is at shop/pricing.py:3. "
              "Prices are formatted at shop/pricing.py:400. See also shop/pricing.py:8.")
    report = verify_citations(shop_repo, answer)
    assert report.verified == [Citation("shop/pricing.py", 8, 13),
                               Citation("shop/pricing.py", 5, 5)]
    reasons = {d.text: d.reason for d in report.dropped}
    assert reasons == {
        "shop/refunds.py:3": "shop/refunds.py: no such file",
        "shop/pricing.py:3": "lines 1-5 of shop/pricing.py do not mention quick_buy",
        "shop/pricing.py:400": "shop/pricing.py has 17 lines; line 400 does not exist",
        "shop/pricing.py:8": "the claim names nothing that the cited lines could be "
                             "checked against",
    }
    marked = mark_dropped(answer, report.dropped)
    assert "shop/refunds.py:3 [unverified]" in marked and "shop/pricing.py:5`" in marked
    assert marked.count("[unverified]") == 4 and "Unverified citations (dropped):" in marked


def test_paths_outside_the_repository_and_secrets_are_refused(shop_repo: Path) -> None:
    (shop_repo / ".env").write_text("TOKEN=abc\n")
    assert "outside" in check_citation(shop_repo, Citation("../x.py", 1, 1), "`x` here")
    assert check_citation(shop_repo, Citation(".env", 1, 1), "`TOKEN` here")
    assert check_citation(shop_repo, Citation("shop/pricing.py", 9, 8), "`x`") == \
        "shop/pricing.py:9-8: not a line range"


def test_span_numbers_are_written_out_where_they_cite_and_nowhere_else() -> None:
    spans = ["shop/pricing.py:8-13", "shop/checkout.py:9"]
    cases = {
        "`apply_discount` [1] raises.": "`apply_discount` (shop/pricing.py:8-13) raises.",
        "See ([2]).": "See (shop/checkout.py:9).",
        "Both [1, 2] and [2][1].": "Both (shop/pricing.py:8-13, shop/checkout.py:9) and "
                                   "(shop/checkout.py:9, shop/pricing.py:8-13).",
        "items[1] is an index": "items[1] is an index",
        "[3] names no span, nor [1, 3]": "[3] names no span, nor [1, 3]",
        "a [1](https://example.com) link": "a [1](https://example.com) link",
        "[1]: https://example.com": "[1]: https://example.com",
        "code `x[1]` and\n```\n[1]\n```\n[2]": "code `x[1]` and\n```\n[1]\n```\n"
                                               "(shop/checkout.py:9)",
    }
    for written, rendered in cases.items():
        assert render_span_numbers(written, spans) == rendered, written
    assert render_span_numbers("[1]", []) == "[1]"
