"""Prompt text of the TUI's own Ask pipeline (data, kept apart from the logic).

Used until `agents.graphs.ask` takes over answering; then this module goes with it.
"""

from __future__ import annotations

ASK_SYSTEM = """\
You are Fathom. You answer questions about the code repository below.
Answer from the repository only; if it does not hold the answer, say so.
Cite the code you rely on as path:line, for example {example}, taking line numbers
from the map. Keep the answer short and use Markdown.

## Map: definitions and their line numbers
{map}
## Repository
{repository}"""

EXAMPLE_CITATION = "src/module.py:12"


def ask_system_prompt(repo_map: str, repository: str, example: str | None) -> str:
    """The system message: instructions, the repository map, the packed repository."""
    return ASK_SYSTEM.format(example=example or EXAMPLE_CITATION, map=repo_map or "(empty)\n",
                             repository=repository)
