"""Spectrum-based fault localisation: which functions do the failing tests point at?

The test command (pytest) runs once under ``coverage``, in place but without writing a
byte into the repository: coverage data, the JUnit report and the traceback record go to
a temporary directory outside it, bytecode is not written (``python -B``) and pytest's
cache plugin is off. A small pytest plugin switches coverage's dynamic context to each
test's node id for its setup, call and teardown — what ``dynamic_context = test_function``
does, but exact for parametrised tests and fixtures — and records the frames of every
exception. Pass or fail per test comes from pytest's JUnit XML report.

Each executed line gets a suspiciousness score from how many failing (ef) and passing
(ep) tests ran it (Ochiai by default; DStar or Tarantula on request); a function scores
the maximum of its lines (lines of a nested function count for the inner one only).
Functions on the failing tests' tracebacks — frames in the repository outside the test
files, the innermost weighing most — win ties. Test files are never suspects.

Function spans come from tree-sitter (``tools.repo.parse``) directly rather than from
the repository index, which lives in ``<root>/.fathom`` and would be written to.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import sqlite3
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath

from coverage import CoverageData

from tools.repo.parse import Definition, parse_source
from tools.testing import DEFAULT_TIMEOUT, TestCommandError, TestRun, is_pytest, run_tests

DSTAR_EXPONENT = 2  # the "*" of DStar; 2 is the value its authors recommend
SCORE_DIGITS = 6  # scores are rounded so that equal ratios tie exactly
OUTPUT_TAIL = 2_000  # characters of the test output quoted in an error
_NO_COVERAGE_EXIT = 97  # _RUNNER's exit code when it cannot import coverage
_FUNCTION_KINDS = frozenset({"function", "method"})
_TEST_DIRS = frozenset({"tests", "test", "testing"})

# Runs in the interpreter of the test command (``python -B -c _RUNNER ...``), which need
# not be ours: only coverage and pytest are imported there. As under ``python -m pytest``
# the working directory is on sys.path. Child processes of the tests inherit
# PYTHONDONTWRITEBYTECODE, so they write no bytecode either.
_RUNNER = r"""
import json, os, sys
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
data_file, record_file, root = sys.argv[1:4]
try:
    import coverage
except ImportError:
    sys.stderr.write(f"fathom-locate: coverage is not installed for {sys.executable}\n")
    sys.exit(97)
cov = coverage.Coverage(data_file=data_file, config_file=False, source=[root])
cov.start()
import pytest


class FathomLocate:
    def __init__(self):
        self.frames = {}
        self.test_files = set()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        cov.switch_context(item.nodeid)
        self.test_files.add(str(item.path))

    def pytest_runtest_makereport(self, item, call):
        if call.excinfo is not None:
            frames = [[str(entry.path), entry.lineno + 1] for entry in call.excinfo.traceback]
            self.frames.setdefault(item.nodeid, []).extend(frames)

    def pytest_runtest_logfinish(self, nodeid, location):
        cov.switch_context("")


plugin = FathomLocate()
try:
    code = pytest.main(sys.argv[4:], plugins=[plugin])
finally:
    cov.stop()
    cov.save()
    with open(record_file, "w", encoding="utf-8") as out:
        json.dump({"frames": plugin.frames, "test_files": sorted(plugin.test_files)}, out)
sys.exit(int(code))
"""


_Key = tuple[str, Definition]  # a function: its file (relative path) and definition


class LocateError(ValueError):
    """Fault localisation cannot run or has nothing to work on; the message says why."""


@dataclass(frozen=True, slots=True)
class Suspect:
    """A function that may hold the fault, with its suspiciousness (higher is worse)."""

    path: str  # relative to the repository root, with forward slashes
    name: str  # qualified: ``Class.method``, ``outer.inner``
    line: int  # 1-based first line of the definition
    end_line: int  # 1-based last line, inclusive
    score: float

    def to_json(self) -> dict[str, object]:
        """The JSON contract of ``fathom locate --json``: one ranked entry."""
        return asdict(self)


def ochiai(ef: int, ep: int, failed: int, passed: int) -> float:
    """Ochiai: ef / sqrt(failed * (ef + ep)); 0 when nothing failed or ran the line."""
    denominator = math.sqrt(failed * (ef + ep))
    return ef / denominator if denominator else 0.0


def tarantula(ef: int, ep: int, failed: int, passed: int) -> float:
    """Tarantula: the failing tests' share of a line over both shares, in [0, 1]."""
    fail_share = ef / failed if failed else 0.0
    pass_share = ep / passed if passed else 0.0
    total = fail_share + pass_share
    return fail_share / total if total else 0.0


