"""Run a test command: in a directory, with a timeout, a scrubbed environment, bounded output.

The command runs without a shell (a string is split with `shlex`), in its own process
group, so a timeout kills the whole tree it started. Its environment holds only PATH,
HOME, LANG, a fresh TMPDIR and the names the caller allows explicitly — never tokens or
keys, which are refused even when allowed. Output (stdout and stderr together) is kept
up to a bound: its head and its tail, with the middle left out and counted.

For pytest the results come from a JUnit XML report requested with `--junitxml` (and the
xunit1 family, whose test cases carry their file); any other command is judged by its
exit code alone.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import Literal

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_OUTPUT = 64_000       # bytes of output kept (head + tail)
BASE_ENV = ("PATH", "HOME", "LANG")
KILL_GRACE = 2.0                  # seconds between SIGTERM and SIGKILL
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSW|API_?KEY|ACCESS_?KEY|PRIVATE|CREDENTIAL|AUTH",
                          re.IGNORECASE)


class TestCommandError(ValueError):
    """A test command that cannot be run at all (empty, not found, bad directory)."""

    __test__ = False  # not a pytest test class, despite the name


@dataclass(frozen=True)
class TestFailure:
    """One failing or erroring test: its id (`path::Class::name`) and the message."""

    __test__ = False

    test_id: str
    kind: Literal["failure", "error"]
    message: str


@dataclass(frozen=True)
class TestRun:
    """The outcome of one test command.

    `passed`, `failed`, `errors` and `skipped` are None when the results were not parsed
    (`source == "exit_code"`); `exit_code` is None when the command was killed on timeout.
    `output` is the bounded, combined stdout/stderr; `output_omitted` counts left-out bytes.
    """

    __test__ = False

    command: list[str]
    cwd: str
    exit_code: int | None
    timed_out: bool
    duration: float
    source: Literal["junit", "exit_code"]
    passed: int | None = None
    failed: int | None = None
    errors: int | None = None
    skipped: int | None = None
    failures: list[TestFailure] = field(default_factory=list)
    output: str = ""
    output_omitted: int = 0

    @property
    def ok(self) -> bool:
        """True when the command finished, exited 0 and no test failed or errored."""
        return (not self.timed_out and self.exit_code == 0
                and not self.failed and not self.errors)

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict, with `ok` included."""
        return {**asdict(self), "ok": self.ok}


