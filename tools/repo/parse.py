"""Definitions, references and string literals of one source file, via tree-sitter.

What is extracted is decided by our tags queries, ``queries/<language>-tags.scm``; this
module only runs them and turns their captures into dataclasses. The capture names a
query may use, one role per pattern:

- ``@definition.<kind>`` on the whole definition and ``@name.definition.<kind>`` on its
  name; optionally ``@body`` on the body (where the grammar has no ``body`` field) and
  ``@name.scope`` on a name the definition belongs to without being nested in it
  (a Go receiver type, the ``Matrix`` of C++'s ``Matrix::trace``);
- ``@scope`` with ``@name.scope``: a scope that is not itself a definition (Rust's
  ``impl Cache { ... }`` makes the functions inside methods of ``Cache``);
- ``@name.reference.<kind>``: a use of a name (call, class, type, import);
- ``@string``: a string literal, delimiters included (they are cut off here), or
  ``@string.content`` on a node that holds only the text (C++'s raw strings);
- names starting with ``_`` are helpers for predicates and are ignored.

A file ``<language>-tags.scm`` whose first line is ``; inherits: <other>`` is the other
language's query followed by its own patterns.

This is the hot path of a cold index, so the work per capture is kept small: one pass
over the query matches, scopes from one sorted sweep over definition ranges, text
decoded only for what is kept.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from tree_sitter import Language, Node, Parser, Query, QueryCursor, QueryError

from tools.repo.grammars import load_language
from tools.repo.languages import TAGGED_LANGUAGES

QUERY_DIR = Path(__file__).parent / "queries"
MAX_TEXT = 200  # characters kept of a signature or string literal
_MAX_BYTES = 4 * MAX_TEXT  # bytes sliced before decoding (UTF-8 is at most 4 per char)
_NEVER = 1 << 62  # larger than any byte offset


class Definition(NamedTuple):
    """A named definition: class, function, method, constant, ...

    Named tuples (here and for references, literals and spans) rather than dataclasses:
    a cold index creates ~10⁵ of them in worker processes and pickles them back, both
    several times cheaper for tuples.
    """

    name: str
    kind: str  # "class", "function", "method", ...
    line: int  # 1-based first line of the whole definition node
    end_line: int  # 1-based last line, inclusive
    signature: str  # header text up to the body, whitespace-collapsed, <= 200 chars
    scope: str | None  # dotted names of the enclosing definitions; None at top level


class Reference(NamedTuple):
    """A use of a name (a call, a type, an import) on a line."""

    name: str
    line: int  # 1-based


class StringLiteral(NamedTuple):
    """A string literal's content without its quotes (at most 200 chars)."""

    text: str
    line: int  # 1-based


@dataclass(slots=True)
class ParsedFile:
    """Everything extracted from one file."""

    language: str
    definitions: list[Definition]
    references: list[Reference]
    strings: list[StringLiteral]
    has_errors: bool  # the tree contains ERROR or MISSING nodes


# What a query pattern does (decided once per pattern when the query is loaded).
_DEF, _SCOPE, _REF, _STRING, _CONTENT, _SKIP = range(6)


class _Action(NamedTuple):
    role: int
    kind: str = ""  # definition kind
    name_key: str = ""  # capture holding the name (or the literal, for _STRING)
    node_key: str = ""  # capture holding the whole definition or scope


class _Grammar(NamedTuple):
    language: Language
    query: Query
    actions: tuple[_Action, ...]  # indexed by pattern


# Kinds that never contain other definitions, so they open no scope.
_LEAF_KINDS = frozenset({"constant", "field", "type", "macro"})
# A function directly inside one of these (or with an explicit @name.scope) is a method.
_CLASS_KINDS = frozenset({"class", "interface", "struct", "enum", "trait", "scope"})
# When two patterns capture the same name, the lower rank wins: the more specific kind
# (method over function, enum over class for Kotlin's ``enum class``, struct over a plain
# Go type, function over constant for ``const f = () => ...``). Unlisted kinds rank 1.
_KIND_RANK = {"method": 0, "class": 2, "type": 3, "constant": 4, "field": 5}