def dstar(ef: int, ep: int, failed: int, passed: int) -> float:
    """DStar: ef^2 / (ep + nf), nf = the failing tests that did not run the line.

    A line run by every failing test and no passing one (a zero denominator) scores
    2 * ef^2, above every line with a denominator of at least 1 (at most failed^2).
    """
    numerator = float(ef**DSTAR_EXPONENT)
    denominator = ep + (failed - ef)
    return numerator / denominator if denominator else 2 * numerator


FORMULAS: dict[str, Callable[[int, int, int, int], float]] = {
    "ochiai": ochiai,
    "dstar": dstar,
    "tarantula": tarantula,
}


def suspiciousness(formula: str, ef: int, ep: int, failed: int, passed: int) -> float:
    """Score one line with the named formula (``ochiai``, ``dstar`` or ``tarantula``).

    ``ef``/``ep``: failing/passing tests that ran the line; ``failed``/``passed``: all
    failing/passing tests. Raises ``ValueError`` for an unknown formula name.
    """
    try:
        score = FORMULAS[formula]
    except KeyError:
        raise ValueError(f"unknown formula {formula!r}: use one of {', '.join(FORMULAS)}") from None
    return score(ef, ep, failed, passed)


def locate(
    root: str | Path,
    test_cmd: str | Sequence[str],
    formula: str = "ochiai",
    limit: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_env: Sequence[str] = (),
) -> list[Suspect]:
    """Run ``test_cmd`` (pytest) in ``root`` under coverage and rank suspicious functions.

    The ranking is best first; functions no failing test ran are left out; ``limit``
    keeps the first N. The tests run with a scrubbed environment (see
    ``tools.testing.scrubbed_env``) plus the variables named in ``allow_env``.

    Raises ``LocateError`` when the command is not pytest, cannot run, times out,
    collects nothing or cannot be collected, when coverage fails, and when no test
    fails ("nothing to localise").
    """
    if formula not in FORMULAS:
        raise LocateError(f"unknown formula {formula!r}: use one of {', '.join(FORMULAS)}")
    repo = Path(root).resolve()
    if not repo.is_dir():
        raise LocateError(f"{root}: not a directory")
    argv = shlex.split(test_cmd) if isinstance(test_cmd, str) else list(test_cmd)
    if not is_pytest(argv):
        raise LocateError(
            f"locate needs a pytest command (pytest ... or python -m pytest ...), "
            f"got {shlex.join(argv) or 'an empty command'!r}"
        )
    temp = Path(tempfile.gettempdir()).resolve()
    if temp.is_relative_to(repo):
        raise LocateError(f"the temporary directory {temp} lies inside {repo}: set TMPDIR")
    with tempfile.TemporaryDirectory(prefix="fathom-locate-") as scratch:
        work = Path(scratch)
        data_file, record_file = work / "coverage.db", work / "record.json"
        junit = work / "junit.xml"
        command = [
            _interpreter(argv), "-B", "-c", _RUNNER, str(data_file), str(record_file), str(repo),
            *_pytest_args(argv), f"--junitxml={junit}", "-p", "no:cacheprovider",
        ]  # fmt: skip
        try:
            run = run_tests(command, repo, timeout=timeout, allow_env=allow_env)
        except (TestCommandError, ValueError) as error:  # ValueError: a refused variable
            raise LocateError(str(error)) from error
        _check_run(run, timeout, junit, data_file, record_file)
        outcomes = _outcomes(junit)
        if not any(outcomes.values()):
            raise LocateError(f"nothing to localise: all {len(outcomes)} tests passed")
        record = json.loads(record_file.read_text(encoding="utf-8"))
        functions = _FunctionIndex(repo, {Path(path).resolve() for path in record["test_files"]})
        frames = {test: [(str(path), int(line)) for path, line in stack]
                  for test, stack in record["frames"].items()}
        suspects = _rank(data_file, outcomes, frames, functions, formula)
    return suspects[:limit] if limit is not None else suspects


