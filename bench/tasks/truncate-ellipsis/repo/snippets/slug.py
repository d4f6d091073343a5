"""URL slugs from titles, unique within a set of existing slugs."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection


def slugify(title: str, max_length: int = 60) -> str:
    """``"Crème Brûlée: A How-To"`` → ``"creme-brulee-a-how-to"``."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug or "untitled"


def unique_slug(title: str, existing: Collection[str]) -> str:
    """A slug for ``title`` not in ``existing``, numbered ``-2``, ``-3``, ... if needed."""
    base = slugify(title)
    slug = base
    number = 2
    while slug in existing:
        slug = f"{base}-{number}"
        number += 1
    return slug