_LINE = attrgetter("line")
_CAPTURE = re.compile(r"@([\w.]+)")
_COMMENT = re.compile(r"(?m)^\s*;.*$")
# An opening string delimiter: a short prefix, then the quotes (whose length the closing
# delimiter shares). Matched on bytes at the literal's start.
_OPENING = re.compile(rb'[A-Za-z@$]{0,3}("""|\'\'\'|"|\'|`)')

_grammars: dict[str, _Grammar] = {}
_grammars_lock = threading.Lock()
_local = threading.local()  # one Parser per thread and language: parsers are not shared


def parse_source(source: bytes, language: str) -> ParsedFile:
    """Parse ``source`` as ``language`` and return its definitions, references, strings.

    ``language`` is a name from ``TAGGED_LANGUAGES`` (see ``language_for_path``); any
    other raises ``ValueError`` naming it. Syntax errors do not raise: tree-sitter
    recovers, whatever lies inside an ERROR node is dropped (except the complete
    definitions recovery kept there, see ``_carve``), the rest is returned and
    ``has_errors`` is set. Definitions are sorted by (line, name); references and
    strings are in source order.
    """
    grammar = _grammar(language)
    tree = _parser(language, grammar.language).parse(source)
    root = tree.root_node
    has_errors = root.has_error
    errors = _error_ranges(root) if has_errors else None

    # A definition or scope: (start byte, end byte, name node, kind, node or None for a
    # scope only, [body node] or None, [explicit scope name node] or None).
    defs: dict[int, tuple] = {}  # by name node start byte: one definition per name
    scopes: list[tuple] = []
    refs: list[Node] = []
    literals: list[Node] = []
    contents: list[Node] = []
    complete: list[tuple[int, int]] = []  # error-free definitions and scopes, with errors
    actions = grammar.actions
    for pattern, caps in QueryCursor(grammar.query).matches(root):
        role, kind, name_key, node_key = actions[pattern]
        if role == _REF:
            refs += caps[name_key]
        elif role == _STRING:
            literals += caps[name_key]
        elif role == _CONTENT:
            contents += caps[name_key]
        elif role == _DEF:
            name_node = caps[name_key][0]
            node = caps[node_key][0]
            key = name_node.start_byte
            new = (node.start_byte, node.end_byte, name_node, kind, node,
                   caps.get("body"), caps.get("name.scope"))  # fmt: skip
            old = defs.get(key)
            if old is None or _preference(new) < _preference(old):
                defs[key] = new
            if has_errors and not node.has_error:
                complete.append(node.byte_range)
        elif role == _SCOPE:
            node = caps[node_key][0]
            name_node = caps[name_key][0]
            scopes.append((node.start_byte, node.end_byte, name_node, kind, None, None, None))
            if has_errors and not node.has_error:
                complete.append(node.byte_range)

    if errors:
        errors = _carve(errors, complete)
        defs = {k: v for k, v in defs.items() if not _inside(k, errors)}
        refs = [n for n in refs if not _inside(n.start_byte, errors)]
        literals = [n for n in literals if not _inside(n.start_byte, errors)]
        contents = [n for n in contents if not _inside(n.start_byte, errors)]

    return ParsedFile(
        language=language,
        definitions=_definitions(source, [*defs.values(), *scopes], has_errors),
        references=_references(source, refs),
        strings=_strings(source, literals, contents),
        has_errors=has_errors,
    )


def _preference(entry: tuple) -> tuple[int, int, int, bool]:
    """Order between two captures of one name: the lower wins.

    The more specific kind first (see ``_KIND_RANK``), then the outermost node, then the
    capture with an explicit scope.
    """
    return (_KIND_RANK.get(entry[3], 1), entry[0], -entry[1], not entry[6])


def _definitions(source: bytes, entries: list[tuple], has_errors: bool) -> list[Definition]:
    """Resolve scopes with one sweep over the ranges sorted by (start, -end)."""
    entries.sort(key=lambda entry: (entry[0], -entry[1]))  # outer before inner
    stack: list[tuple[int, str, str]] = []  # (end byte, dotted name, kind) of open scopes
    out: list[Definition] = []
    for start, end, name_node, kind, node, body, explicit in entries:
        while stack and stack[-1][0] <= start:
            stack.pop()
        parent_kind = stack[-1][2] if stack else None
        scope = stack[-1][1] if stack else None
        if explicit:
            extra = _text(source, explicit[0])
            scope = f"{scope}.{extra}" if scope else extra
            parent_kind = "scope"
        name = _text(source, name_node)
        if kind == "function" and parent_kind in _CLASS_KINDS:
            kind = "method"
        if kind not in _LEAF_KINDS:
            stack.append((end, f"{scope}.{name}" if scope else name, kind))
        if node is None:  # a scope only, not a definition
            continue
        end_row, end_col = node.end_point
        line = node.start_point[0] + 1
        out.append(
            Definition(
                name=name,
                kind=kind,
                line=line,
                end_line=max(line, end_row + 1 if end_col else end_row),
                signature=_signature(source, node, body, has_errors and node.has_error),
                scope=scope,
            )
        )
    out.sort(key=lambda d: (d.line, d.name))
    return out


