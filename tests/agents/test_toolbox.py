"""The model's tools on a real git repository: schemas, results, refusals, fuzzed calls, and a
scripted model driving them end to end."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.backends.scripted import ScriptedBackend, Transcript
from agents.llm import ChatMessage, ToolCall
from agents.toolbox import ToolBox
from tests.conftest import FIXTURES, init_repo
from tools.git import create_worktree

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def call(box: ToolBox, tool: str, **arguments: Any) -> str:
    result = box.call(ToolCall(name=tool, arguments=arguments, id="c1"))
    assert result.ok, result.content
    return result.content


def error(box: ToolBox, name: str, arguments: dict[str, Any] | None = None,
          problem: str | None = None) -> dict[str, Any]:
    result = box.call(ToolCall(name=name, arguments=arguments or {}, id="c1", error=problem))
    assert not result.ok
    return json.loads(result.content)["error"]


@pytest.fixture
def box(shop_repo: Path) -> ToolBox:
    return ToolBox(shop_repo, test_command=PYTEST)


def test_specs_are_json_schemas(box: ToolBox) -> None:
    specs = {s.name: s for s in box.specs()}
    assert set(specs) == {"read_file", "list_files", "search", "find_symbol", "repo_map",
                          "apply_edit", "run_tests", "git_diff"}
    read = specs["read_file"].parameters
    assert read["required"] == ["path"] and read["additionalProperties"] is False
    assert read["properties"]["start"] == {"default": 1, "description": "First line to show "
                                           "(1-based).", "minimum": 1, "type": "integer"}
    assert specs["apply_edit"].parameters["properties"]["format"]["enum"] == [
        "search_replace", "udiff"]
    assert "SEARCH" in specs["apply_edit"].description
    json.dumps([s.to_openai() for s in specs.values()])


def test_read_file_ranges_and_refusals(box: ToolBox, shop_repo: Path) -> None:
    text = call(box, "read_file", path="shop/pricing.py", start=8, end=9)
    assert text.splitlines() == [
        "shop/pricing.py lines 8-9 of 17 (more: read from line 10)",
        "    8| def apply_discount(cart: Cart, code: str) -> int:",
        '    9|     """Total of the cart after the discount code, in cents."""']
    (shop_repo / ".env").write_text("PASSWORD=hunter2\n")
    (shop_repo / "notes.txt").write_text("key: AKIA" + "A" * 16 + "\n")
    for path, why in [("../outside", "outside the repository"), (".git/config", ".git/"),
                      (".env", "secret file"), ("notes.txt", "AWS access key"),
                      ("nope.py", "no such file"), ("/etc/hostname", "absolute")]:
        assert why in error(box, "read_file", {"path": path})["message"]
    assert "past the end" in error(box, "read_file", {"path": "shop/pricing.py",
                                                      "start": 99})["message"]
    assert "before start" in error(box, "read_file", {"path": "shop/pricing.py", "start": 5,
                                                      "end": 2})["message"]


def test_list_search_find_and_map(box: ToolBox, shop_repo: Path) -> None:
    (shop_repo / ".env").write_text("PASSWORD=hunter2\n")
    listed = call(box, "list_files", glob="*.py").splitlines()
    assert "shop/pricing.py" in listed and "tests/test_pricing.py" in listed
    assert not any(p.endswith(".js") for p in listed)
    assert ".env" not in call(box, "list_files").splitlines()
    assert call(box, "list_files", glob="*.rs") == "no files match"
    hits = call(box, "search", query="discount code", limit=3).splitlines()
    assert hits and hits[0].startswith("shop/pricing.py:")
    found = call(box, "find_symbol", name="apply_discount")
    assert found.startswith("shop/pricing.py:8-") and "function" in found
    assert "no definition named" in call(box, "find_symbol", name="no_such_thing")
    outline = call(box, "repo_map", tokens=256, focus=["shop/pricing.py"])
    assert "pricing.py" in outline


def test_edit_diff_and_tests(box: ToolBox, shop_repo: Path) -> None:
    edit = ("shop/pricing.py\n<<<<<<< SEARCH\n    percent = DISCOUNT_CODES[code]\n=======\n"
            "    percent = DISCOUNT_CODES[code] + 1\n>>>>>>> REPLACE\n"
            "shop/notes.md\n<<<<<<< SEARCH\n=======\nPricing notes.\n>>>>>>> REPLACE\n")
    applied = json.loads(call(box, "apply_edit", format="search_replace", text=edit))
    assert applied["changed"] == ["shop/pricing.py"] and applied["created"] == ["shop/notes.md"]
    diff = call(box, "git_diff")
    assert "+    percent = DISCOUNT_CODES[code] + 1" in diff
    assert "+++ b/shop/notes.md" in diff and "+Pricing notes." in diff
    report = call(box, "run_tests")
    assert report.startswith("FAILED: exit code 1, 0 passed, 1 failed")
    assert "FAILURE tests/test_pricing.py::test_summer_discount:" in report
    assert box.last_test_run is not None and not box.last_test_run.ok
    refused = error(box, "run_tests", {"command": "rm -rf /"})
    assert "runs only its own test command" in refused["message"]
    failed_edit = error(box, "apply_edit", {"format": "udiff",
                                            "text": "--- a/x.py\n+++ b/x.py\n@@ @@\n-a\n+b\n"})
    assert failed_edit["type"] == "EditMatchError" and "file does not exist" in \
        failed_edit["message"]


def test_malformed_calls_get_structured_errors(box: ToolBox) -> None:
    unknown = error(box, "delete_repo", {})
    assert unknown["type"] == "unknown_tool" and "read_file" in unknown["message"]
    assert error(box, "read_file", problem="arguments are not valid JSON")["type"] == \
        "invalid_arguments"
    bad = error(box, "read_file", {"path": 3, "start": "x", "colour": "red"})
    assert bad["type"] == "invalid_arguments"
    assert {d["field"] for d in bad["details"]} == {"path", "start", "colour"}
    assert error(box, "search", {})["details"][0] == {"field": "query",
                                                      "problem": "Field required"}
    assert error(box, "apply_edit", {"format": "wholefile", "text": "x"})["type"] == \
        "invalid_arguments"
    no_tests = ToolBox(box.root)
    assert "no test command" in error(no_tests, "run_tests")["message"]


def test_scripted_model_drives_the_tools(box: ToolBox, shop_repo: Path) -> None:
    """A tool loop: the model reads, edits, runs tests and finishes; results feed back."""
    fix = ("--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -12,2 +12,2 @@\n"
           "     percent = DISCOUNT_CODES[code]\n"
           "-    return cart.total() * (100 - percent) // 100\n"
           "+    return cart.total() * (100 - percent) // 100 + 0\n")
    transcript = Transcript.model_validate({"turns": [
        {"expect": {"role": "user", "tools": ["read_file", "apply_edit"]},
         "reply": {"tool_calls": [{"name": "read_file", "arguments": {"path": "shop/pricing.py",
                                                                      "start": 8}}]}},
        {"expect": {"role": "tool", "contains": "def apply_discount"},
         "reply": {"tool_calls": [{"name": "apply_edit",
                                   "arguments": {"format": "udiff", "text": fix}},
                                  {"name": "run_tests", "arguments": {}}]}},
        {"expect": {"role": "tool", "contains": "PASSED"},
         "reply": {"content": "Done: the discount keeps its value and the tests pass."}},
    ]})
    model = ScriptedBackend(transcript)
    messages = [ChatMessage.user("Tidy apply_discount.")]
    for _ in range(5):
        result = model.chat(messages, tools=box.specs())
        messages.append(result.message())
        if not result.tool_calls:
            break
        messages += [box.call(c).message() for c in result.tool_calls]
    assert messages[-1].content.startswith("Done") and model.remaining == 0
    assert "+ 0\n" in (shop_repo / "shop/pricing.py").read_text()


_FIELDS = {"read_file": ["path", "start", "end"], "list_files": ["glob"],
           "search": ["query", "limit"], "find_symbol": ["name"], "repo_map": ["tokens", "focus"],
           "apply_edit": ["format", "text"], "run_tests": ["command"], "git_diff": [],
           "rm": ["path"]}
_EDIT_LINES = st.lists(st.sampled_from([
    "shop/models.py", "../evil.py", ".git/config", "new.py", "<<<<<<< SEARCH", "=======",
    ">>>>>>> REPLACE", "--- a/shop/models.py", "+++ b/shop/models.py", "--- /dev/null",
    "@@ -1,2 +1,2 @@", "@@ @@", "-class Cart:", "+class Basket:", " import x", "", "```",
]) | st.text(max_size=15), max_size=12).map("\n".join)
_PATHS = st.sampled_from(["shop/models.py", "shop", "../../etc/passwd", ".git/HEAD", "x/../y",
                          "\x00", "/abs", "web/app.js", ""]) | st.text(max_size=12)
_WELL_TYPED = {
    "path": _PATHS, "start": st.integers(-3, 40), "end": st.none() | st.integers(-3, 40),
    "glob": st.sampled_from(["*.py", "[", "**/", "!x", "shop/"]) | st.text(max_size=8),
    "query": st.sampled_from(["Cart total", "AND OR (", '"', "*"]) | st.text(max_size=20),
    "limit": st.integers(-2, 60), "name": st.sampled_from(["Cart.total", "Cart", ".", "x."])
    | st.text(max_size=10), "tokens": st.integers(-1, 40_000), "focus": st.lists(_PATHS,
                                                                            max_size=3),
    "format": st.sampled_from(["search_replace", "udiff", "whole"]), "text": _EDIT_LINES,
    "command": st.none() | st.text(max_size=10), "unexpected": st.integers(),
}
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20)
                     | st.floats(allow_nan=True) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


@st.composite
def _tool_calls(draw: st.DrawFn) -> ToolCall:
    """Calls aimed at real tools and their own fields, mostly well typed, sometimes not."""
    name = draw(st.sampled_from(sorted(_FIELDS)))
    arguments = {}
    for key in [*_FIELDS[name], "unexpected"]:
        if draw(st.integers(0, 9)) < (1 if key == "unexpected" else 8):
            arguments[key] = draw(_WELL_TYPED[key] if draw(st.integers(0, 4)) else _JSON)
    return ToolCall(name=name, arguments=arguments, id="f")


@pytest.fixture(scope="module")
def fuzz_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "shop"
    shutil.copytree(FIXTURES / "shop", root)
    init_repo(root)
    (base / "outside.txt").write_text("untouched\n")
    return root


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tool_call=_tool_calls())
def test_fuzzed_tool_calls_never_raise(fuzz_repo: Path, tool_call: ToolCall) -> None:
    box = ToolBox(fuzz_repo)  # no test command: the fuzzer cannot run programs
    result = box.call(tool_call)
    assert isinstance(result.content, str) and result.call_id == "f"
    if not result.ok:
        assert set(json.loads(result.content)["error"]) >= {"type", "message"}
    assert (fuzz_repo.parent / "outside.txt").read_text() == "untouched\n"


def test_toolbox_in_a_worktree_leaves_the_users_tree_alone(shop_repo: Path) -> None:
    (shop_repo / "README.md").write_text("user's uncommitted notes\n")
    before = {p: p.read_bytes() for p in shop_repo.rglob("*")
              if p.is_file() and ".git" not in p.parts}
    tree = create_worktree(shop_repo, "fathom/fix-1")
    box = ToolBox(tree.path)
    edit = ("shop/pricing.py\n<<<<<<< SEARCH\ndef discount_label(cart: Cart, code: str) -> str:\n"
            "=======\ndef discount_label(cart: Cart, code: str) -> str:\n"
            '    """The discounted total, formatted."""\n>>>>>>> REPLACE\n')
    call(box, "apply_edit", format="search_replace", text=edit)
    assert '+    """The discounted total, formatted."""' in call(box, "git_diff")
    assert "shop/pricing.py" in call(box, "find_symbol", name="discount_label")
    after = {p: p.read_bytes() for p in shop_repo.rglob("*")
             if p.is_file() and ".git" not in p.parts}
    assert after == before
