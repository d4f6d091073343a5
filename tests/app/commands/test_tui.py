"""`fathom tui` without a terminal answers one question headless instead."""

from __future__ import annotations

import json
import re
from contextlib import closing
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app
from app.commands.tui import HEADLESS_QUESTION
from tools.repo.find import find_definitions
from tools.repo.index import RepoIndex

LISTED = re.compile(r"^- (\S+):(\d+)-(\d+)(?: (\S+))?$", re.MULTILINE)


def test_tui_without_a_terminal_answers_headless(shop_repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("FATHOM_BACKEND", "none")
    result = CliRunner().invoke(app, ["tui", str(shop_repo)])
    assert result.exit_code == 0, result.output
    assert "no terminal" in result.stderr
    assert result.stdout.startswith(f"{HEADLESS_QUESTION}\nNo model answered")
    listed = [(p, int(a), int(b), n) for p, a, b, n in LISTED.findall(result.stdout)]
    # A question about the whole repository: its README first, then its central code.
    assert listed[0] == ("README.md", 1, 3, "")
    assert {"apply_discount", "Cart"} <= {n for *_, n in listed}
    index = RepoIndex(shop_repo)
    with closing(index.connect()) as conn:
        for path, line, end, name in listed[1:]:  # each a definition, where it is
            assert (path, line, end) in {(d.path, d.line, d.end_line)
                                         for d in find_definitions(conn, name)}, name
    # The same ranked answer as `fathom ask` gives for that question.
    asked = CliRunner().invoke(app, ["ask", HEADLESS_QUESTION, "--repo", str(shop_repo),
                                     "--json"])
    sources = json.loads(asked.stdout)["sources"]
    assert [(s["path"], s["line"], s["end_line"], s["name"] or "") for s in sources] == listed
