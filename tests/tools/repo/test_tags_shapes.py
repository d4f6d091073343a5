"""Definition shapes our tags queries capture beyond the polyglot fixture's, one per test:
what name, kind and scope each gets (test_tags_recall.py measures them on real code)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tree_sitter import Parser

from tools.repo.grammars import load_language
from tools.repo.parse import parse_source

CTAGS = Path(__file__).resolve().parents[2] / "fixtures" / "ctags"

COMMONJS = b"""\
exports.compile = function (template) { return template; };
module.exports.render = (view) => view;
res.send = function send(body) { return this; };
Layer.prototype.match = function match(path) { return true; };
module.exports = function createApplication() { return {}; };
module.exports = function () {};
var handler;
handler = function (req) { return req; };
const parser = function* () { yield 1; };
var api = { get: function () {}, 'post': (body) => body, put() {} };
file.on('end', function onend() {});
function wrap(old) { return function proxy() { return old; }; }
function Router() { this.handle = function () {}; }
"""

# (name, kind, line, scope, signature)
COMMONJS_DEFINITIONS = [
    ("compile", "function", 1, None, "exports.compile = function (template)"),
    ("render", "function", 2, None, "module.exports.render = (view) =>"),
    ("send", "method", 3, "res", "res.send = function send(body)"),
    ("match", "method", 4, "Layer", "Layer.prototype.match = function match(path)"),
    ("createApplication", "function", 5, None,
     "module.exports = function createApplication()"),
    ("handler", "function", 8, None, "handler = function (req)"),
    ("parser", "function", 9, None, "const parser = function* ()"),
    ("get", "method", 10, "api", "get: function ()"),
    ("post", "method", 10, "api", "'post': (body) =>"),
    ("put", "method", 10, "api", "put()"),
    ("onend", "function", 11, None, "function onend()"),
    ("wrap", "function", 12, None, "function wrap(old)"),
    ("proxy", "function", 12, "wrap", "function proxy()"),
    ("Router", "function", 13, None, "function Router()"),
    ("handle", "function", 13, "Router", "this.handle = function ()"),
]  # fmt: skip


@pytest.mark.parametrize("language", ["javascript", "typescript", "tsx"])
def test_functions_assigned_to_members_and_object_keys(language: str) -> None:
    result = parse_source(COMMONJS, language)
    assert not result.has_errors
    found = {(d.name, d.kind, d.line, d.scope, d.signature) for d in result.definitions}
    assert found == set(COMMONJS_DEFINITIONS)


def test_module_exports_itself_is_no_definition() -> None:
    names = {d.name for d in parse_source(COMMONJS, "javascript").definitions}
    assert "exports" not in names
    assert "module" not in names


@pytest.mark.parametrize("language", ["typescript", "tsx"])
def test_typescript_enum_members_are_constants_of_their_enum(language: str) -> None:
    source = b"export enum Role {\n  Admin,\n  Viewer = 2,\n}\n"
    found = {(d.name, d.kind, d.line, d.scope) for d in parse_source(source, language).definitions}
    assert found == {("Role", "enum", 1, None), ("Admin", "constant", 2, "Role"),
                     ("Viewer", "constant", 3, "Role")}  # fmt: skip


def test_rust_enum_variants_are_constants_of_their_enum() -> None:
    source = b"pub enum Op {\n    Exact,\n    Greater(u8),\n    Less { by: u8 },\n}\n"
    found = {(d.name, d.kind, d.line, d.scope) for d in parse_source(source, "rust").definitions}
    assert {("Exact", "constant", 2, "Op"), ("Greater", "constant", 3, "Op"),
            ("Less", "constant", 4, "Op")} <= found  # fmt: skip


def test_c_function_pointer_typedefs_and_fields_under_preprocessor_conditions() -> None:
    source = (b"struct s {\n#if FEATURE\n  int *count;\n#endif\n};\n"
              b"typedef char *(*namer)(int);\ntypedef int row[4];\n")  # fmt: skip
    found = {(d.name, d.kind, d.line, d.scope) for d in parse_source(source, "c").definitions}
    assert {("count", "field", 3, "s"), ("namer", "type", 6, None),
            ("row", "type", 7, None)} <= found  # fmt: skip


def test_cpp_members_under_preprocessor_conditions_and_free_operators() -> None:
    source = (b"class A {\n#ifdef X\n  void hidden(int x) noexcept;\n  int field_;\n#endif\n"
              b"  A& operator<<(int x);\n};\n"
              b"std::ostream& operator<<(std::ostream& os, const A& a);\n")  # fmt: skip
    found = {(d.name, d.kind, d.line, d.scope) for d in parse_source(source, "cpp").definitions}
    assert found == {
        ("A", "class", 1, None),
        ("hidden", "method", 3, "A"),
        ("field_", "field", 4, "A"),
        ("operator<<", "method", 6, "A"),
        ("operator<<", "function", 8, None),
    }


def test_complete_definitions_survive_an_error_that_swallows_the_file() -> None:
    # tree-sitter-c-sharp cannot read an `#if` inside a parameter list (line 130): the
    # whole file becomes one ERROR node, with the complete members inside it.
    source = (CTAGS / "csharp" / "Finalizer.cs").read_bytes()
    tree = Parser(load_language("csharp")).parse(source)
    assert tree.root_node.type == "ERROR", "the example no longer breaks the file"
    result = parse_source(source, "csharp")
    found = {(d.name, d.kind, d.line) for d in result.definitions}
    assert {("CollectArgs", "class", 15), ("ErrorArgs", "method", 22),
            ("Collect", "method", 110)} <= found  # fmt: skip
    assert ("AddFinalizedObject", "method", 130) not in found  # broken: it holds the error
    assert len(found) > 30
    assert ("DisposeAll", 111) in {(r.name, r.line) for r in result.references}
