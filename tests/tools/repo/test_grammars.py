"""The grammar loader: the same grammars as the language pack's, without importing it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tree_sitter_language_pack import get_language

from tools.repo.grammars import load_language
from tools.repo.languages import TAGGED_LANGUAGES


@pytest.mark.parametrize("name", sorted(TAGGED_LANGUAGES))
def test_every_tagged_language_is_the_packs_grammar(name: str) -> None:
    ours, theirs = load_language(name), get_language(name)
    assert (ours.name, ours.abi_version, ours.node_kind_count, ours.parse_state_count) == (
        theirs.name, theirs.abi_version, theirs.node_kind_count, theirs.parse_state_count
    )


def test_an_unknown_language_is_a_lookup_error_naming_it() -> None:
    with pytest.raises(LookupError, match="klingon"):
        load_language("klingon")


def test_loading_a_grammar_does_not_import_the_pack() -> None:
    code = (
        "import sys\n"
        "from tools.repo.parse import parse_source\n"
        "assert parse_source(b'def f(): pass\\n', 'python').definitions[0].name == 'f'\n"
        "print('tree_sitter_language_pack' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