def _interpreter(argv: Sequence[str]) -> str:
    """The Python that runs the tests: ``python`` of ``python -m pytest``, else pytest's.

    For a ``pytest`` script that is the interpreter of its ``#!`` line; a script that is
    not found or does not start a Python directly (a wrapper, a shim) leaves ours.
    """
    program = argv[0]
    if PurePath(program).name.startswith("python"):
        return program
    script = shutil.which(program)
    if script is None:
        return sys.executable
    with open(script, "rb") as handle:
        first = handle.readline(512).decode("utf-8", "replace")
    interpreter = first.removeprefix("#!").strip().split(" ")[0] if first.startswith("#!") else ""
    return interpreter if PurePath(interpreter).name.startswith("python") else sys.executable


def _pytest_args(argv: Sequence[str]) -> list[str]:
    """pytest's own arguments; xdist is turned off (its workers would not be measured)."""
    args = list(argv[1:] if is_pytest(argv[:1]) else argv[3:])
    uses_xdist = any(arg.startswith(("-n", "--numprocesses", "--dist")) for arg in args)
    return [*args, "-n", "0"] if uses_xdist else args


def _check_run(run: TestRun, timeout: float, junit: Path, data_file: Path, record: Path) -> None:
    """Raise a ``LocateError`` that says what went wrong, unless the run can be read."""
    tail = run.output[-OUTPUT_TAIL:].strip()
    if run.timed_out:
        raise LocateError(f"the tests timed out after {timeout:g} s in {run.cwd}")
    if run.exit_code == _NO_COVERAGE_EXIT:
        raise LocateError(f"coverage failed: {tail}")
    if run.exit_code == 5:
        raise LocateError(f"pytest collected no tests in {run.cwd}")
    if run.exit_code not in (0, 1):
        what = {2: "pytest was interrupted (collection errors?)", 3: "pytest hit an internal error",
                4: "pytest usage error"}.get(run.exit_code or 0, f"exit code {run.exit_code}")
        raise LocateError(f"{what}: {tail}")
    if not junit.is_file() or not record.is_file():
        raise LocateError(f"pytest wrote no report (exit code {run.exit_code}): {tail}")
    if not data_file.is_file():
        raise LocateError(f"coverage failed: no data was written: {tail}")


def _outcomes(junit: Path) -> dict[tuple[str, str], bool]:
    """Whether each test failed, keyed like JUnit's (classname, name); skipped tests are out.

    A test with a failure or an error in any phase failed.
    """
    try:
        root = ElementTree.parse(junit).getroot()
    except ElementTree.ParseError as error:
        raise LocateError(f"unreadable JUnit report from pytest: {error}") from error
    outcomes: dict[tuple[str, str], bool] = {}
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        tags = {child.tag for child in case}
        if "skipped" not in tags:
            outcomes[key] = outcomes.get(key, False) or bool(tags & {"failure", "error"})
    return outcomes


def _junit_key(nodeid: str) -> tuple[str, str]:
    """The (classname, name) pytest's JUnit report gives the test ``nodeid``.

    This is pytest's ``mangle_test_address``: the file path dotted, ``.py`` dropped,
    classes appended to it, the parameters kept on the name.
    """
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = names[0].replace("/", ".").removesuffix(".py")
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _rank(
    data_file: Path,
    outcomes: dict[tuple[str, str], bool],
    frames: dict[str, list[tuple[str, int]]],
    functions: _FunctionIndex,
    formula: str,
) -> list[Suspect]:
    """Score every function the failing tests ran; best first.

    ``frames`` holds each test's exception frames (file, line), outermost first.
    """
    failed = sum(outcomes.values())
    passed = len(outcomes) - failed
    score_line = FORMULAS[formula]
    data = CoverageData(basename=str(data_file))
    try:
        data.read()
        measured = sorted(data.measured_files())
        by_file = {name: data.contexts_by_lineno(name) for name in measured}
    except sqlite3.Error as error:
        raise LocateError(f"coverage failed: unreadable data ({error})") from error
    finally:
        data.close()
    verdict: dict[str, bool] = {}  # context (a node id) -> failed; unknown contexts are out
    for contexts in by_file.values():
        for names in contexts.values():
            for name in names:
                if name and name not in verdict:
                    key = _junit_key(name)
                    if key in outcomes:
                        verdict[name] = outcomes[key]
    scores: dict[_Key, float] = {}
    for filename, contexts in by_file.items():
        spans = functions.spans(filename)
        if spans is None:
            continue
        for line, names in contexts.items():
            ef = sum(1 for name in names if verdict.get(name) is True)
            definition = spans.enclosing(line) if ef else None
            if definition is None:
                continue
            ep = sum(1 for name in names if verdict.get(name) is False)
            score = round(score_line(ef, ep, failed, passed), SCORE_DIGITS)
            key = (spans.path, definition)
            scores[key] = max(score, scores.get(key, 0.0))
    boost = _traceback_weights(frames, verdict, functions)
    ranked = sorted(
        (key for key, score in scores.items() if score > 0),
        key=lambda key: (-scores[key], -boost.get(key, 0.0), key[0], key[1].line),
    )
    return [Suspect(path, _qualified(d), d.line, d.end_line, scores[path, d]) for path, d in ranked]


