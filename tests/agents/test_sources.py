"""Answers show their evidence: the spans the model read are the answer's sources, a small
window is spent on the code the question names, and cited span numbers become `path:line`.

The real repository is `click` (a dependency of the CLI, so installed wherever Fathom is),
copied into a git repository: 17 modules, about 440 KB, far more than a 4K window holds.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from contextlib import closing
from pathlib import Path

import pytest

from agents.backends.scripted import ScriptedBackend, Transcript
from agents.citations import Citation
from agents.graphs.ask.context import Source, build_context, prompt_budget
from agents.graphs.ask.graph import AskResult
from agents.graphs.runner import start_run
from tests.conftest import init_repo
from tools.repo.find import find_definitions
from tools.repo.index import RepoIndex

SMALL_WINDOW = 4096   # the bundled SmolLM2's window, as the embedded backend uses it
ANSWER_RESERVE = 1024


@pytest.fixture(scope="module")
def click_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the installed `click` package's source."""
    spec = importlib.util.find_spec("click")
    assert spec is not None and spec.submodule_search_locations
    root = tmp_path_factory.mktemp("real") / "click-repo"
    shutil.copytree(spec.submodule_search_locations[0], root / "click",
                    ignore=shutil.ignore_patterns("__pycache__"))
    init_repo(root)
    return root


def _definition(root: Path, name: str) -> tuple[str, int, int]:
    """Where the one definition called `name` is: path, first and last line."""
    index = RepoIndex(root)
    index.update()
    with closing(index.connect()) as conn:
        (hit,) = find_definitions(conn, name)
    return hit.path, hit.line, hit.end_line


def _answers(*replies: str) -> ScriptedBackend:
    return ScriptedBackend(Transcript.model_validate({"model": "scripted", "turns": [
        {"expect": {"role": "user"}, "reply": {"content": r}} for r in replies]}))


def test_a_small_window_holds_the_body_of_the_function_the_question_names(
        click_repo: Path) -> None:
    path, line, end = _definition(click_repo, "get_short_help_str")
    question = "How does get_short_help_str shorten the help text?"
    budget = prompt_budget(SMALL_WINDOW, ANSWER_RESERVE)
    built = build_context(click_repo, question, SMALL_WINDOW, budget)
    assert built.focused  # the repository cannot fit: the question decides
    assert built.sources[0] == Source(path, line, end, "Command.get_short_help_str")
    body = (click_repo / path).read_text().splitlines()[line - 1:end]
    seen = built.pack + built.spans
    assert all(text in seen for text in body if text.strip())
    assert built.manifest.pack_tokens + built.manifest.spans_tokens <= budget
    # Only relevant files (none fits here) are whole: the rest of the room is outlines.
    whole = [f.path for f in built.manifest.files if f.mode == "full" and f.tokens > 20]
    assert whole == []
    assert built.manifest.count("signatures") > 0


def test_the_layout_does_not_depend_on_the_question_when_the_repository_fits(
        shop_repo: Path) -> None:
    one = build_context(shop_repo, "How is apply_discount computed?", 131_072, 100_000)
    two = build_context(shop_repo, "What does checkout do with the cart?", 131_072, 100_000)
    assert not one.focused and not two.focused
    assert one.pack == two.pack and one.manifest.count("omitted") == 0
    assert one.sources[0].path == "shop/pricing.py" and two.sources != one.sources


def test_every_answer_lists_its_sources_even_when_the_model_cites_the_wrong_code(
        click_repo: Path) -> None:
    path, line, end = _definition(click_repo, "get_short_help_str")
    model = _answers("It is done by `format_filename` (click/utils.py:430).")
    outcome = start_run("ask", click_repo, {
        "question": "How does get_short_help_str shorten the help text?",
        "repo": str(click_repo), "path": "fast", "context_tokens": SMALL_WINDOW}, model=model)
    result = AskResult.from_state(outcome.state)
    assert result.sources[0] == Source(path, line, end, "Command.get_short_help_str")
    assert Citation(path, line, end) not in result.citations  # the model never cited it
    data = result.to_json()
    assert data["sources"][0] == {"path": path, "line": line, "end_line": end,
                                  "name": "Command.get_short_help_str"}
    assert all(set(s) == {"path", "line", "end_line", "name"} for s in data["sources"])
    prompt = model.requests[0][-1].content  # the spans and the question
    assert f'[1] <span path="{path}" lines="{line}-{end}">' in prompt


def test_a_cited_span_number_is_rendered_as_its_path_and_line(shop_repo: Path) -> None:
    model = _answers("`apply_discount` [1] raises for an unknown code; see also [9].")
    outcome = start_run("ask", shop_repo, {
        "question": "How does apply_discount treat unknown codes?", "repo": str(shop_repo),
        "path": "fast"}, model=model)
    result = AskResult.from_state(outcome.state)
    first = result.sources[0]
    assert (first.path, first.name) == ("shop/pricing.py", "apply_discount")
    assert result.written.startswith("`apply_discount` [1] raises")
    assert result.reply.startswith(f"`apply_discount` ({first}) raises")
    assert result.citations[0] == Citation(first.path, first.line, first.end_line)
    assert "see also [9]" in result.answer  # no span 9: not a citation, left alone
    assert not result.dropped


def test_sources_are_numbered_as_in_the_prompt(shop_repo: Path) -> None:
    model = _answers("`checkout` [2] takes the order.")
    start_run("ask", shop_repo, {"question": "What does checkout do?", "repo": str(shop_repo),
                                 "path": "fast"}, model=model)
    prompt = model.requests[0][-1].content
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\] <span", prompt, re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2
