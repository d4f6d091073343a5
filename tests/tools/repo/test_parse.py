"""Tags extraction on one small, realistic file per language, with the real grammars."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from tools.repo.languages import TAGGED_LANGUAGES, language_for_path
from tools.repo.parse import Definition, ParsedFile, parse_source

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "polyglot"


@cache
def parsed(file_name: str) -> ParsedFile:
    """Parse a fixture with the language its name maps to."""
    language = language_for_path(file_name)
    assert language is not None, file_name
    return parse_source((FIXTURES / file_name).read_bytes(), language)


def definition(result: ParsedFile, name: str, line: int | None = None) -> Definition:
    """The one definition called ``name`` (on ``line`` when given)."""
    found = [d for d in result.definitions if d.name == name and line in (None, d.line)]
    assert len(found) == 1, (name, line, result.definitions)
    return found[0]


# file -> definitions expected among its definitions: (kind, name, line, end_line, scope)
DEFINITIONS: dict[str, list[tuple[str, str, int, int, str | None]]] = {
    "inventory.py": [
        ("constant", "MAX_ITEMS", 5, 5, None),
        ("class", "Item", 9, 11, None),
        ("field", "price", 11, 11, "Item"),
        ("class", "Inventory", 14, 27, None),
        ("method", "__init__", 17, 18, "Inventory"),
        ("method", "add", 20, 23, "Inventory"),
        ("class", "Audit", 25, 27, "Inventory"),
        ("method", "record", 26, 27, "Inventory.Audit"),
        ("function", "load", 30, 36, None),
    ],
    "shapes.js": [
        ("constant", "DEFAULT_COLOR", 2, 2, None),
        ("class", "Shape", 4, 12, None),
        ("method", "constructor", 5, 7, "Shape"),
        ("method", "describe", 9, 11, "Shape"),
        ("class", "Circle", 14, 18, None),
        ("method", "area", 15, 17, "Circle"),
        ("function", "makeCircle", 20, 24, None),
        ("function", "scale", 26, 29, None),
    ],
    "service.ts": [
        ("interface", "Repository", 3, 5, None),
        ("method", "find", 4, 4, "Repository"),
        ("type", "UserId", 7, 7, None),
        ("enum", "Role", 9, 12, None),
        ("class", "UserService", 14, 25, None),
        ("field", "logger", 15, 15, "UserService"),
        ("method", "constructor", 17, 19, "UserService"),
        ("method", "find", 21, 24, "UserService"),
        ("function", "lookup", 27, 29, None),
    ],
    "widget.tsx": [
        ("interface", "ButtonProps", 3, 5, None),
        ("field", "label", 4, 4, "ButtonProps"),
        ("function", "Button", 7, 9, None),
        ("class", "Panel", 11, 19, None),
        ("method", "render", 12, 18, "Panel"),
        ("function", "renderTitle", 21, 21, None),
    ],
    "server.go": [
        ("constant", "DefaultPort", 8, 8, None),
        ("interface", "Handler", 10, 12, None),
        ("method", "Serve", 11, 11, "Handler"),
        ("struct", "Server", 14, 17, None),
        ("field", "Port", 15, 15, "Server"),
        ("type", "Middleware", 19, 19, None),
        ("function", "NewServer", 21, 23, None),
        ("method", "Start", 25, 28, "Server"),
    ],
    "cache.rs": [
        ("constant", "CAPACITY", 3, 3, None),
        ("struct", "Cache", 5, 7, None),
        ("field", "entries", 6, 6, "Cache"),
        ("enum", "Eviction", 9, 12, None),
        ("trait", "Store", 14, 16, None),
        ("method", "get", 15, 15, "Store"),
        ("method", "new", 19, 21, "Cache"),
        ("method", "get", 25, 27, "Cache"),
        ("macro", "cached", 30, 34, None),
        ("module", "tests", 36, 41, None),
        ("function", "helper", 37, 40, "tests"),
    ],
    "Library.java": [
        ("class", "Library", 6, 25, None),
        ("field", "MAX_BOOKS", 7, 7, "Library"),
        ("method", "Library", 10, 11, "Library"),
        ("method", "addBook", 13, 18, "Library"),
        ("interface", "Catalog", 20, 22, "Library"),
        ("method", "lookup", 21, 21, "Library.Catalog"),
        ("enum", "Genre", 24, 24, "Library"),
        ("constant", "FICTION", 24, 24, "Library.Genre"),
    ],
    "buffer.c": [
        ("macro", "BUFFER_SIZE", 4, 4, None),
        ("struct", "buffer", 6, 9, None),
        ("type", "buffer_t", 6, 9, None),
        ("field", "length", 8, 8, "buffer"),
        ("enum", "mode", 11, 11, None),
        ("constant", "MODE_READ", 11, 11, "mode"),
        ("constant", "open_count", 13, 13, None),
        ("function", "buffer_new", 15, 20, None),
        ("function", "buffer_print", 22, 25, None),
    ],
    "matrix.cpp": [
        ("module", "linalg", 4, 30, None),
        ("class", "Matrix", 6, 13, "linalg"),
        ("method", "Matrix", 8, 8, "linalg.Matrix"),
        ("method", "trace", 9, 9, "linalg.Matrix"),
        ("field", "data_", 12, 12, "linalg.Matrix"),
        ("struct", "Point", 15, 18, "linalg"),
        ("method", "trace", 20, 22, "linalg.Matrix"),
        ("function", "clamp", 25, 28, "linalg"),
    ],
    "Orders.cs": [
        ("module", "Shop.Orders", 4, 30, None),
        ("interface", "IOrderStore", 6, 9, "Shop.Orders"),
        ("method", "Find", 8, 8, "Shop.Orders.IOrderStore"),
        ("enum", "Status", 11, 11, "Shop.Orders"),
        ("struct", "Money", 13, 16, "Shop.Orders"),
        ("class", "OrderService", 18, 29, "Shop.Orders"),
        ("field", "orders", 20, 20, "Shop.Orders.OrderService"),
        ("field", "Name", 22, 22, "Shop.Orders.OrderService"),
        ("method", "Find", 24, 28, "Shop.Orders.OrderService"),
    ],
    "account.rb": [
        ("module", "Banking", 3, 24, None),
        ("constant", "RATE", 4, 4, "Banking"),
        ("class", "Account", 6, 23, "Banking"),
        ("method", "initialize", 9, 12, "Banking.Account"),
        ("method", "deposit", 14, 18, "Banking.Account"),
        ("method", "open", 20, 22, "Banking.Account"),
    ],
    "Cart.php": [
        ("module", "App\\Shop", 3, 3, None),
        ("constant", "TAX_RATE", 7, 7, None),
        ("interface", "Priced", 9, 12, None),
        ("method", "price", 11, 11, "Priced"),
        ("trait", "Discountable", 14, 20, None),
        ("method", "discount", 16, 19, "Discountable"),
        ("class", "Cart", 22, 36, None),
        ("field", "items", 24, 24, "Cart"),
        ("method", "add", 26, 30, "Cart"),
        ("function", "make_cart", 38, 41, None),
    ],
    "Queue.kt": [
        ("constant", "MAX_JOBS", 5, 5, None),
        ("interface", "Job", 7, 9, None),
        ("method", "run", 8, 8, "Job"),
        ("class", "Task", 11, 16, None),
        ("field", "name", 11, 11, "Task"),
        ("method", "run", 12, 15, "Task"),
        ("class", "Registry", 18, 20, None),
        ("field", "jobs", 19, 19, "Registry"),
        ("method", "submit", 23, 25, "JobQueue"),
        ("function", "drain", 28, 30, None),
    ],
    "Player.swift": [
        ("constant", "maxVolume", 3, 3, None),
        ("interface", "Playable", 5, 7, None),
        ("method", "play", 6, 6, "Playable"),
        ("struct", "Track", 9, 11, None),
        ("field", "title", 10, 10, "Track"),
        ("enum", "Repeat", 13, 15, None),
        ("constant", "all", 14, 14, "Repeat"),
        ("class", "Player", 17, 24, None),
        ("method", "play", 20, 23, "Player"),
        ("function", "start", 26, 28, None),
    ],
    "Stack.scala": [
        ("trait", "Container", 5, 7, None),
        ("method", "size", 6, 6, "Container"),
        ("class", "Entry", 9, 9, None),
        ("field", "key", 9, 9, "Entry"),
        ("class", "Stack", 11, 15, None),
        ("field", "DefaultCapacity", 12, 12, "Stack"),
        ("method", "empty", 14, 14, "Stack"),
        ("class", "Stack", 17, 26, None),
        ("method", "push", 20, 23, "Stack"),
    ],
    "deploy.sh": [
        ("constant", "TARGET_DIR", 4, 4, None),
        ("function", "log", 6, 8, None),
        ("function", "build_release", 10, 13, None),
    ],
}

# file -> {(name, line): signature}
SIGNATURES: dict[str, dict[tuple[str, int], str]] = {
    "inventory.py": {
        ("Inventory", 14): "class Inventory(Base):",
        ("add", 20): "def add(self, item: Item) -> None:",
        ("load", 30): "def load(path: str, strict: bool = False) -> Inventory:",
        ("MAX_ITEMS", 5): "MAX_ITEMS = 100",
    },
    "shapes.js": {
        ("Circle", 14): "class Circle extends Shape",
        ("makeCircle", 20): "function makeCircle(radius)",
        ("scale", 26): "const scale = (shape, factor) =>",
    },
    "service.ts": {
        ("UserService", 14): "class UserService implements Repository<User>",
        ("find", 21): "find(id: UserId): User | undefined",
    },
    "widget.tsx": {("Button", 7): "function Button({ label }: ButtonProps)"},
    "server.go": {
        ("Server", 14): "type Server struct",
        ("Start", 25): "func (s *Server) Start() error",
    },
    "cache.rs": {
        ("new", 19): "pub fn new() -> Self",
        ("cached", 30): "macro_rules! cached",
    },
    "Library.java": {("addBook", 13): "public void addBook(Book book)"},
    "buffer.c": {("buffer_new", 15): "buffer_t *buffer_new(size_t length)"},
    "matrix.cpp": {("trace", 20): "double Matrix::trace() const"},
    "Orders.cs": {("OrderService", 18): "public class OrderService : IOrderStore"},
    "account.rb": {
        ("Account", 6): "class Account < Base",
        ("open", 20): "def self.open(owner)",
    },
    "Cart.php": {("add", 26): "public function add(Product $product): void"},
    "Queue.kt": {("Task", 11): "data class Task(val name: String) : Job"},
    "Player.swift": {("start", 26): "func start(_ track: Track?) -> Bool"},
    "Stack.scala": {("push", 20): "def push(item: A): Unit ="},
    "deploy.sh": {("build_release", 10): "function build_release"},
}

# file -> (names that must be referenced, (string literal, line) that must be found)
USES: dict[str, tuple[set[str], tuple[str, int]]] = {
    "inventory.py": ({"len", "ValueError", "add", "Item", "Base", "dataclass", "load"},
                     ("inventory full", 22)),
    "shapes.js": ({"area", "Circle", "Shape", "log"}, ("scaling", 27)),
    "service.ts": ({"lookup", "info", "Logger", "Repository", "UserId"}, ("finding user", 22)),
    "widget.tsx": ({"track", "renderTitle", "Button", "ButtonProps"}, ("click", 8)),
    "server.go": ({"Println", "ListenAndServe", "Sprintf", "Server"}, ("starting server", 26)),
    "cache.rs": ({"get", "new", "println", "HashMap", "Store"}, ("helper called", 38)),
    "Library.java": ({"add", "size", "IllegalStateException", "ArrayList", "Book"},
                     ("library full", 15)),
    "buffer.c": ({"malloc", "printf", "buffer_t"}, ("buffer of %zu bytes\\n", 24)),
    "matrix.cpp": ({"compute_trace", "vector"}, ("clamping", 26)),
    "Orders.cs": ({"WriteLine", "Find", "IOrderStore", "List", "Generic"}, ("finding order", 26)),
    "account.rb": ({"log_event", "raise", "Base"}, ("negative amount", 15)),
    "Cart.php": ({"log_event", "array_map", "price", "Product", "Priced"}, ("added to cart", 29)),
    "Queue.kt": ({"println", "addLast", "hashCode", "Job", "ArrayDeque"}, ("running task", 13)),
    "Player.swift": ({"print", "start", "Playable", "Track"}, ("playing track", 21)),
    "Stack.scala": ({"prepend", "println", "Container", "ListBuffer"}, ("pushed item", 22)),
    "deploy.sh": ({"log", "make", "build_release"}, ("building release", 11)),
}  # fmt: skip


def test_every_tagged_language_has_a_fixture() -> None:
    covered = {language_for_path(name) for name in DEFINITIONS}
    assert covered == TAGGED_LANGUAGES


@pytest.mark.parametrize("file_name", sorted(DEFINITIONS))
def test_definitions(file_name: str) -> None:
    result = parsed(file_name)
    assert not result.has_errors
    actual = {(d.kind, d.name, d.line, d.end_line, d.scope) for d in result.definitions}
    missing = [d for d in DEFINITIONS[file_name] if d not in actual]
    assert not missing, f"missing {missing}; got {sorted(actual, key=lambda d: d[2])}"


@pytest.mark.parametrize("file_name", sorted(SIGNATURES))
def test_signatures(file_name: str) -> None:
    result = parsed(file_name)
    for (name, line), signature in SIGNATURES[file_name].items():
        assert definition(result, name, line).signature == signature


@pytest.mark.parametrize("file_name", sorted(USES))
def test_references_and_strings(file_name: str) -> None:
    result = parsed(file_name)
    names, literal = USES[file_name]
    assert names <= {r.name for r in result.references}
    assert literal in {(s.text, s.line) for s in result.strings}


@pytest.mark.parametrize("file_name", sorted(DEFINITIONS))
def test_output_is_ordered_and_unique(file_name: str) -> None:
    result = parsed(file_name)
    keys = [(d.line, d.name) for d in result.definitions]
    assert keys == sorted(keys)
    assert len(set(result.definitions)) == len(result.definitions)
    assert [r.line for r in result.references] == sorted(r.line for r in result.references)
    assert [s.line for s in result.strings] == sorted(s.line for s in result.strings)
    assert all(d.line <= d.end_line for d in result.definitions)


def test_python_references_point_at_lines() -> None:
    result = parsed("inventory.py")
    assert ("ValueError", 22) in {(r.name, r.line) for r in result.references}
    assert ("open", 33) in {(r.name, r.line) for r in result.references}


def test_broken_file_keeps_its_good_definitions() -> None:
    result = parsed("broken.py")
    assert result.has_errors
    found = {(d.kind, d.name, d.line, d.scope) for d in result.definitions}
    assert ("function", "good_before", 1, None) in found
    assert ("class", "StillHere", 9, None) in found
    assert ("method", "fine", 10, "StillHere") in found
    assert ("good_before", 11) in {(r.name, r.line) for r in result.references}


def test_captures_inside_error_nodes_are_dropped() -> None:
    source = b"def ok():\n    return 1\n\nx = (\n    call_in_error(\n\ndef later():\n    pass\n"
    result = parse_source(source, "python")
    assert result.has_errors
    assert "ok" in {d.name for d in result.definitions}
    # Recovery turns `def later():` into a call `later()` inside the ERROR node.
    assert "later" not in {r.name for r in result.references}


def test_definition_with_a_syntax_error_gets_its_first_line_as_signature() -> None:
    source = b"class A:\n    def one(self):\n        x = foo(1, 2\n        return x\n"
    result = parse_source(source, "python")
    assert definition(result, "one").signature == "def one(self):"


def test_unsupported_language_raises_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'cobol'"):
        parse_source(b"IDENTIFICATION DIVISION.", "cobol")
    with pytest.raises(ValueError, match="'klingon'"):
        parse_source(b"", "klingon")


@pytest.mark.parametrize("language", sorted(TAGGED_LANGUAGES))
def test_every_query_loads_and_handles_empty_input(language: str) -> None:
    result = parse_source(b"", language)
    assert result == ParsedFile(language, [], [], [], False)


def test_long_signatures_and_strings_are_cut_at_200_characters() -> None:
    params = ", ".join(f"argument_{i}: int" for i in range(40))
    literal = "x" * 500
    source = f'def wide({params}) -> None:\n    print("{literal}")\n'.encode()
    result = parse_source(source, "python")
    assert len(definition(result, "wide").signature) == 200
    assert [s.text for s in result.strings] == ["x" * 200]


def test_non_utf8_bytes_are_replaced_not_fatal() -> None:
    result = parse_source(b'def caf\xe9():\n    return "\xff"\n', "python")
    assert result.strings[0].text == "\ufffd"
    assert len(result.definitions) <= 1


def test_string_literals_lose_prefixes_and_delimiters() -> None:
    source = b"a = f\"hi {name}\"\nb = rb'raw'\nc = '''three'''\nd = ''\n"
    result = parse_source(source, "python")
    assert [(s.text, s.line) for s in result.strings] == [
        ("hi {name}", 1),
        ("raw", 2),
        ("three", 3),
    ]


def test_rust_raw_strings_and_cpp_raw_strings() -> None:
    rust = parse_source(b'fn f() { let s = r#"a "quoted" b"#; }', "rust")
    assert [s.text for s in rust.strings] == ['a "quoted" b']
    cpp = parse_source(b'auto s = R"(raw text)";', "cpp")
    assert [s.text for s in cpp.strings] == ["raw text"]


def test_parsing_from_several_threads_gives_the_same_result() -> None:
    source = (FIXTURES / "inventory.py").read_bytes()
    expected = parse_source(source, "python")
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: parse_source(source, "python"), range(16)))
    assert all(result == expected for result in results)


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a.py", "python"),
        ("stubs/a.pyi", "python"),
        ("a.js", "javascript"),
        ("a.mjs", "javascript"),
        ("a.cjs", "javascript"),
        ("a.jsx", "javascript"),
        ("a.ts", "typescript"),
        ("a.mts", "typescript"),
        ("a.cts", "typescript"),
        ("a.tsx", "tsx"),
        ("a.go", "go"),
        ("a.rs", "rust"),
        ("A.java", "java"),
        ("a.c", "c"),
        ("a.h", "c"),
        ("a.cc", "cpp"),
        ("a.cpp", "cpp"),
        ("a.cxx", "cpp"),
        ("a.hpp", "cpp"),
        ("a.hh", "cpp"),
        ("a.hxx", "cpp"),
        ("A.cs", "csharp"),
        ("a.rb", "ruby"),
        ("Rakefile", "ruby"),
        ("sub/dir/Gemfile", "ruby"),
        ("a.php", "php"),
        ("a.kt", "kotlin"),
        ("build.gradle.kts", "kotlin"),
        ("a.swift", "swift"),
        ("a.scala", "scala"),
        ("a.sc", "scala"),
        ("a.sh", "bash"),
        ("a.bash", "bash"),
        ("/abs/path/UPPER.PY", "python"),
    ],
)
def test_language_for_path(path: str, language: str) -> None:
    assert language_for_path(path) == language
    assert language in TAGGED_LANGUAGES


@pytest.mark.parametrize("path", ["README", "notes.txt", ".gitignore", "Makefile", "a.", ""])
def test_language_for_path_unknown(path: str) -> None:
    assert language_for_path(path) is None


def test_signature_stops_before_comments_between_header_and_body() -> None:
    source = b"class A:\n    def f(self) -> int:  # why\n        # more notes\n        return 1\n"
    signatures = [d.signature for d in parse_source(source, "python").definitions]
    assert signatures == ["class A:", "def f(self) -> int:"]
