"""Words and hashed n-grams of identifiers and string literals, for exact lookup.

``ConnectionPool``, ``connection_pool`` and the phrase "connection pool" all normalise to
the same words, so a question in plain language finds the identifier.  Each n-gram is
hashed to a fixed 64-bit key (16 hex digits), so one lookup costs the same whatever the
gram's length; the keys are the terms of the exact-lookup field of the search index.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

_WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_DOTTED_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
MAX_GRAM = 3
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it its of on or that the "
    "this to was what when where which who why will with".split()
)


def words(text: str) -> list[str]:
    """Lower-case words of ``text``, splitting identifiers at case and underscore changes."""
    return [w.lower() for token in _TOKEN_RE.findall(text) for w in _WORD_RE.findall(token)]


@lru_cache(maxsize=1 << 17)  # grams repeat across a repository's literals and names
def gram_key(gram: str) -> str:
    """The 64-bit hash of a normalised gram, as 16 hex digits."""
    return hashlib.blake2b(gram.encode(), digest_size=8).hexdigest()


def identifier_grams(name: str) -> set[str]:
    """Grams under which an identifier is found: itself (lower-cased) and its word phrase."""
    grams = {name.lower()}
    parts = words(name)
    if len(parts) > 1:
        grams.add(" ".join(parts))
    return grams


def phrase_grams(text: str, max_n: int = MAX_GRAM) -> set[str]:
    """Word n-grams (n ≤ ``max_n``) of free text, dropping unigrams that are stopwords."""
    return word_grams(words(text), max_n)


def word_grams(parts: list[str], max_n: int = MAX_GRAM) -> set[str]:
    """Word n-grams (n ≤ ``max_n``) of a word sequence, without stopword unigrams."""
    grams: set[str] = set()
    for n in range(1, max_n + 1):
        for i in range(len(parts) - n + 1):
            gram = parts[i : i + n]
            if n == 1 and (gram[0] in STOPWORDS or len(gram[0]) < 2):
                continue
            grams.add(" ".join(gram))
    return grams


def query_grams(query: str) -> dict[str, int]:
    """Grams to look up for a query, each with its length in words (longer is stronger).

    Phrases of two or three words are looked up whatever they are; a single word only
    when it is written like an identifier (``pool_timeout``, ``QueuePool``, ``utf8``,
    ``Session.flush``):
    plain English words are BM25's business, and as exact keys they only add noise.
    """
    grams = {g: len(g.split()) for g in phrase_grams(query) if " " in g}
    dotted = {part for chain in _DOTTED_RE.findall(query) for part in chain.split(".")}
    for token in _TOKEN_RE.findall(query):
        if token in dotted or _looks_like_identifier(token):
            grams.setdefault(token.lower(), max(1, len(words(token))))
            for gram in identifier_grams(token):
                grams.setdefault(gram, max(1, len(gram.split())))
    return grams


def _looks_like_identifier(token: str) -> bool:
    """snake_case, CamelCase/camelCase, or letters with digits."""
    inner = token.strip("_")
    return (
        "_" in inner
        or any(c.isupper() for c in inner[1:]) and any(c.islower() for c in inner)
        or (any(c.isdigit() for c in inner) and any(c.isalpha() for c in inner))
    )