def scrubbed_env(tmpdir: Path, allow: Sequence[str] = ()) -> dict[str, str]:
    """PATH, HOME, LANG and the allowed names from this process's environment, TMPDIR set.

    A name in `allow` that looks like a credential (TOKEN, SECRET, API_KEY, …) raises
    `ValueError`: test commands never get them.
    """
    refused = [name for name in allow if _SECRET_NAME.search(name)]
    if refused:
        raise ValueError(f"refusing to pass credentials to a test command: {', '.join(refused)}")
    env = {name: os.environ[name] for name in (*BASE_ENV, *allow) if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env["TMPDIR"] = str(tmpdir)
    return env


def is_pytest(argv: Sequence[str]) -> bool:
    """Whether the command runs pytest (`pytest …`, `py.test …`, `python -m pytest …`)."""
    if not argv:
        return False
    program = PurePath(argv[0]).name
    if program in ("pytest", "py.test"):
        return True
    return program.startswith("python") and list(argv[1:3]) == ["-m", "pytest"]


class _OutputBuffer:
    """Keeps the first and last bytes of a stream, counting what falls in between."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit // 4
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.omitted = 0

    def add(self, chunk: bytes) -> None:
        """Append a chunk, dropping from the middle when over the limit."""
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            del self.tail[:excess]
            self.omitted += excess

    def text(self) -> str:
        """The kept output, with a marker where bytes were left out."""
        middle = f"\n[… {self.omitted} bytes of output omitted …]\n" if self.omitted else ""
        return (self.head.decode("utf-8", "replace") + middle
                + self.tail.decode("utf-8", "replace"))


def _pump(fd: int, buffer: _OutputBuffer) -> None:
    """Read a pipe to its end into the buffer (runs in a thread)."""
    for chunk in iter(lambda: os.read(fd, 65536), b""):
        buffer.add(chunk)


def _kill_group(pgid: int, sig: int) -> None:
    """Signal a process group; a group that is already gone is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return


def _exited(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait up to `seconds` for the process; whether it exited."""
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def run_tests(
    command: str | Sequence[str],
    cwd: str | Path,
    timeout: float = DEFAULT_TIMEOUT,
    allow_env: Sequence[str] = (),
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> TestRun:
    """Run a test command in `cwd` and report what passed and what failed.

    Raises `TestCommandError` when the command is empty, `cwd` is not a directory, or
    the program cannot be started. A command that runs and fails is a `TestRun`.
    """
    try:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
    except ValueError as err:  # unbalanced quotes
        raise TestCommandError(f"cannot parse test command {command!r}: {err}") from err
    if not argv:
        raise TestCommandError("empty test command")
    workdir = Path(cwd)
    if not workdir.is_dir():
        raise TestCommandError(f"{cwd}: not a directory")
    # Stray processes may still write there while it is removed: cleanup errors are moot.
    with tempfile.TemporaryDirectory(prefix="fathom-tests-", ignore_cleanup_errors=True) as scratch:
        tmpdir = Path(scratch)
        report = tmpdir / "junit.xml"
        pytest_run = is_pytest(argv)
        full = argv + ([f"--junitxml={report}", "-o", "junit_family=xunit1"] if pytest_run
                       else [])
        env = scrubbed_env(tmpdir, allow_env)
        buffer = _OutputBuffer(max_output)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(full, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as err:
            raise TestCommandError(f"cannot run {argv[0]!r} in {cwd}: {err.strerror}") from err
        assert proc.stdout is not None
        reader = threading.Thread(target=_pump, args=(proc.stdout.fileno(), buffer),
                                  daemon=True)
        reader.start()
        timed_out = not _exited(proc, timeout)
        if timed_out:
            _kill_group(proc.pid, signal.SIGTERM)
            _exited(proc, KILL_GRACE)
        _kill_group(proc.pid, signal.SIGKILL)  # whatever the command left running
        proc.wait()
        reader.join(KILL_GRACE)
        if not reader.is_alive():  # a process that left the group may still hold the pipe
            proc.stdout.close()
        duration = round(time.monotonic() - started, 3)
        exit_code = None if timed_out else proc.returncode
        run = TestRun(argv, str(workdir), exit_code, timed_out, duration, "exit_code",
                      output=buffer.text(), output_omitted=buffer.omitted)
        if pytest_run and report.is_file():
            return _with_junit(run, report)
        return run


def _with_junit(run: TestRun, report: Path) -> TestRun:
    """`run` with counts and failures read from a pytest JUnit XML report."""
    try:
        root = ElementTree.parse(report).getroot()
    except ElementTree.ParseError:
        return run
    passed = failed = errors = skipped = 0
    failures: list[TestFailure] = []
    for case in root.iter("testcase"):
        outcome = next((child for child in case
                        if child.tag in ("failure", "error", "skipped")), None)
        if outcome is None:
            passed += 1
            continue
        if outcome.tag == "skipped":
            skipped += 1
            continue
        lines = (outcome.text or "").strip().splitlines()
        text = outcome.get("message") or (lines[-1] if lines else "")
        if outcome.tag == "failure":
            failed += 1
            failures.append(TestFailure(_test_id(case), "failure", text))
        else:
            errors += 1
            failures.append(TestFailure(_test_id(case), "error", text))
    return TestRun(run.command, run.cwd, run.exit_code, run.timed_out, run.duration, "junit",
                   passed, failed, errors, skipped, failures, run.output, run.output_omitted)


def _test_id(case: ElementTree.Element) -> str:
    """pytest's node id from a test case's `file`, `classname` and `name`."""
    name = case.get("name", "")
    classname = case.get("classname", "")
    file = case.get("file")
    if not file:
        return f"{classname}::{name}" if classname else name
    module = file.removesuffix(".py").replace("/", ".")
    inner = classname[len(module) + 1:] if classname.startswith(module + ".") else ""
    return "::".join(part for part in (file, *inner.split("."), name) if part)
