"""Command palette: jump to any symbol of the index, fuzzily (Ctrl+F, or from Ctrl+P)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from app.tui.app import FathomApp

# Fuzzy matching is pure Python: past this many symbols, only the best ranked are searched.
MAX_SYMBOLS = 20_000
DISCOVER = 20  # symbols listed before anything is typed


class SymbolProvider(Provider):
    """Definitions from the index, best ranked first; picking one opens it in Code."""

    @property
    def fathom(self) -> FathomApp:
        """The app, typed."""
        return cast("FathomApp", self.app)

    async def search(self, query: str) -> Hits:
        """Symbols whose qualified name fuzzily matches `query`."""
        catalog = self.fathom.catalog
        if catalog is None:
            return
        matcher = self.matcher(query)
        for symbol in catalog.symbols[:MAX_SYMBOLS]:
            score = matcher.match(symbol.qualified)
            if score > 0:
                yield Hit(score, matcher.highlight(symbol.qualified),
                          partial(self.fathom.open_location, symbol.path, symbol.line),
                          text=symbol.qualified,
                          help=f"{symbol.kind} · {symbol.path}:{symbol.line}")

    async def discover(self) -> Hits:
        """The most central symbols."""
        catalog = self.fathom.catalog
        for symbol in catalog.symbols[:DISCOVER] if catalog else ():
            yield DiscoveryHit(symbol.qualified,
                               partial(self.fathom.open_location, symbol.path, symbol.line),
                               help=f"{symbol.kind} · {symbol.path}:{symbol.line}")
