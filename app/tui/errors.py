"""The one error the TUI's services raise, and how engine failures become it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from agents.api import ChatModelError, RunNotFoundError
from tools.git import GitError


class ServiceError(RuntimeError):
    """A request failed for a reason worth showing the user as is."""


@contextmanager
def errors(what: str) -> Iterator[None]:
    """Re-raise the engine's expected failures as `ServiceError("what: why")`."""
    try:
        yield
    except ServiceError:
        raise
    except (ChatModelError, GitError, RunNotFoundError, OSError, ValueError,
            sqlite3.DatabaseError, RuntimeError) as err:
        raise ServiceError(f"{what}: {err}") from err
