"""Our tags queries against an independent tagger, on real libraries' files.

tests/fixtures/ctags/<language>/ holds a few unmodified files of one real library and
``tags.jsonl``, what Universal Ctags lists for them (Pygments' lexer for Swift and Scala,
which that ctags cannot read); regenerate.py there remakes it. For each language, the
reference tags of the kinds we claim to capture must be among our definitions, by name
and line: recall at least ``bar``. The failure lists every definition missed.

Which reference kinds count, per language, and why the others do not, is ``KINDS`` below
(imports, packages, locals and scopes that are not definitions are left out).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tools.repo.languages import TAGGED_LANGUAGES
from tools.repo.parse import Definition, parse_source

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ctags"
# Names the taggers make up for what has none in the source: anonymous functions and
# structs, lambdas, Kotlin's unnamed companion object.
SYNTHETIC = re.compile(r"^(AnonymousFunction|__anon)|^(<lambda>|Companion)$")
# Ctags 5.9's shell parser takes an array assignment `name=(...)` for a function `name=`.
MISREAD_NAME = re.compile(r"=$")

# Single tags the reference gets wrong, per language: (path, line, name) and why.
_COMPUTED = "`obj[name] = function` (a computed member) named after its object"
_LITERAL = "an object literal (`var x = {`) taken for a class"
MISREAD: dict[str, dict[tuple[str, int, str], str]] = {
    "javascript": {
        ("lib/application.js", 490, "app"): _COMPUTED,
        ("lib/router/index.js", 519, "proto"): _COMPUTED,
        ("lib/router/route.js", 207, "Route"): _COMPUTED,
        ("lib/response.js", 811, "res"): "`res.get = function` named after its object",
        ("lib/response.js", 573, "headers"): _LITERAL,
        ("lib/router/layer.js", 123, "params"): _LITERAL,
        ("lib/utils.js", 128, "ret"): _LITERAL,
    },
    "typescript": {
        ("Subject.ts", 36, "source"): "an arrow function's parameter taken for a property",
    },
    "tsx": {
        ("route.tsx", 620, "any"): "the return type of a function type taken for a property",
    },
    "cpp": {
        ("TGreenlet.cpp", 623, "GREENLET_NOINLINE"):
            "the macro around `Greenlet::expose_frames` taken for the function's name",
    },
    "csharp": {
        ("PythonException.cs", 481, "ob"): "a parameter taken for a field",
    },
    "ruby": {
        ("response.rb", 74, "CHUNKED"): "`CHUNKED == ...` (a comparison) taken for a definition",
    },
}


@dataclass(frozen=True)
class Kinds:
    """The reference kinds that are definitions we capture, and the recall required."""

    counted: frozenset[str]  # kinds whose every tag must be found
    top_level: frozenset[str] = frozenset()  # kinds counted on unindented lines
    members: frozenset[str] = frozenset()  # kinds counted directly inside a type
    bar: float = 0.95


def kinds(counted: str, top_level: str = "", members: str = "", bar: float = 0.95) -> Kinds:
    """``Kinds`` from space-separated kind names."""
    return Kinds(*(frozenset(names.split()) for names in (counted, top_level, members)), bar)


# The reference's scope kinds that are types (a variable there is a field).
TYPE_SCOPES = frozenset({"class", "struct", "interface", "trait", "object", "enum"})


# Per language: the reference kinds that count. Left out on purpose:
# - imports, packages and namespaces that only name a file's package: Python ``unknown``,
#   Go ``package``/``packageName``, Java and Kotlin ``package``, PHP ``alias`` (`use`);
# - scopes that are not definitions: Rust ``implementation`` (`impl Type`), Swift
#   ``extension``;
# - locals: variables and constants count at the top level (an unindented line) or directly
#   in a type (a field), never inside functions; JavaScript ``variable`` (ctags lists
#   `var x = require(...)` and locals alike) and ``property`` (object-literal keys);
# - what we do not capture: Ruby ``accessor`` (`attr_reader :name`) and ``alias``.
# Bars below 95% are the grammar's, not the queries': tree-sitter-kotlin cannot read a
# `when` entry that starts with `(` (exception/CodedException.kt:203) and loses the rest
# of that file; tree-sitter-bash cannot read `"\${#${array}[@]}"` (common.bash:224) and
# loses the functions after it.
KINDS: dict[str, Kinds] = {
    "python": kinds("class function member", top_level="variable", members="variable"),
    "javascript": kinds("class function method generator getter setter",
                        top_level="constant"),
    "typescript": kinds("class function method interface alias enum enumerator property",
                        top_level="constant"),
    "tsx": kinds("class function method interface alias enum enumerator property",
                 top_level="constant"),
    "go": kinds("func struct interface type member methodSpec const var"),
    "rust": kinds("struct enum enumerator function method field typedef module trait"
                  " macro constant variable"),
    "java": kinds("class interface enum enumConstant method field annotation"),
    "c": kinds("function prototype struct union enum enumerator typedef macro member",
               top_level="variable"),
    "cpp": kinds("class struct union enum enumerator function prototype typedef macro"
                 " member namespace", top_level="variable"),
    "csharp": kinds("class struct interface enum enumerator method field property event"
                    " namespace"),
    "ruby": kinds("class module method singletonMethod constant"),
    "php": kinds("class interface trait function define namespace", members="variable"),
    "kotlin": kinds("class interface object method typealias", top_level="constant variable",
                    members="constant variable", bar=0.9),
    "swift": kinds("class struct enum protocol actor func init typealias var let case"),
    "scala": kinds("class object trait enum def val var type"),
    "bash": kinds("function", bar=0.9),
}


@dataclass(frozen=True)
class Tag:
    """One reference tag."""

    path: str
    line: int
    name: str
    kind: str


@cache
def reference(language: str) -> tuple[list[Tag], str]:
    """The counted reference tags of ``language`` (one per path, line and name), and
    the tagger's name and version."""
    folder = FIXTURES / language
    wanted = KINDS[language]
    tags: dict[tuple[str, int, str], Tag] = {}
    program: dict[str, str] = {}
    for text in (folder / "tags.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(text)
        if entry["_type"] == "ptag":
            program[entry["name"]] = entry["path"]
            continue
        tag = Tag(entry["path"], entry["line"], entry["name"], entry["kind"])
        if _misread(language, tag) or "<lambda>" in entry.get("scope", ""):
            continue  # a lambda's parameters and locals: Kotlin's ctags calls them methods
        if (
            tag.kind in wanted.counted
            or (tag.kind in wanted.top_level and not _indented(folder / tag.path, tag.line))
            or (tag.kind in wanted.members and entry.get("scopeKind") in TYPE_SCOPES)
        ):
            tags.setdefault((tag.path, tag.line, tag.name), tag)
    tagger = f"{program.get('TAG_PROGRAM_NAME')} {program.get('TAG_PROGRAM_VERSION')}"
    return sorted(tags.values(), key=lambda t: (t.path, t.line, t.name)), tagger


def _misread(language: str, tag: Tag) -> bool:
    """Whether the tagger made the tag up or got it wrong (see ``MISREAD``)."""
    return bool(
        SYNTHETIC.search(tag.name)
        or (language == "bash" and MISREAD_NAME.search(tag.name))
        or (tag.path, tag.line, tag.name) in MISREAD.get(language, {})
    )


@cache
def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _indented(path: Path, line: int) -> bool:
    text = _lines(path)[line - 1]
    return text[:1].isspace()


@cache
def definitions(language: str, path: str) -> list[Definition]:
    """Our definitions in one fixture file, parsed as ``language``."""
    return parse_source((FIXTURES / language / path).read_bytes(), language).definitions


def name_line(language: str, path: str, definition: Definition) -> int:
    """The first line of ``definition`` that holds its name as a word (annotations,
    attributes and comments may come before it), else its first line."""
    lines = _lines(FIXTURES / language / path)
    word = re.compile(rf"(?<![\w$]){re.escape(definition.name)}(?![\w$])")
    for number in range(definition.line, definition.end_line + 1):
        if word.search(lines[number - 1]):
            return number
    return definition.line


def found(language: str, tag: Tag) -> bool:
    """Whether one of our definitions has the tag's name, on the tag's line give or take
    one: the definition's first line or the line that holds its name.

    Names are compared without white space (ctags writes ``operator <<``) and a leading
    ``~`` (our C# destructors are named after their class, as in the grammar).
    """
    name = _plain(tag.name)
    for definition in definitions(language, tag.path):
        if _plain(definition.name) == name and (
            abs(definition.line - tag.line) <= 1
            or abs(name_line(language, tag.path, definition) - tag.line) <= 1
        ):
            return True
    return False


def _plain(name: str) -> str:
    return "".join(name.split()).removeprefix("~")


def recall(language: str) -> tuple[float, list[Tag]]:
    """The share of the counted reference tags we find, and those we miss."""
    tags, _ = reference(language)
    missed = [tag for tag in tags if not found(language, tag)]
    return 1 - len(missed) / len(tags), missed


def test_every_tagged_language_has_a_reference() -> None:
    assert set(KINDS) == TAGGED_LANGUAGES
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == TAGGED_LANGUAGES


@pytest.mark.parametrize("language", sorted(MISREAD))
def test_every_misread_tag_is_in_the_reference(language: str) -> None:
    lines = (FIXTURES / language / "tags.jsonl").read_text(encoding="utf-8").splitlines()
    listed = {(e["path"], e["line"], e["name"]) for e in map(json.loads, lines)
              if e["_type"] == "tag"}  # fmt: skip
    assert set(MISREAD[language]) <= listed


@pytest.mark.parametrize("language", sorted(KINDS))
def test_the_reference_is_large_enough_to_measure(language: str) -> None:
    tags, tagger = reference(language)
    assert len(tags) >= 30, f"{language}: only {len(tags)} counted tags"
    expected = "Pygments" if language in ("swift", "scala") else "Universal Ctags"
    assert tagger.startswith(expected), tagger
    assert (FIXTURES / language / "LICENSE").is_file()


@pytest.mark.parametrize("language", sorted(KINDS))
def test_recall_against_the_reference(language: str) -> None:
    share, missed = recall(language)
    listing = "\n".join(f"  {t.path}:{t.line} {t.kind} {t.name}" for t in missed)
    bar = KINDS[language].bar
    assert share >= bar, (
        f"{language}: found {share:.1%} of {len(reference(language)[0])} reference "
        f"definitions, below {bar:.0%}; missed:\n{listing}"
    )
