"""The `ask` graph: retrieval, one call, verified citations, and the no-model fallback."""

from __future__ import annotations

from pathlib import Path

from agents.backends.embedded import EmbeddedBackend
from agents.backends.scripted import ScriptedBackend, Transcript
from agents.citations import Citation
from agents.events import EventLog
from agents.graphs.ask import AskResult, build_context
from agents.graphs.runner import start_run
from tests.conftest import FIXTURES

TRANSCRIPTS = FIXTURES / "transcripts"


def ask(root: Path, question: str, **options: object) -> dict[str, object]:
    return {"question": question, "repo": str(root), "path": "fast", **options}


def test_ask_keeps_real_citations_and_drops_fabricated_ones(shop_repo: Path) -> None:
    model = ScriptedBackend.from_file(TRANSCRIPTS / "ask_fabricated.json")
    log = EventLog()
    outcome = start_run("ask", shop_repo, ask(shop_repo, "How are discount codes applied?"),
                        model=model, emit=log)
    result = AskResult.from_state(outcome.state)
    assert result.model == "scripted-answerer" and result.path == "fast"
    assert result.citations == [Citation("shop/pricing.py", 8, 8),
                                Citation("shop/pricing.py", 5, 5),
                                Citation("shop/checkout.py", 9, 9)]
    assert {d["citation"]: d["reason"] for d in result.dropped} == {
        "shop/refunds.py:12": "shop/refunds.py: no such file",
        "shop/pricing.py:16": "lines 14-17 of shop/pricing.py do not mention checkout"}
    assert "shop/refunds.py:12 [unverified]" in result.answer
    assert result.answer.endswith("shop/pricing.py:16: lines 14-17 of shop/pricing.py do not "
                                  "mention checkout")
    assert len(log.of("notice")) == 2
    assert set(result.to_json()) == {"answer", "citations", "path", "model"}
    prompt = model.requests[0][-1].content
    assert prompt.startswith('<repository name="shop">') and "<relevant_spans>" in prompt


def test_ask_without_a_model_returns_the_ranked_spans(shop_repo: Path) -> None:
    outcome = start_run("ask", shop_repo, ask(shop_repo, "where is apply_discount defined?"),
                        model=None)
    result = AskResult.from_state(outcome.state)
    assert result.model == "none" and result.answer.startswith("No model answered")
    assert result.citations[0] == Citation("shop/pricing.py", 6, 13)  # apply_discount's span
    assert [c.path for c in result.citations] == [s["path"] for s in result.spans]
    assert "shop/pricing.py:" in result.answer


def test_ask_falls_back_to_spans_when_the_model_fails(shop_repo: Path, tmp_path: Path) -> None:
    broken = EmbeddedBackend(tmp_path / "missing.gguf")
    result = AskResult.from_state(start_run(
        "ask", shop_repo, ask(shop_repo, "what does checkout do?"), model=broken).state)
    assert result.model == "none" and "failed to load" in result.answer
    assert result.citations and result.citations[0].path == "shop/checkout.py"
    exhausted = ScriptedBackend(Transcript(turns=()))
    result = AskResult.from_state(start_run(
        "ask", shop_repo, ask(shop_repo, "what does checkout do?", context_tokens=4096),
        model=exhausted).state)
    assert result.model == "none" and "the model failed" in result.answer


def test_context_packs_the_whole_repository_when_it_fits(shop_repo: Path) -> None:
    text, hits, packed = build_context(shop_repo, "apply_discount", 100_000)
    assert packed["included"] and packed["counts"]["omitted"] == 0
    assert text.index("<repository") < text.index("<relevant_spans>")
    assert hits[0].path == "shop/pricing.py"
    small, small_hits, small_pack = build_context(shop_repo, "apply_discount", 400)
    assert len(small) < len(text) and small_hits[0].path == "shop/pricing.py"
    assert small_pack["total_tokens"] <= 400 and small_pack["counts"]["omitted"] > 0
