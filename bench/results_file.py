"""Writing a benchmark's results: JSON, replaced atomically so a killed run leaves the last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(path: Path, result: dict[str, Any]) -> None:
    """Write ``result`` as indented JSON to ``path`` via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = path.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    tmp_out.replace(path)
