"""Packing: exact budget, high fill, deterministic bytes, stable prefix, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import init_repo
from tools.repo import pack as pack_module
from tools.repo.index import RepoIndex
from tools.repo.pack import PackOptions, pack_repository, write_pack
from tools.repo.tokens import count_tokens

SECRET = "AKIAIOSFODNN7EXAMPLE"


def _module(i: int) -> str:
    """A module that defines a class and calls into its neighbours."""
    calls = "\n".join(f"    value += helper_{j}(value)" for j in (i - 1, i - 2) if j >= 0)
    notes = "".join(f"# Note {k} on widget {i}: grows by {i * k} units.\n" for k in range(6))
    return (
        f'"""Module {i}: part of the generated package."""\n\n{notes}\n'
        f"class Widget{i}:\n"
        f"    def __init__(self, size: int = {i}) -> None:\n"
        f"        self.size = size\n\n"
        f"    def grow(self, amount: int) -> int:\n"
        f"        return self.size + amount * {i}\n\n\n"
        f"def helper_{i}(value: int) -> int:\n"
        f"    value = value + {i}\n{calls}\n"
        f"    return Widget{i}(value).grow(2)\n"
    )


@pytest.fixture
def big_repo(tmp_path: Path) -> Path:
    files = {f"pkg/mod_{i:02d}.py": _module(i) for i in range(60)}
    files["README.md"] = "# Generated\n\nSixty modules of widgets and helpers.\n"
    files["pyproject.toml"] = '[project]\nname = "generated"\n'
    files[".env"] = "PASSWORD=hunter2\n"
    files["config/keys.py"] = f"AWS = '{SECRET}'\n"
    root = tmp_path / "big"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    repo = init_repo(root)
    target = root / "pkg" / "mod_59.py"
    target.write_text(target.read_text() + "\n# touched in a later commit\n")
    repo.git.add(all=True)
    repo.index.commit("touch the last module")
    return root


def _pack(root: Path, **options: object):
    index = RepoIndex(root)
    index.update()
    return pack_repository(index, PackOptions(**options))  # type: ignore[arg-type]


@pytest.mark.parametrize("budget", [700, 1200, 3000, 8000, 100_000])
def test_budget_is_never_exceeded_and_counts_are_exact(big_repo: Path, budget: int) -> None:
    pack = _pack(big_repo, budget=budget)
    assert pack.total_tokens <= budget
    assert count_tokens(pack.text) == pack.total_tokens


@pytest.mark.parametrize("budget", [3000, 8000])
def test_budget_is_used_when_the_repository_is_larger(big_repo: Path, budget: int) -> None:
    pack = _pack(big_repo, budget=budget)
    assert pack.total_tokens >= 0.95 * budget
    modes = {e.mode for e in pack.entries}
    assert modes == {"full", "signatures", "omitted"}


def test_whole_repository_fits_in_a_large_budget(big_repo: Path) -> None:
    pack = _pack(big_repo, budget=100_000)
    modes = {e.path: e.mode for e in pack.entries}
    assert all(modes[f"pkg/mod_{i:02d}.py"] == "full" for i in range(60))
    assert pack.text.startswith('<repository name="big">\n<file path="README.md">\n')


def test_same_input_gives_the_same_bytes(big_repo: Path) -> None:
    first = _pack(big_repo, budget=3000, query="how do widgets grow")
    second = _pack(big_repo, budget=3000, query="how do widgets grow")
    assert first.text == second.text
    assert first.manifest() == second.manifest()


def test_editing_a_recent_file_keeps_the_prefix(big_repo: Path) -> None:
    before = _pack(big_repo, budget=100_000)
    target = big_repo / "pkg" / "mod_59.py"
    target.write_text(target.read_text() + "\ndef late_addition():\n    return helper_3(1)\n")
    after = _pack(big_repo, budget=100_000)
    marker = '<file path="pkg/mod_59.py">'
    cut = before.text.index(marker)
    assert after.text.index(marker) == cut
    assert after.text[:cut] == before.text[:cut]
    assert "late_addition" in after.text[cut:]
    assert cut > len(before.text) // 2, "the recently changed file is in the tail"


def test_secrets_are_never_packed(big_repo: Path) -> None:
    pack = _pack(big_repo, budget=100_000)
    assert SECRET not in pack.text and "hunter2" not in pack.text
    entries = {e.path: e for e in pack.entries}
    assert entries[".env"].mode == "omitted"
    assert entries[".env"].reason.startswith("secret file")
    assert entries["config/keys.py"].reason == "secret: AWS access key id at line 1"
    assert "- .env: secret file" in pack.text


def test_query_decides_what_is_shown_whole(big_repo: Path) -> None:
    pack = _pack(big_repo, budget=2500, query="what does helper_17 return?")
    modes = {e.path: e.mode for e in pack.entries}
    assert modes["pkg/mod_17.py"] == "full"


def test_manifest_and_atomic_write(big_repo: Path, tmp_path: Path) -> None:
    pack = _pack(big_repo, budget=3000)
    out, manifest = tmp_path / "out" / "pack.txt", tmp_path / "out" / "pack.json"
    write_pack(pack, out, manifest)
    assert out.read_text() == pack.text
    data = json.loads(manifest.read_text())
    assert data["total_tokens"] == pack.total_tokens and data["budget"] == 3000
    entry = data["files"][0]
    assert set(entry) == {"path", "blob", "tokens", "mode", "reason", "section"}
    assert sum(e["tokens"] for e in data["files"]) < pack.total_tokens
    assert sorted(p.name for p in out.parent.iterdir()) == ["pack.json", "pack.txt"]


def test_budget_too_small_to_list_the_files(big_repo: Path) -> None:
    with pytest.raises(ValueError, match="raise --budget"):
        _pack(big_repo, budget=50)


@pytest.mark.parametrize("budget", [1200, 100_000])
def test_progress_grows_to_the_packable_files_and_changes_nothing(
    big_repo: Path, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pack_module, "COUNT_BATCH", 8)  # several batches of 62 files
    index = RepoIndex(big_repo)
    index.update()
    quiet = pack_repository(index, PackOptions(budget=budget))
    reports: list[tuple[int, int]] = []
    pack = pack_repository(index, PackOptions(budget=budget),
                           progress=lambda done, total: reports.append((done, total)))
    assert pack.text == quiet.text and pack.manifest() == quiet.manifest()
    packable = sum(e.section != "skipped" for e in pack.entries)
    assert {total for _, total in reports} == {packable}
    done = [d for d, _ in reports]
    assert done[0] == 0 and done[-1] == packable
    assert all(a < b for a, b in zip(done, done[1:], strict=False))
    if budget == 100_000:  # every file is counted, batch by batch
        assert done == [*range(0, packable, 8), packable]
