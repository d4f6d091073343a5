"""The layers point down, and no module reaches into another's private names.

app → agents → tools | model_runtime → kernels (DESIGN.md): a module may import its own
layer and the layers below, never one above; `tools` knows nothing of models and
`model_runtime` nothing of repositories. And no module imports (or reads off an imported
module) a `_private` name of another module: what crosses a module boundary is public.
Checked statically, over every product module, with `ast`.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "agents", "tools", "model_runtime", "kernels")
# What each layer may import (besides itself and third-party packages).
ALLOWED: dict[str, set[str]] = {
    "app": {"agents", "tools", "model_runtime"},
    "agents": {"tools", "model_runtime"},
    "tools": set(),
    "model_runtime": {"kernels"},
    "kernels": set(),
}


@dataclass(frozen=True)
class Import:
    """One import of a product module: who imports what (and which names), where."""

    module: str          # the importing module, dotted
    target: str          # the imported module, dotted
    names: tuple[str, ...]
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The dotted module an `ImportFrom` names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def product_imports() -> list[Import]:
    """Every import of a product module by a product module."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found += [Import(module, a.name, (), node.lineno) for a in node.names
                              if a.name.split(".")[0] in PACKAGES]
                elif isinstance(node, ast.ImportFrom):
                    target = _absolute(module, path.name == "__init__.py", node)
                    if target.split(".")[0] in PACKAGES:
                        found.append(Import(module, target, tuple(a.name for a in node.names),
                                            node.lineno))
    return found


def _private_attribute_reads() -> list[str]:
    """`alias._name` where `alias` is an imported product module (not the module's own)."""
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            aliases = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for a in node.names:
                        if a.name.split(".")[0] in PACKAGES:
                            aliases[a.asname or a.name.split(".")[0]] = a.name
                elif isinstance(node, ast.ImportFrom) and node.module and \
                        node.module.split(".")[0] in PACKAGES:
                    for a in node.names:  # `from agents.graphs import workspace`
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and node.value.id in aliases and node.attr.startswith("_") \
                        and not node.attr.startswith("__"):
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} reads "
                                    f"{aliases[node.value.id]}.{node.attr}")
    return problems


def test_layers_only_import_downwards() -> None:
    upward = [f"{i.module} (line {i.line}) imports {i.target}" for i in product_imports()
              if (own := i.module.split(".")[0]) != (other := i.target.split(".")[0])
              and other not in ALLOWED[own]]
    assert upward == []


def test_no_module_imports_a_private_name_of_another() -> None:
    private = [f"{i.module} (line {i.line}) imports {name} from {i.target}"
               for i in product_imports() for name in i.names
               if name.startswith("_") and not name.startswith("__")
               and i.target != i.module]
    assert private == []
    assert _private_attribute_reads() == []


def test_the_app_goes_through_the_front_door() -> None:
    """`app` reaches the agents only through `agents.api` (and the typed events it
    streams), and starts no process: no `subprocess`, no gitpython, no git runner."""
    doors = {"agents", "agents.api", "agents.events"}
    behind = [f"{i.module} (line {i.line}) imports {i.target}" for i in product_imports()
              if i.module.startswith("app") and i.target.startswith("agents")
              and (i.target not in doors or (i.target == "agents" and i.names != ("api",)))]
    assert behind == []
    plumbing = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            plumbing += [f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                         if n.split(".")[0] in {"subprocess", "git"}
                         or n == "tools.git.runner"]
    assert plumbing == []


def test_the_checks_see_what_they_look_for(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted violations are found: the checks can fail."""
    fake = tmp_path / "tools"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "leaky.py").write_text(
        "from agents.llm import ChatModel\nfrom tools.repo.pack import _layout\n"
        "from . import sibling\nimport tools.git as g\nx = g._private\n")
    for package in PACKAGES[:1] + PACKAGES[2:]:
        (tmp_path / package).mkdir(exist_ok=True)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    imports = {(i.target, i.names) for i in product_imports()}
    assert ("agents.llm", ("ChatModel",)) in imports
    assert ("tools.repo.pack", ("_layout",)) in imports
    assert ("tools", ("sibling",)) in imports  # relative, resolved
    assert _private_attribute_reads() == ["tools/leaky.py:5 reads tools.git._private"]
