"""Context caching end to end: the pack keeps the prompt's prefix byte-identical across
questions about an unchanged repository, so a server's prefix cache hits it, and the hits
are counted, priced at their own rate and reported — per call, per run, in `--json`.

The server is real HTTP on 127.0.0.1 (`tests.openai_server`), reached with the real
`openai` client; its `PrefixCache` reports the hits a server's prefix cache would have.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agents.backends.openai_api import OpenAIBackend
from agents.events import EventLog, TokensUsed
from agents.graphs.runner import start_run
from agents.llm import Pricing, Usage
from agents.runs import RunStore, runs_db_path
from app.commands import agent
from tests.conftest import FIXTURES, init_repo
from tests.openai_server import (
    CHARS_PER_TOKEN,
    CacheFields,
    PrefixCache,
    Received,
    WireCall,
    WireReply,
    chat_app,
    rendered,
    serve,
)

MISS, HIT, OUT = 0.30, 0.006, 1.20  # USD per 1M prompt (computed, cached), completion tokens
PRICES = Pricing(prompt_per_mtok=MISS, completion_per_mtok=OUT, cached_prompt_per_mtok=HIT)
ANSWER = "`apply_discount` (shop/pricing.py:8) applies it."


def _cost(usage: TokensUsed | dict[str, Any]) -> float:
    """What `PRICES` make of a call's (or a run's) tokens, computed here from the counts."""
    data = usage.model_dump() if isinstance(usage, TokensUsed) else usage
    cached = data["cached_prompt_tokens"]
    return ((data["prompt_tokens"] - cached) * MISS + cached * HIT
            + data["completion_tokens"] * OUT) / 1e6


class CachingServer:
    """Replies in turn, reporting the hits of a `PrefixCache` as DeepSeek does (or as
    `fields` says); keeps what it received and reported."""

    def __init__(self, replies: list[WireReply], fields: CacheFields = "deepseek") -> None:
        """Answer `replies` in order (the last one again when they run out)."""
        self.replies = replies
        self.fields = fields
        self.cache = PrefixCache()
        self.received: list[Received] = []
        self.reported: list[WireReply] = []

    def reply(self, body: dict[str, Any]) -> WireReply:
        """The next reply, with the prompt's tokens and cache hits."""
        prompt, cached = self.cache.lookup(body["messages"])
        base = self.replies[min(len(self.reported), len(self.replies) - 1)]
        reply = WireReply(base.content, base.reasoning, base.tool_calls, prompt_tokens=prompt,
                          completion_tokens=base.completion_tokens, cached_tokens=cached,
                          cache_fields=self.fields)
        self.reported.append(reply)
        return reply

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve on 127.0.0.1 until the block ends; yields the `/v1` URL."""
        with serve(chat_app(self.reply, self.received)) as url:
            yield url


@pytest.mark.parametrize("fields", ["deepseek", "details"])
def test_questions_about_an_unchanged_repository_share_a_byte_identical_prefix(
        shop_repo: Path, fields: CacheFields) -> None:
    server = CachingServer([WireReply(ANSWER)], fields)
    asked = [("How are discount codes applied?", []), ("What does checkout do?", []),
             ("Where is it called?", [{"question": "What does checkout do?",
                                       "answer": "It takes the order."}])]  # a follow-up
    logs, records = [], []
    with server.running() as url:
        model = OpenAIBackend("deepseek-flash", base_url=url, pricing=PRICES)
        for question, history in asked:
            log = EventLog()
            outcome = start_run("ask", shop_repo, {"question": question, "repo": str(shop_repo),
                                                   "path": "fast", "history": history},
                                model=model, emit=log)
            assert outcome.status == "done"
            logs.append(log)
            records.append(outcome.record)
    bodies = [r.body["messages"] for r in server.received]
    assert [[m["role"] for m in b] for b in bodies] == [
        ["system", "user"], ["system", "user"], ["system", "user", "assistant", "user"]]
    system = bodies[0][0]["content"].encode()
    assert b'<repository name="shop">' in system and b"def apply_discount" in system
    assert [b[0]["content"].encode() for b in bodies[1:]] == [system, system]
    # On the wire, everything up to the first user message is the same bytes...
    first_user = server.received[0].raw.index(b'"role":"user"')
    shared = os.path.commonprefix([r.raw for r in server.received])
    assert len(shared) > first_user
    # ...and so is what the model reads, the whole system message and the next turn's marker.
    head = rendered(bodies[0][:1]) + "<|user|>"
    assert all(rendered(b).startswith(head) for b in bodies)

    # The server's prefix cache hits that prefix, and the accounting follows it through.
    used = [log.of("tokens") for log in logs]
    assert [len(u) for u in used] == [1, 1, 1]
    calls = [u[0] for u in used]
    assert isinstance(calls[0], TokensUsed) and calls[0].cached_prompt_tokens == 0
    for call, reported in zip(calls, server.reported, strict=True):
        assert (call.prompt_tokens, call.cached_prompt_tokens) == (reported.prompt_tokens,
                                                                  reported.cached_tokens)
        assert call.cost == pytest.approx(_cost(call))
    for call in calls[1:]:
        assert call.cached_prompt_tokens >= len(head) // CHARS_PER_TOKEN
        assert call.cost < (call.prompt_tokens * MISS + call.completion_tokens * OUT) / 1e6
    assert [r.cached_prompt_tokens for r in records] == [c.cached_prompt_tokens for c in calls]
    assert [r.cost for r in records] == pytest.approx([c.cost for c in calls])
    totals = model.meter.totals
    assert totals.cached_prompt_tokens == sum(c.cached_prompt_tokens for c in calls)


# -- a fix run through the CLI: the run's usage in --json ---------------------------------

FIX_TRANSCRIPT = FIXTURES / "transcripts" / "fix_mean.json"
CHECK = f"{sys.executable} check.py"


def _transcript_replies(path: Path) -> list[WireReply]:
    """The replies of a scripted transcript, as the server sends them."""
    turns = json.loads(path.read_text(encoding="utf-8"))["turns"]
    return [WireReply(t["reply"].get("content", ""), t["reply"].get("reasoning"),
                      tuple(WireCall(f"call_{n}_{k}", c["name"], json.dumps(c["arguments"]))
                            for k, c in enumerate(t["reply"].get("tool_calls", []))),
                      completion_tokens=30)
            for n, t in enumerate(turns)]


def test_fix_json_reports_the_runs_cache_hits(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calc = tmp_path / "calc"
    shutil.copytree(FIXTURES / "calc", calc)
    init_repo(calc)
    server = CachingServer(_transcript_replies(FIX_TRANSCRIPT), fields="both")
    app = typer.Typer()
    agent.register(app)
    with server.running() as url:
        for name, value in {"CONFIG_FILE": "/nonexistent/fathom.toml", "BACKEND": "openai",
                            "MODEL": "deepseek-v4-pro", "BASE_URL": url,
                            "PRICE_PROMPT_PER_MTOK": str(MISS),
                            "PRICE_CACHED_PROMPT_PER_MTOK": str(HIT),
                            "PRICE_COMPLETION_PER_MTOK": str(OUT)}.items():
            monkeypatch.setenv(f"FATHOM_{name}", value)
        result = CliRunner().invoke(app, ["fix", "mean([2, 4]) returns 2.0 instead of 3",
                                          "--repo", str(calc), "--test-cmd", CHECK, "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data = json.loads(result.stdout)
    assert data["status"] == "awaiting_approval" and data["outcome"] == "green"
    reported = server.reported
    assert len(reported) == 4 and all(r.body["model"] == "deepseek-v4-pro"
                                       for r in server.received)
    usage = data["usage"]
    assert usage["calls"] == 4
    assert usage["prompt_tokens"] == sum(r.prompt_tokens for r in reported)
    assert usage["cached_prompt_tokens"] == sum(r.cached_tokens for r in reported)
    assert usage["completion_tokens"] == 4 * 30
    # The tool loop resends the conversation so far: its later turns mostly hit the cache.
    assert usage["cached_prompt_tokens"] > usage["prompt_tokens"] // 2
    assert usage["cost"] == pytest.approx(_cost(usage))


def test_an_older_run_database_gains_the_cached_column(tmp_path: Path) -> None:
    with sqlite3.connect(runs_db_path(tmp_path)) as old:  # the table before the column
        old.execute(
            "CREATE TABLE fathom_runs(run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, repo TEXT "
            "NOT NULL, request TEXT NOT NULL, status TEXT NOT NULL, created REAL NOT NULL, "
            "updated REAL NOT NULL, model TEXT, branch TEXT, summary TEXT NOT NULL DEFAULT '', "
            "calls INTEGER NOT NULL DEFAULT 0, prompt_tokens INTEGER NOT NULL DEFAULT 0, "
            "completion_tokens INTEGER NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0)")
        old.execute("INSERT INTO fathom_runs(run_id, kind, repo, request, status, created, "
                    "updated, calls, prompt_tokens) VALUES ('fix-1', 'fix', '.', '{}', "
                    "'done', 0, 0, 1, 500)")
    old.close()
    with RunStore(tmp_path) as store:
        assert store.get("fix-1").cached_prompt_tokens == 0
        record = store.add_usage("fix-1", Usage(prompt_tokens=100, cached_prompt_tokens=80,
                                                completion_tokens=5), "deepseek-flash")
    assert (record.prompt_tokens, record.cached_prompt_tokens) == (600, 80)
    with RunStore(tmp_path) as again:  # opening it again changes nothing
        assert again.get("fix-1") == record
