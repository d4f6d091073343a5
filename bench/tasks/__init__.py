"""The seeded-bug corpus: small real Python projects, each with one bug and its fix.

Each task is a directory holding ``task.json`` and ``repo/``, the project as plain files
(with the bug in). ``task.json`` has:

- ``id``: the directory name;
- ``description``: the symptom, as a user would report it;
- ``test_cmd``: the test command, run in the project root (``python`` stands for the
  interpreter running the benchmark, see ``Task.command``);
- ``bug``: ``{"path", "name"}`` of the function the fix changes (``Class.method`` for
  methods), as ``tools.locate`` names functions;
- ``failing_tests``: the pytest node ids the bug makes fail;
- ``fix``: a unified diff (``git apply``, paths prefixed ``a/`` and ``b/``) after which
  every test passes.

Projects are copied into a fresh git repository with ``materialise`` before use: the
files here are never run in place, so they stay exactly as committed.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import git

TASKS_DIR = Path(__file__).parent
_SKIP = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".coverage", "*.pyc")


@dataclass(frozen=True)
class BuggyFunction:
    """Where the seeded bug lives: a file relative to the project root and a function."""

    path: str
    name: str


@dataclass(frozen=True)
class Task:
    """One seeded bug: the project, the symptom, the culprit and the known fix."""

    id: str
    description: str
    test_cmd: str
    bug: BuggyFunction
    failing_tests: tuple[str, ...]
    fix: str
    source: Path  # the project's files (``<task>/repo``)

    def command(self, python: str = sys.executable) -> list[str]:
        """The test command as arguments, a leading ``python`` replaced by ``python``."""
        argv = shlex.split(self.test_cmd)
        return [python, *argv[1:]] if argv and argv[0] == "python" else argv


def load_tasks(root: Path = TASKS_DIR) -> list[Task]:
    """Every task under ``root``, sorted by id.

    Raises ``ValueError`` naming the file when a ``task.json`` is malformed or does not
    match its directory.
    """
    tasks = []
    for spec in sorted(root.glob("*/task.json")):
        tasks.append(_load(spec))
    return tasks


def _load(spec: Path) -> Task:
    """The task described by ``spec`` (a ``task.json``)."""
    try:
        data = json.loads(spec.read_text(encoding="utf-8"))
        task = Task(
            id=data["id"],
            description=data["description"],
            test_cmd=data["test_cmd"],
            bug=BuggyFunction(data["bug"]["path"], data["bug"]["name"]),
            failing_tests=tuple(data["failing_tests"]),
            fix=data["fix"],
            source=spec.parent / "repo",
        )
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{spec}: malformed task ({error!r})") from error
    if task.id != spec.parent.name:
        raise ValueError(f"{spec}: id {task.id!r} differs from its directory name")
    if not (task.source / task.bug.path).is_file():
        raise ValueError(f"{spec}: bug path {task.bug.path!r} is not a file of the project")
    return task


def materialise(task: Task, dest: Path) -> Path:
    """Copy ``task``'s project to ``dest`` as a git repository with one commit.

    ``dest`` must not exist yet, or be an empty directory. Returns its resolved path.
    """
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest}: exists and is not an empty directory")
    shutil.copytree(task.source, dest, ignore=_SKIP, dirs_exist_ok=True)
    repo = git.Repo.init(dest, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Fathom Bench")
        config.set_value("user", "email", "bench@fathom.invalid")
    repo.git.add(all=True)
    repo.index.commit(f"{task.id}: initial import")
    repo.close()
    return dest.resolve()


def apply_fix(task: Task, repo_root: Path) -> None:
    """Apply ``task``'s known fix to a materialised copy (``git apply``; raises on failure)."""
    with tempfile.NamedTemporaryFile("w", suffix=".diff", encoding="utf-8") as patch:
        patch.write(task.fix)
        patch.flush()
        repo = git.Repo(repo_root)
        try:
            repo.git.apply(patch.name)
        finally:
            repo.close()
