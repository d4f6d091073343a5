"""Load one tree-sitter grammar from ``tree-sitter-language-pack`` by name, cheaply.

The pack's ``get_language`` imports the package first, and its ``__init__`` loads three
other grammars (C#, YAML, embedded templates) as separate extension modules: ~25 ms
spent before the first parse of every ``fathom`` process that parses anything. The
grammar a file needs is one extension module in the pack's ``bindings`` folder, so it
is loaded from there directly; the pack's own loader is the fallback for anything that
does not fit that layout.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from types import ModuleType

from tree_sitter import Language

PACK = "tree_sitter_language_pack"
# Languages the pack takes from their own packages rather than its bindings folder.
_OWN_PACKAGES = {"csharp": "tree_sitter_c_sharp", "yaml": "tree_sitter_yaml",
                 "embeddedtemplate": "tree_sitter_embedded_template"}


def load_language(name: str) -> Language:
    """The tree-sitter ``Language`` called ``name`` in the language pack.

    Raises ``LookupError`` naming the language when the pack has no such grammar.
    """
    module = _binding_module(name)
    if module is None:
        from tree_sitter_language_pack import get_language

        return get_language(name)  # raises LookupError for an unknown name
    return Language(module.language())


def _binding_module(name: str) -> ModuleType | None:
    """The extension module holding grammar ``name``, or None where the layout differs."""
    if name in _OWN_PACKAGES:
        return importlib.import_module(_OWN_PACKAGES[name])
    qualified = f"{PACK}.bindings.{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    pack = importlib.util.find_spec(PACK)  # a top-level spec: the package is not imported
    if pack is None or not pack.submodule_search_locations:
        return None
    folders = [f"{folder}/bindings" for folder in pack.submodule_search_locations]
    spec = importlib.machinery.PathFinder.find_spec(name, folders)
    if spec is None or spec.loader is None:
        return None
    spec.name = qualified  # the name the pack itself would import it under
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[qualified] = module
    return module
