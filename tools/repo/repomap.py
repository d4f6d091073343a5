"""Render the highest-ranked definitions as a repository map within an exact token budget.

Each map line is an additive segment (see ``tools.repo.tokens``): a file header
``path:`` or a definition ``LINE│<indent>signature``, with the enclosing scopes shown
above it.  Because segments add up exactly, the map is filled greedily by rank, and the
total never exceeds the budget by even one token.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from tools.repo.rank import RankedDefinition, Ranking
from tools.repo.tokens import SegmentCounter

INDENT = "    "
# How many ranked definitions to tokenize per batch while filling.
BATCH = 512


@dataclass(slots=True)
class RepoMap:
    """A rendered map and what it holds."""

    text: str
    tokens: int
    budget: int
    files: int
    definitions: int


def render_map(ranking: Ranking, budget: int, counter: SegmentCounter | None = None) -> RepoMap:
    """The best map of ``ranking``'s definitions that fits in ``budget`` tokens."""
    if budget < 0:
        raise ValueError(f"token budget must be ≥ 0, got {budget}")
    counter = counter or SegmentCounter()
    by_path: dict[str, list[RankedDefinition]] = defaultdict(list)
    for definition in ranking.definitions:
        by_path[definition.path].append(definition)
    shown: dict[str, dict[int, str]] = {}  # path → line number → rendered line
    used = 0
    candidates = ranking.definitions
    for offset in range(0, len(candidates), BATCH):
        batch = candidates[offset : offset + BATCH]
        needs = [_needed_lines(d, by_path[d.path], shown) for d in batch]
        counter.prime(line for need in needs for line in need.values())
        for definition, need in zip(batch, needs, strict=True):
            need = {k: v for k, v in need.items() if k not in shown.get(definition.path, {})}
            cost = sum(counter.of(line) for line in need.values())
            if used + cost > budget:
                continue
            used += cost
            shown.setdefault(definition.path, {}).update(need)
        if budget - used < 2:  # no line costs less than two tokens
            break
    text = "".join(
        "".join(lines[k] for k in sorted(lines)) for lines in shown.values()
    )
    definitions = sum(len(lines) - 1 for lines in shown.values())
    return RepoMap(text, used, budget, len(shown), definitions)


def _needed_lines(
    definition: RankedDefinition,
    siblings: list[RankedDefinition],
    shown: dict[str, dict[int, str]],
) -> dict[int, str]:
    """Lines to add to show ``definition``: its file header, its scopes, itself.

    Keys are line numbers (0 for the file header) so lines sort into file order.
    """
    need: dict[int, str] = {}
    if definition.path not in shown:
        need[0] = f"{definition.path}:\n"
    chain = _scope_chain(definition, siblings)
    for depth, item in enumerate(chain):
        need[item.line] = f"{item.line}│{INDENT * depth}{item.signature or item.name}\n"
    return need


def _scope_chain(
    definition: RankedDefinition, siblings: list[RankedDefinition]
) -> list[RankedDefinition]:
    """The definition preceded by its enclosing definitions, outermost first."""
    chain = [definition]
    scope = definition.scope
    current = definition
    while scope:
        name = scope.rsplit(".", 1)[-1]
        parents = [
            s for s in siblings
            if s.name == name and s.line <= current.line and s.end_line >= current.end_line
            and s is not current
        ]
        if not parents:
            break
        current = max(parents, key=lambda s: s.line)  # the innermost enclosing one
        chain.insert(0, current)
        scope = current.scope
    return chain
