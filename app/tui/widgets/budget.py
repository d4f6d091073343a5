"""The budget bar: what the repository context took of the model's whole window."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from app.tui.state import ContextManifest

# (component class, legend label): the bar's parts, left to right.
PARTS = (
    ("budget-bar--full", "whole files"),
    ("budget-bar--signatures", "signatures"),
    ("budget-bar--spans", "spans"),
    ("budget-bar--listing", "listings"),
    ("budget-bar--free", "unused budget"),
    ("budget-bar--reserved", "instructions, chat, answer"),
)


def shares(manifest: ContextManifest) -> list[int]:
    """Tokens of each part of `PARTS`, summing to the model's context."""
    full = manifest.tokens_in("full")
    signatures = manifest.tokens_in("signatures")
    listing = max(manifest.pack_tokens - full - signatures, 0)
    free = max(manifest.budget - manifest.used, 0)
    reserved = max(manifest.model.context - manifest.budget, 0)
    return [full, signatures, manifest.spans_tokens, listing, free, reserved]


def cells(tokens: list[int], width: int) -> list[int]:
    """Split `width` cells in proportion to `tokens`; a part with tokens gets at least one."""
    total = sum(tokens)
    if total <= 0 or width <= 0:
        return [0] * len(tokens)
    exact = [t * width / total for t in tokens]
    sizes = [max(int(e), 1) if t else 0 for e, t in zip(exact, tokens, strict=True)]
    biggest = max(range(len(sizes)), key=lambda i: sizes[i])
    sizes[biggest] += width - sum(sizes)
    return sizes


class BudgetBar(Widget):
    """A one-line bar of the context window, coloured by what each token went to."""

    COMPONENT_CLASSES = {name for name, _ in PARTS}

    def __init__(self, *, id: str | None = None) -> None:
        """An empty bar until `manifest` is set."""
        super().__init__(id=id)
        self._manifest: ContextManifest | None = None

    def show(self, manifest: ContextManifest) -> None:
        """Draw the bar for `manifest`."""
        self._manifest = manifest
        self.refresh()

    def render(self) -> Text:
        """The bar, as wide as the widget."""
        if self._manifest is None:
            return Text("")
        sizes = cells(shares(self._manifest), self.size.width)
        bar = Text()
        for (name, _), size in zip(PARTS, sizes, strict=True):
            glyph = "░" if name.endswith(("free", "reserved")) else "█"
            bar.append(glyph * size, self.get_component_rich_style(name))
        return bar

    def legend(self) -> Text:
        """The colour key, one label per part."""
        legend = Text()
        for name, label in PARTS:
            glyph = "░" if name.endswith(("free", "reserved")) else "█"
            legend.append(glyph, self.get_component_rich_style(name))
            legend.append(f" {label}  ")
        return legend
