"""The console entry point ends the process itself: statuses, output and exit handlers
are those of a normal interpreter shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENTRY = (
    "import atexit, sys\n"
    "from app.cli import main\n"
    "atexit.register(lambda: print('exit handler ran', file=sys.stderr))\n"
    "sys.argv = ['fathom', *sys.argv[1:]]\n"
    "main()\n"
)


def _fathom(*args: str) -> subprocess.CompletedProcess[str]:
    # Buffered streams, as in a normal environment: output must be flushed before exit.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_success_flushes_all_output_and_runs_exit_handlers(shop_repo: Path) -> None:
    done = _fathom("index", str(shop_repo), "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["files"] > 0
    assert "exit handler ran" in done.stderr


def test_errors_keep_their_exit_status(tmp_path: Path) -> None:
    done = _fathom("index", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "not a directory" in done.stderr
    assert "exit handler ran" in done.stderr


def test_usage_errors_keep_clicks_status() -> None:
    done = _fathom("no-such-command")
    assert done.returncode == 2
    assert "No such command" in done.stderr
