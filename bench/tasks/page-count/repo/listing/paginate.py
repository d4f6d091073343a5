"""Page-number pagination with the metadata API clients need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and where it sits among all pages."""

    items: list[T]
    number: int
    per_page: int
    total_items: int
    total_pages: int

    @property
    def has_next(self) -> bool:
        return self.number < self.total_pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_count(total_items: int, per_page: int) -> int:
    """Pages needed for ``total_items``; an empty result still has one (empty) page."""
    if per_page < 1:
        raise ValueError("per_page must be at least 1")
    return max(1, total_items // per_page)


def paginate(items: Sequence[T], number: int = 1, per_page: int = 20) -> Page[T]:
    """Page ``number`` (1-based) of ``items``; asking past the last page is an error."""
    pages = page_count(len(items), per_page)
    if not 1 <= number <= pages:
        raise ValueError(f"page {number} out of range 1-{pages}")
    start = (number - 1) * per_page
    return Page(list(items[start : start + per_page]), number, per_page, len(items), pages)


def page_links(page: Page[object], base_url: str) -> dict[str, str]:
    """``first``, ``last``, and where they exist ``prev``/``next`` URLs (RFC 8288 rels)."""
    def url(n: int) -> str:
        return f"{base_url}?page={n}&per_page={page.per_page}"

    links = {"first": url(1), "last": url(page.total_pages)}
    if page.has_previous:
        links["prev"] = url(page.number - 1)
    if page.has_next:
        links["next"] = url(page.number + 1)
    return links
