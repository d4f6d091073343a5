"""The `review` graph: findings with checked evidence, and a self-check that only drops."""

from __future__ import annotations

import sys
from pathlib import Path

import git
import pytest

from agents.backends.scripted import ScriptedBackend
from agents.graphs.runner import start_run
from tests.conftest import FIXTURES
from tools.git import GitError

TRANSCRIPTS = FIXTURES / "transcripts"
BROKEN = '''    percent = DISCOUNT_CODES[code]
    log_discount(code)
    return cart.total() * (100 + percent) // 100
'''


@pytest.fixture
def feature(shop_repo: Path) -> Path:
    """The shop with a branch `feature` whose discount adds and calls an undefined name."""
    repo = git.Repo(shop_repo)
    repo.git.checkout("-b", "feature")
    pricing = shop_repo / "shop" / "pricing.py"
    text = pricing.read_text()
    old = "    percent = DISCOUNT_CODES[code]\n    return cart.total() * (100 - percent) // 100\n"
    pricing.write_text(text.replace(old, BROKEN))
    repo.git.commit("-am", "discounts: log them")
    repo.git.checkout("main")
    return shop_repo


def review(root: Path, command: str | None = None) -> dict[str, object]:
    return {"repo": str(root), "base": "main", "head": "feature", "test_command": command}


def test_review_keeps_findings_whose_evidence_holds(feature: Path) -> None:
    model = ScriptedBackend.from_file(TRANSCRIPTS / "review_pricing.json")
    command = f"{sys.executable} -m pytest -q -p no:cacheprovider"
    outcome = start_run("review", feature, review(feature, command), model=model)
    state = outcome.state
    assert model.remaining == 0 and outcome.status == "done"
    assert state["failing"] == ["tests/test_pricing.py::test_summer_discount"]
    assert [(h["path"], h["line"], h["code"]) for h in state["lint"]] == \
        [("shop/pricing.py", 13, "F821")]
    kept = [(f["line"], f["evidence"]["kind"]) for f in state["findings"]]
    assert kept == [(14, "quote"), (13, "lint"), (14, "test")]
    reasons = [d["reason"] for d in state["dropped"]]
    assert reasons == ["the quote is not in shop/pricing.py near line 5",
                       "shop/models.py is not part of the change",
                       "'tests/test_pricing.py::test_refunds' is not a failing test",
                       "the self-check could not support it"]
    assert state["summary"].startswith("3 findings on 1 files (4 dropped")
    assert [b.name for b in git.Repo(feature).heads] == ["feature", "main"]  # test tree gone


def test_review_without_a_model_reports_lint_hits(feature: Path) -> None:
    outcome = start_run("review", feature, review(feature), model=None)
    findings = outcome.state["findings"]
    assert [(f["line"], f["severity"], f["evidence"]["kind"]) for f in findings] == \
        [(13, "error", "lint")]
    assert "F821" in findings[0]["message"] and outcome.state["model"] == "none"


def test_review_of_an_unknown_revision_fails_clearly(feature: Path) -> None:
    with pytest.raises(GitError, match="unknown revision 'nope'"):
        start_run("review", feature, {**review(feature), "head": "nope"}, model=None)
