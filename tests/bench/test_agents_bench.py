"""bench/agents.py's endpoint mode, run for real.

An OpenAI-compatible server on 127.0.0.1 plays the oracle for seeded-bug tasks: it plans
in a line, reads the buggy file, applies the task's known fix as an `apply_edit` udiff,
then says it is done. The benchmark reaches it through `FATHOM_BENCH_ENDPOINT` and the
real `openai` client, and the whole `fix` graph (worktree, checks, tests, commit) runs.
The oracle keeps no state: each reply follows from the conversation it is sent, so the
wire format (tool-call ids, arguments, reasoning sent back) has to survive the round trip.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from agents.llm import ChatMessage, ChatResult, ContentDelta, ToolCallDelta, ToolSpec
from bench import agents as agents_bench
from bench.tasks import Task, load_tasks
from tests.openai_server import WireCall, WireReply, respond, serve

TASK_IDS = ("leap-year", "median-even")
MODEL = "oracle-v1"
API_KEY = "sk-bench-test"
# setup, baseline, plan, locate, then three turns (read, edit, done) of which two run
# tools (think + act each), then check, test, commit, approve, apply, finish
FIX_STEPS = 4 + 3 + 2 + 6


@dataclass
class Oracle:
    """The server's side: the tasks it knows, the requests it saw, the tokens it reported."""

    tasks: Sequence[Task]
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    tokens: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def task_of(self, messages: list[dict[str, Any]]) -> Task | None:
        """The task whose symptom the conversation is about."""
        text = "\n".join(str(m.get("content") or "") for m in messages if m["role"] == "user")
        return next((t for t in self.tasks if t.description in text), None)

    def reply(self, task: Task, body: dict[str, Any]) -> WireReply:
        """What the oracle says next: plan (no tools offered), read, edit, then done."""
        messages = body["messages"]
        calls = sum(len(m.get("tool_calls") or ()) for m in messages if m["role"] == "assistant")
        if not body.get("tools"):
            content, reasoning, tool_calls = f"Fix {task.bug.name} in {task.bug.path}.", None, ()
        elif calls == 0:
            content, reasoning = "", f"Read {task.bug.path} first."
            tool_calls = (WireCall("call_read", "read_file",
                                   json.dumps({"path": task.bug.path})),)
        elif calls == 1:
            content, reasoning = "", "The file shows the bug; apply the known fix."
            tool_calls = (WireCall("call_edit", "apply_edit",
                                   json.dumps({"format": "udiff", "text": task.fix})),)
        else:
            content, reasoning, tool_calls = f"Fixed {task.bug.name}.", None, ()
        reply = WireReply(content, reasoning, tool_calls,
                          prompt_tokens=len(json.dumps(messages)) // 4,
                          completion_tokens=(len(content) + len(reasoning or "")) // 4 + 10)
        with self.lock:
            self.tokens[task.id] += reply.prompt_tokens + reply.completion_tokens
        return reply

    def app(self) -> FastAPI:
        """The FastAPI app serving `/v1/chat/completions`."""
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Any:
            body = await request.json()
            with self.lock:
                self.requests.append(body)
                self.keys.append(request.headers.get("authorization", ""))
            task = self.task_of(body["messages"])
            if task is None:
                return JSONResponse({"error": {"message": "no known task in the conversation"}},
                                    status_code=400)
            return respond(body, self.reply(task, body))

        return app


@pytest.fixture
def oracle() -> Iterator[tuple[str, Oracle]]:
    """The oracle endpoint's URL, and the oracle."""
    tasks = [t for t in load_tasks() if t.id in TASK_IDS]
    assert [t.id for t in tasks] == list(TASK_IDS)
    server = Oracle(tasks)
    with serve(server.app()) as url:
        yield url, server


def test_endpoint_mode_fixes_tasks_through_the_openai_client(
        oracle: tuple[str, Oracle], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    url, server = oracle
    monkeypatch.setenv("FATHOM_BENCH_ENDPOINT", url)
    monkeypatch.setenv("FATHOM_BENCH_MODEL", MODEL)
    monkeypatch.setenv("FATHOM_BENCH_API_KEY", API_KEY)
    out = tmp_path / "agents.json"
    agents_bench.main(["--mode", "endpoint", *(a for t in TASK_IDS for a in ("--task", t)),
                       "--out", str(out)])
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["summary"] == {"tasks": 2, "locate_top1": None, "locate_top3": None,
                               "oracle_success": None, "endpoint_success": 1.0,
                               "endpoint_model": MODEL}
    assert json.loads(printed[printed.index("{"):]) == data["summary"]
    assert [r["id"] for r in data["tasks"]] == list(TASK_IDS)
    for result in data["tasks"]:
        run = result["endpoint"]
        assert (run["success"], run["outcome"], run["steps"]) == (True, "green", FIX_STEPS)
        assert run["tokens"] == server.tokens[result["id"]] > 0  # as the server reported them
        assert 0 < run["seconds"] < 300
        assert result["oracle"] is None and result["locate_seconds"] is None
        assert (f"{result['id']:24}  endpoint ok {FIX_STEPS} steps {run['tokens']} tokens "
                f"{run['seconds']}s") in printed.splitlines()
    assert set(server.keys) == {f"Bearer {API_KEY}"}
    assert {r["model"] for r in server.requests} == {MODEL}
    assert all(r["thinking"] == {"type": "enabled"} and not r.get("stream")
               for r in server.requests)
    for task in server.tasks:
        _check_wire(task, [r for r in server.requests if server.task_of(r["messages"]) is task])


def _check_wire(task: Task, requests: list[dict[str, Any]]) -> None:
    """The conversation of one fix run, as the server saw it: a plan without tools, then
    read, edit and done, each tool result answering its call by id."""
    plan, read, edit, done = requests
    assert "tools" not in plan
    assert {t["function"]["name"] for t in read["tools"]} >= {"read_file", "apply_edit"}
    asked, answered = edit["messages"][-2:]
    assert asked["tool_calls"][0]["id"] == answered["tool_call_id"] == "call_read"
    assert json.loads(asked["tool_calls"][0]["function"]["arguments"]) == {
        "path": task.bug.path}
    # the reasoning of a tool-calling turn goes back, as DeepSeek requires
    assert asked["reasoning_content"] == f"Read {task.bug.path} first."
    assert f"def {task.bug.name.rsplit('.', 1)[-1]}(" in answered["content"]
    edited = done["messages"][-1]
    assert edited["tool_call_id"] == "call_edit"
    assert json.loads(edited["content"])["changed"] == [task.bug.path]


def test_the_oracle_streams_what_it_answers(oracle: tuple[str, Oracle]) -> None:
    """`fix` asks without streaming; callers that stream get the same reply in pieces."""
    url, server = oracle
    task = server.tasks[1]
    model = agents_bench.endpoint_model(url, MODEL, API_KEY)
    spec = ToolSpec(name="read_file", description="Read a file.",
                    parameters={"type": "object", "properties": {"path": {"type": "string"}}})
    question = [ChatMessage.user(f"Task: {task.description}")]
    whole = model.chat(question, [spec], thinking=True)
    pieces = list(model.chat(question, [spec], thinking=True, stream=True))
    streamed = pieces[-1]
    assert isinstance(streamed, ChatResult)
    assert streamed.tool_calls == whole.tool_calls
    assert (streamed.reasoning or "").strip() == whole.reasoning == f"Read {task.bug.path} first."
    assert whole.tool_calls[0].arguments == {"path": task.bug.path}
    assert [p.call for p in pieces if isinstance(p, ToolCallDelta)] == list(whole.tool_calls)
    assert not [p for p in pieces if isinstance(p, ContentDelta)]
    assert streamed.usage == whole.usage and server.requests[-1]["stream"] is True
