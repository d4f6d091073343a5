"""Run records: ids, status, usage accounting, and resuming finished or unknown runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agents.events import EVENT_ADAPTER, EventQueue
from agents.graphs.runner import resume_run, start_run
from agents.llm import Usage
from agents.runs import RunNotFoundError, RunStore, new_run_id, runs_db_path


def test_run_ids_are_unique_and_sortable() -> None:
    ids = {new_run_id("fix") for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"fix-\d{8}-\d{6}-[0-9a-f]{6}", i) for i in ids)


def test_store_records_status_and_usage(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.create("r1", "fix", tmp_path, {"inputs": {"task": "t"}})
        store.add_usage("r1", Usage(prompt_tokens=100, completion_tokens=20, cost=0.5), "m")
        record = store.add_usage("r1", Usage(prompt_tokens=1, completion_tokens=2), "m")
        assert (record.calls, record.total_tokens, record.cost, record.model) == \
            (2, 123, 0.5, "m")
        record = store.update("r1", status="done", branch="fathom/r1", summary="ok")
        assert (record.status, record.branch, record.request) == \
            ("done", "fathom/r1", {"inputs": {"task": "t"}})
        with pytest.raises(ValueError, match="cannot update"):
            store.update("r1", calls="3")
        with pytest.raises(RunNotFoundError, match="no run 'nope'"):
            store.get("nope")
        assert [r.run_id for r in store.recent()] == ["r1"]
    assert runs_db_path(tmp_path) == tmp_path / ".fathom" / "runs.sqlite"
    assert (tmp_path / ".fathom" / ".gitignore").read_text() == "*\n"


def test_resuming_a_finished_run_returns_it_unchanged(shop_repo: Path) -> None:
    first = start_run("ask", shop_repo, {"question": "where is checkout?",
                                         "repo": str(shop_repo), "path": "fast"}, model=None)
    again = resume_run(shop_repo, first.run_id, model=None)
    assert again.status == "done" and again.state["answer"] == first.state["answer"]
    assert again.state["steps"] == first.state["steps"] == 3
    with pytest.raises(RunNotFoundError):
        resume_run(shop_repo, "ask-missing", model=None)


def test_events_stream_as_an_iterator_and_round_trip_as_json(shop_repo: Path) -> None:
    inputs = {"question": "where is checkout?", "repo": str(shop_repo), "path": "fast"}
    stream = EventQueue(lambda sink: start_run("ask", shop_repo, inputs, model=None, emit=sink))
    events = list(stream)
    assert [e.kind for e in events][:2] == ["run_started", "step_started"]
    assert events[-1].kind == "run_finished" and stream.result.status == "done"
    steps = [e.step for e in events if e.kind == "step_finished"]
    assert steps == ["retrieve", "answer", "verify"]
    for event in events:
        assert EVENT_ADAPTER.validate_json(event.model_dump_json()) == event

    def broken(sink: object) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        list(EventQueue(broken))
