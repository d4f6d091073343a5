"""The repository commands of the ``fathom`` CLI and their JSON contracts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def _json(*args: str) -> object:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_index_json_contract(shop_repo: Path) -> None:
    data = _json("index", str(shop_repo), "--json")
    assert {"files", "definitions", "references", "languages", "parsed", "seconds"} <= set(data)
    assert data["files"] == 9 and data["parsed"] == 9
    assert data["languages"]["python"] == 5
    again = _json("index", str(shop_repo), "--json")
    assert again["parsed"] == 0


def test_find_json_contract(shop_repo: Path) -> None:
    hits = _json("find", "total", "--repo", str(shop_repo), "--json")
    assert hits == [
        {"name": "total", "kind": "method", "path": "shop/models.py", "line": 25, "end_line": 26}
    ]
    assert _json("find", "Cart.add", "--repo", str(shop_repo), "--json")[0]["line"] == 22


def test_search_json_contract(shop_repo: Path) -> None:
    hits = _json("search", "apply discount code", "--repo", str(shop_repo), "--json")
    assert hits and set(hits[0]) == {"path", "line", "end_line", "score"}
    assert hits[0]["path"] == "shop/pricing.py"
    assert hits == sorted(hits, key=lambda h: -h["score"])


def test_pack_json_contract(shop_repo: Path, tmp_path: Path) -> None:
    out, manifest = tmp_path / "ctx.txt", tmp_path / "ctx.json"
    data = _json("pack", str(shop_repo), "--budget", "600", "--out", str(out),
                 "--manifest", str(manifest), "--json")
    assert 0 < data["total_tokens"] <= 600
    assert out.exists() and json.loads(manifest.read_text())["total_tokens"] == data["total_tokens"]


def test_map_respects_tokens(shop_repo: Path) -> None:
    data = _json("map", "--repo", str(shop_repo), "--tokens", "60", "--json")
    assert 0 < data["tokens"] <= 60
    text = runner.invoke(app, ["map", "--repo", str(shop_repo), "--tokens", "60"]).stdout
    assert text == data["text"]


def test_doctor_json() -> None:
    data = _json("doctor", "--json")
    assert data["model_assets"]["deepseek_v4_tokenizer"]["vocab"] == 129_280
    assert data["grammars"]["python"] == "ok"
    assert data["gpu"]["cuda"] in (True, False)


def test_errors_are_one_line_with_exit_code_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", str(tmp_path / "missing"), "--json"])
    assert result.exit_code == 2
    assert "not a directory" in result.output
    result = runner.invoke(app, ["find", "nothing_here", "--repo", str(tmp_path)])
    assert result.exit_code == 1


def test_console_script_runs(shop_repo: Path) -> None:
    fathom = Path(sys.executable).parent / "fathom"
    done = subprocess.run(
        [str(fathom), "find", "checkout", "--repo", str(shop_repo), "--json"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(done.stdout)[0]["path"] == "shop/checkout.py"
