"""The agent commands on a terminal: the approval prompt of `fathom fix`, answered on a
real pseudo-terminal, and `fathom ask` streaming its answer as the model writes it."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from app import run_display
from app.commands import agent
from tests.conftest import FIXTURES, init_repo

ROOT = Path(__file__).resolve().parents[3]
TRANSCRIPTS = FIXTURES / "transcripts"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PROMPT = "to your branch? [y/N]"
QUESTION = "How are discount codes applied?"


@pytest.fixture(autouse=True)
def scripted_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come only from what each test sets, not from the caller's environment."""
    for name in [n for n in os.environ if n.startswith("FATHOM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FATHOM_CONFIG_FILE", "/nonexistent/fathom.toml")
    monkeypatch.setenv("FATHOM_BACKEND", "scripted")


# -- fix: the approval prompt on a pseudo-terminal ---------------------------------------


def on_terminal(args: list[str], answer: str, timeout: float = 240.0) -> tuple[int, str, int]:
    """Run `fathom ARGS` with a pseudo-terminal as stdin, stdout and stderr; type `answer`
    when the approval prompt shows. Returns the exit code, what the terminal showed
    (colours removed) and how many times the prompt was shown."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm", "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()",
                                *args], cwd=ROOT, env=env, stdin=follower, stdout=follower,
                               stderr=follower, start_new_session=True)
    os.close(follower)
    shown, prompts, deadline = b"", 0, time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"fathom did not finish in {timeout}s:\n{shown.decode()}"
            ready, _, _ = select.select([leader], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: every end of the terminal was closed, fathom is done
                break
            if not chunk:
                break
            shown += chunk
            text = ANSI.sub("", shown.decode("utf-8", "replace"))
            if text.count(PROMPT) > prompts:
                prompts += 1
                os.write(leader, answer.encode() + b"\n")
        return process.wait(timeout=30), ANSI.sub("", shown.decode("utf-8", "replace")), prompts
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)


@pytest.fixture
def dirty_calc(tmp_path: Path) -> tuple[Path, dict[Path, bytes]]:
    """A copy of the calc project with uncommitted work: a changed README, a new file."""
    root = tmp_path / "calc"
    shutil.copytree(FIXTURES / "calc", root)
    init_repo(root)
    (root / "README.md").write_text("my unsaved notes\n")
    (root / "scratch.txt").write_text("not even added\n")
    return root, {p: p.read_bytes() for p in root.rglob("*") if p.is_file()
                  and ".git" not in p.relative_to(root).parts}


@pytest.mark.parametrize("answer", ["y", "n"])
def test_fix_asks_on_the_terminal_before_touching_the_branch(
        dirty_calc: tuple[Path, dict[Path, bytes]], answer: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    root, before = dirty_calc
    monkeypatch.setenv("FATHOM_SCRIPT", str(TRANSCRIPTS / "fix_mean.json"))
    repo = git.Repo(root)
    start = repo.head.commit.hexsha
    code, shown, prompts = on_terminal(
        ["fix", "mean([2, 4]) returns 2.0 instead of 3", "--repo", str(root),
         "--test-cmd", f"{sys.executable} check.py"], answer)
    assert code == 0, shown
    assert prompts == 1 and "(1 files changed)" in shown
    assert "· plan" in shown and "apply_edit ok" in shown and "tests: passed" in shown
    [branch] = [b for b in repo.branches if b.name.startswith("fathom/")]
    assert branch.commit.parents[0].hexsha == start
    assert "sum(values) / len(values)" in branch.commit.tree["calc/stats.py"].data_stream \
        .read().decode()
    stats = root / "calc" / "stats.py"
    if answer == "y":
        assert repo.head.commit == branch.commit and repo.active_branch.name == "main"
        assert f"fast-forwarded main to {branch.commit.hexsha[:12]}" in shown
        assert stats.read_bytes() != before.pop(stats)  # the one file the run changed
    else:
        assert repo.head.commit.hexsha == start
        assert f"not applied; merge it with `git merge {branch.name}`" in shown
    after = {p: p.read_bytes() for p in before}
    assert after == before  # the user's dirty and untracked files, byte for byte


# -- ask: the answer streams -------------------------------------------------------------


class Screen(io.StringIO):
    """One terminal that stdout and stderr both write to; each write is kept apart."""

    def __init__(self) -> None:
        """Start blank."""
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        """Keep the write, then add it to the screen."""
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> Screen:
    """The commands' consoles, as terminals writing to one `Screen`."""
    shared = Screen()
    for module, name in ((run_display, "console"), (run_display, "err_console"),
                         (agent, "err_console")):
        monkeypatch.setattr(module, name, Console(file=shared, force_terminal=True,
                                                  color_system=None, width=200))
    return shared


def ask(*args: str) -> str:
    """Run `fathom ask ARGS` in-process; its stdout (where the consoles are not patched)."""
    app = typer.Typer()
    agent.register(app)
    result = CliRunner().invoke(app, ["ask", *args])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def test_ask_streams_the_answer_on_a_terminal(shop_repo: Path, screen: Screen,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATHOM_SCRIPT", str(TRANSCRIPTS / "ask_fabricated.json"))
    ask(QUESTION, "--repo", str(shop_repo))
    reply = json.loads((TRANSCRIPTS / "ask_fabricated.json").read_text())["turns"][0][
        "reply"]["content"]
    writes = screen.writes
    first = writes.index("· answer\n") + 1
    end = writes.index("\n", first)
    assert len(writes[first:end]) > 20 and "".join(writes[first:end]) == reply  # piece by piece
    assert writes[end + 1] == "· verify\n"  # shown before the answer step had even finished
    shown = screen.getvalue()
    assert shown.count("looks the code up") == 1  # not printed again at the end
    assert "dropped citation shop/refunds.py:12: shop/refunds.py: no such file" in shown
    sources = re.search(r"\nSources:\n(  \[\d\] shop/\S+:\d+-\d+.*\n)+", shown)
    assert sources and sources.start() > shown.index("· verify")  # listed after the answer
    assert shown.rstrip().splitlines()[-1].startswith("fast path · scripted-answerer")


def test_ask_streams_reasoning_apart_on_the_slow_path(shop_repo: Path, screen: Screen,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    script = tmp_path / "slow.json"
    script.write_text(json.dumps({"model": "thinker", "turns": [{
        "expect": {"thinking": True},
        "reply": {"reasoning": "The codes live in a dict.",
                  "content": "`apply_discount` applies them (shop/pricing.py:8)."}}]}))
    monkeypatch.setenv("FATHOM_SCRIPT", str(script))
    ask(QUESTION, "--repo", str(shop_repo), "--path", "slow")
    shown = screen.getvalue()
    assert ("· answer\nThe codes live in a dict.\n"
            "`apply_discount` applies them (shop/pricing.py:8).\n· verify\n") in shown


def test_ask_json_stays_quiet_on_a_terminal(shop_repo: Path, screen: Screen,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATHOM_SCRIPT", str(TRANSCRIPTS / "ask_fabricated.json"))
    data = json.loads(ask(QUESTION, "--repo", str(shop_repo), "--json"))
    assert set(data) == {"answer", "citations", "sources", "path", "model"}
    assert "shop/refunds.py:12 [unverified]" in data["answer"]
    assert screen.getvalue() == ""  # nothing streamed, no progress


def test_ask_without_a_terminal_prints_the_checked_answer(
        shop_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATHOM_SCRIPT", str(TRANSCRIPTS / "ask_fabricated.json"))
    shown = ask(QUESTION, "--repo", str(shop_repo))
    assert shown.count("looks the code up") == 1
    assert "shop/refunds.py:12 [unverified]" in shown  # brackets are text, not markup
    assert ("`apply_discount` (shop/pricing.py:8) looks the code up in `DISCOUNT_CODES` "
            "(shop/pricing.py:5) and takes") in shown  # as written: not wrapped at 80 columns
    assert re.search(r"\n\nSources:\n  \[1\] shop/pricing\.py:\d+-\d+  DISCOUNT_CODES\n", shown)


def test_ask_shows_indexing_and_packing_progress_on_a_terminal(
        shop_repo: Path, screen: Screen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FATHOM_SCRIPT", str(TRANSCRIPTS / "ask_fabricated.json"))
    ask(QUESTION, "--repo", str(shop_repo))
    shown = screen.getvalue()
    assert "\r  packing 0/9 files\r  packing 9/9 files\n" in shown
    assert re.search(r"\r  indexing ([\d,]+)/\1 bytes\n", shown)
