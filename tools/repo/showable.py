"""May a file be shown — to a model or to a person? One answer for every place that does.

A file is shown only when it is text and holds no secret: no NUL byte in its first
BINARY_SNIFF bytes (git's own test for binary content), no secret file name, no known
secret shape in its content (`tools.repo.secrets`). The index, citations, the model's
`read_file` tool and the TUI's code viewer all ask here, so they never disagree.
"""

from __future__ import annotations

from tools.repo.secrets import secret_reason

BINARY_SNIFF = 8000   # bytes looked at for a NUL byte, as git does
BINARY = "binary file"


def is_binary(data: bytes) -> bool:
    """Whether `data` looks binary: a NUL byte in its first BINARY_SNIFF bytes."""
    return b"\0" in data[:BINARY_SNIFF]


def hidden_reason(path: str, data: bytes) -> str | None:
    """Why the file at `path` (relative to its repository) holding `data` may not be
    shown — "binary file", a secret file name, or a secret in its content — or None."""
    return BINARY if is_binary(data) else secret_reason(path, data)
