"""The benchmark corpus: a real repository (SQLAlchemy's source) as a git checkout.

Downloaded once from PyPI as an sdist (the only network Fathom's benchmarks use), built
HTML documentation removed so the tree looks like a git checkout (~940 files, ~27 MB),
committed to a fresh git repository in a temporary directory for each run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "sqlalchemy==2.0.36"
CACHE = Path.home() / ".cache" / "fathom-bench"


def sdist() -> Path:
    """The cached sdist archive, downloaded with pip on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob("sqlalchemy-*.tar.gz"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             PACKAGE, "-d", str(CACHE), "--quiet"],
            check=True,
        )
        found = sorted(CACHE.glob("sqlalchemy-*.tar.gz"))
    return found[-1]


def checkout(parent: Path | None = None) -> Path:
    """A fresh git repository holding the corpus; the caller removes it."""
    parent = Path(tempfile.mkdtemp(prefix="fathom-bench-", dir=parent))
    with tarfile.open(sdist()) as archive:
        archive.extractall(parent, filter="data")
    root = next(parent.iterdir())
    for html in root.rglob("*.html"):
        html.unlink()
    shutil.rmtree(root / "lib" / "SQLAlchemy.egg-info", ignore_errors=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@fathom.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "corpus"], cwd=root, check=True)
    return root