def _traceback_weights(
    frames: dict[str, list[tuple[str, int]]], verdict: dict[str, bool], functions: _FunctionIndex
) -> dict[_Key, float]:
    """For each function, the summed weight of its frames in failing tests' tracebacks.

    Only frames in the repository outside test files count; per test the innermost such
    frame weighs 1, the next 1/2, then 1/3, ...; a function counts once per test.
    """
    weights: dict[_Key, float] = defaultdict(float)
    for nodeid, stack in frames.items():
        if verdict.get(nodeid) is False:
            continue
        seen: dict[_Key, float] = {}
        depth = 0
        for filename, line in reversed(stack):
            spans = functions.spans(filename)
            definition = spans.enclosing(line) if spans is not None else None
            if definition is None:
                continue
            depth += 1
            seen.setdefault((spans.path, definition), 1.0 / depth)  # type: ignore[union-attr]
        for key, weight in seen.items():
            weights[key] += weight
    return weights


def _qualified(definition: Definition) -> str:
    """``Scope.name`` of a definition, or its bare name at top level."""
    return f"{definition.scope}.{definition.name}" if definition.scope else definition.name


class _Spans:
    """The function and method spans of one file, for innermost-enclosing lookups."""

    def __init__(self, path: str, definitions: Iterable[Definition]) -> None:
        self.path = path
        self.definitions = sorted(
            (d for d in definitions if d.kind in _FUNCTION_KINDS), key=lambda d: d.line
        )
        self.starts = [d.line for d in self.definitions]

    def enclosing(self, line: int) -> Definition | None:
        """The innermost function containing ``line``, or None at module or class level."""
        # Definitions start in order; the innermost container is the last one that
        # starts at or before the line and still contains it.
        for index in range(bisect_right(self.starts, line) - 1, -1, -1):
            definition = self.definitions[index]
            if definition.end_line >= line:
                return definition
        return None


class _FunctionIndex:
    """Function spans of the repository's non-test Python files, parsed on demand."""

    def __init__(self, repo: Path, test_files: set[Path]) -> None:
        self.repo = repo
        self.test_files = test_files
        self.cache: dict[str, _Spans | None] = {}

    def spans(self, filename: str) -> _Spans | None:
        """The spans of ``filename`` (absolute), or None when it is not a suspect file."""
        if filename not in self.cache:
            self.cache[filename] = self._load(Path(filename).resolve())
        return self.cache[filename]

    def _load(self, path: Path) -> _Spans | None:
        if path.suffix != ".py" or not path.is_relative_to(self.repo) or _is_test(
            path, self.repo, self.test_files
        ):
            return None
        try:
            source = path.read_bytes()
        except OSError:
            return None  # removed while the tests ran: nothing to point at
        relative = path.relative_to(self.repo).as_posix()
        return _Spans(relative, parse_source(source, "python").definitions)


def _is_test(path: Path, repo: Path, test_files: set[Path]) -> bool:
    """Whether ``path`` is test code: a collected test module, a conftest, ``test_*.py``,
    ``*_test.py``, or a file under a ``tests``/``test``/``testing`` directory."""
    name = path.name
    if path in test_files or name == "conftest.py":
        return True
    if name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(part in _TEST_DIRS for part in path.relative_to(repo).parts[:-1])


__all__ = [
    "FORMULAS",
    "LocateError",
    "Suspect",
    "dstar",
    "locate",
    "ochiai",
    "suspiciousness",
    "tarantula",
]