def _signature(source: bytes, node: Node, body: list[Node] | None, broken: bool) -> str:
    """The header of a definition: its text up to the body, else its first line.

    A definition containing a syntax error (``broken``) gets its first line: its body
    may start after the error, which is no header.
    """
    start = node.start_byte
    limit = min(node.end_byte, start + _MAX_BYTES)
    body_node = None if broken else body[0] if body else node.child_by_field_name("body")
    if body_node is not None and start < body_node.start_byte:
        # End at the last real token before the body: comments there are not the header.
        end = body_node.start_byte
        for child in node.children:
            if child.end_byte > body_node.start_byte:
                end = body_node.start_byte if child.start_byte < body_node.start_byte else end
                break
            if not child.is_extra:
                end = child.end_byte
        text = source[start : min(end, limit)].decode("utf-8", "replace")
        return " ".join(text.split())[:MAX_TEXT]
    newline = source.find(b"\n", start, limit)
    text = source[start : newline if newline != -1 else limit].decode("utf-8", "replace")
    return " ".join(text.split()).rstrip("{ ")[:MAX_TEXT]


def _references(source: bytes, nodes: list[Node]) -> list[Reference]:
    """References in source order, one per distinct captured name node."""
    out = []
    append = out.append
    seen: set[int] = set()
    add = seen.add
    for node in nodes:
        start = node.start_byte
        if start in seen:
            continue
        add(start)
        name = source[start : node.end_byte].decode("utf-8", "replace")
        append(Reference(name, node.start_point[0] + 1))
    out.sort(key=_LINE)
    return out


def _strings(source: bytes, nodes: list[Node], contents: list[Node]) -> list[StringLiteral]:
    """Non-empty string literals in source order, delimiters cut off.

    ``nodes`` are whole literals, ``contents`` nodes that hold only a literal's text.

    The opening delimiter is read from the text (an optional prefix such as ``f`` or
    ``@``, then quotes) and the closing one is taken to be its quotes; a literal that
    does not look like that (heredocs, raw strings) is cut between its first and last
    child instead, or is its only child.
    """
    out = []
    append = out.append
    seen: set[int] = set()
    add = seen.add
    opening = _OPENING.match
    for node in nodes:
        key = node.start_byte
        if key in seen:
            continue
        add(key)
        end = node.end_byte
        match = opening(source, key, end)
        if match is not None:
            start = match.end()
            stop = end - len(match.group(1))
        else:
            count = node.child_count
            if count >= 2:  # the delimiters are the first and last children
                start = node.child(0).end_byte
                stop = node.child(count - 1).start_byte
            elif count == 1:  # delimiters hidden in the literal, its child is the content
                start, stop = node.child(0).byte_range
            else:
                continue
        if stop <= start:
            continue
        if stop - start > _MAX_BYTES:
            stop = start + _MAX_BYTES
        text = source[start:stop].decode("utf-8", "replace")
        append(StringLiteral(text[:MAX_TEXT], node.start_point[0] + 1))
    for node in contents:
        start, stop = node.byte_range
        if start not in seen and stop > start:
            add(start)
            text = source[start : min(stop, start + _MAX_BYTES)].decode("utf-8", "replace")
            text = text.strip()  # heredoc bodies start and end with line breaks
            if text:
                append(StringLiteral(text[:MAX_TEXT], node.start_point[0] + 1))
    out.sort(key=_LINE)
    return out


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _error_ranges(root: Node) -> list[tuple[int, int]]:
    """Byte ranges of the outermost ERROR nodes, sorted, descending only where errors are."""
    ranges = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            ranges.append((node.start_byte, node.end_byte))
            continue
        stack.extend(child for child in node.children if child.has_error)
    ranges.sort()
    return ranges


def _carve(errors: list[tuple[int, int]], complete: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The error ranges less the error-free definitions inside them, sorted and disjoint.

    Recovery can wrap most of a file in one ERROR node (C#'s ``#if`` inside a parameter
    list, a shell regex tree-sitter-bash cannot read): the complete classes and functions
    in it are real and keep their captures; what recovery made of the broken part (a
    ``def`` read as a call) is still dropped.
    """
    complete.sort(key=lambda span: (span[0], -span[1]))  # outer before inner
    starts = [start for start, _ in complete]
    out = []
    for start, end in errors:
        cursor = start
        for index in range(bisect_right(starts, start - 1), bisect_right(starts, end - 1)):
            inner_start, inner_end = complete[index]
            if inner_start < cursor:  # inside a definition already carved out
                continue
            if inner_start > cursor:
                out.append((cursor, inner_start))
            cursor = inner_end
        if end > cursor:
            out.append((cursor, end))
    return out


def _inside(offset: int, ranges: list[tuple[int, int]]) -> bool:
    """Whether ``offset`` lies in one of the sorted, disjoint ``ranges``."""
    index = bisect_right(ranges, (offset, _NEVER)) - 1
    return index >= 0 and offset < ranges[index][1]


def _grammar(language: str) -> _Grammar:
    """The cached Language, tags Query and per-pattern actions of ``language``."""
    grammar = _grammars.get(language)
    if grammar is not None:
        return grammar
    if language not in TAGGED_LANGUAGES:
        known = ", ".join(sorted(TAGGED_LANGUAGES))
        raise ValueError(f"unsupported language {language!r}: tags exist for {known}")
    with _grammars_lock:
        grammar = _grammars.get(language)
        if grammar is None:
            grammar = _grammars[language] = _load_grammar(language)
    return grammar


def _load_grammar(language: str) -> _Grammar:
    lang = load_language(language)
    text = query_text(language)
    try:
        query = Query(lang, text)
    except QueryError as error:  # our .scm does not fit the bundled grammar: a bug here
        raise RuntimeError(f"{language} tags query (with what it inherits): {error}") from error
    data = text.encode()
    actions = []
    for pattern in range(query.pattern_count):
        body = data[query.start_byte_for_pattern(pattern) : query.end_byte_for_pattern(pattern)]
        body = _COMMENT.sub("", body.decode())
        actions.append(_action(language, set(_CAPTURE.findall(body))))
    return _Grammar(lang, query, tuple(actions))


def query_text(language: str) -> str:
    """The tags query source of ``language``, with any ``; inherits:`` parent prepended."""
    text = (QUERY_DIR / f"{language}-tags.scm").read_text(encoding="utf-8")
    first = text.split("\n", 1)[0]
    if first.startswith("; inherits:"):
        parent = first.removeprefix("; inherits:").strip()
        text = query_text(parent) + "\n" + text
    return text


def _action(language: str, captures: set[str]) -> _Action:
    """Decide a pattern's role from its capture names; reject a malformed pattern."""
    names = {c for c in captures if not c.startswith("_")}
    defs = [c for c in names if c.startswith("definition.")]
    if len(defs) == 1:
        kind = defs[0].removeprefix("definition.")
        expected = {defs[0], f"name.{defs[0]}"}
        if expected <= names <= expected | {"body", "name.scope"}:
            return _Action(_DEF, kind, f"name.{defs[0]}", defs[0])
    elif names == {"scope", "name.scope"}:
        return _Action(_SCOPE, "scope", "name.scope", "scope")
    elif names == {"string"}:
        return _Action(_STRING, name_key="string")
    elif names == {"string.content"}:
        return _Action(_CONTENT, name_key="string.content")
    elif len(names) == 1 and next(iter(names)).startswith("name.reference."):
        return _Action(_REF, name_key=next(iter(names)))
    elif not names:
        return _Action(_SKIP)
    raise RuntimeError(f"{language} tags query: a pattern has unusable captures {sorted(names)}")


def _parser(language: str, lang: Language) -> Parser:
    parsers = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(language)
    if parser is None:
        parser = parsers[language] = Parser(lang)
    return parser
