"""BM25 full-text search over code spans, with tantivy.

Tantivy (a Rust search engine) is used rather than an in-memory BM25 such as bm25s
because it updates incrementally — an edited file replaces only its own documents —
and keeps its index on disk, so a one-file update costs milliseconds, not a rebuild.
Documents are keyed by blob sha: a renamed file keeps its documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import tantivy

from tools.repo.grams import STOPWORDS

# Words of code: "ConnectionPool" → connection, pool; "pool_timeout" → pool, timeout.
# (Rust's regex has no look-ahead, so an acronym prefix stays whole: "HTTPServer".)
CODE_WORD = r"\p{Lu}+[\p{Ll}\p{Lm}]*|[\p{Ll}\p{Lm}\p{Lo}]+|\p{N}+"
_QUERY_WORD = re.compile(r"[^\W_]+")
TOKENIZER = "code"
WRITER_HEAP_BYTES = 128_000_000


def _analyzer() -> tantivy.TextAnalyzer:
    """Code words, lower-cased and stemmed (so "connections" finds "connection")."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(CODE_WORD))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@dataclass(frozen=True, slots=True)
class SpanDoc:
    """A span of one blob, as stored in the full-text index."""

    sha: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class TextHit:
    """A BM25 hit: the blob, its span, and the score."""

    sha: str
    start: int
    end: int
    score: float


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("blob", stored=True, tokenizer_name="raw")
    builder.add_integer_field("start", stored=True)
    builder.add_integer_field("end", stored=True)
    builder.add_text_field("body", stored=False, tokenizer_name=TOKENIZER)
    return builder.build()


class FullTextIndex:
    """The tantivy index in one directory."""

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) the index at ``path``."""
        path.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(_schema(), path=str(path))
        self._index.register_tokenizer(TOKENIZER, _analyzer())

    def replace(self, remove: Iterable[str], add: Iterable[SpanDoc]) -> None:
        """Delete every document of the ``remove`` blobs, add ``add``, commit once."""
        add = list(add)
        stale = set(remove) | {doc.sha for doc in add}
        if not stale:
            return
        writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=2)
        for sha in sorted(stale):
            writer.delete_documents_by_term("blob", sha)
        for doc in add:
            writer.add_document(
                tantivy.Document(blob=doc.sha, start=doc.start, end=doc.end, body=doc.text)
            )
        writer.commit()
        writer.wait_merging_threads()

    def search(self, query: str, limit: int) -> list[TextHit]:
        """Best ``limit`` spans for a free-text query, by BM25 score."""
        # All-caps words are lower-cased so that AND/OR/NOT are never query operators.
        terms = [
            w.lower() if w.isupper() else w
            for w in _QUERY_WORD.findall(query)
            if w.lower() not in STOPWORDS
        ]
        if not terms or limit <= 0:
            return []
        self._index.reload()
        parsed = self._index.parse_query(" ".join(terms), ["body"])
        searcher = self._index.searcher()
        hits = []
        for score, address in searcher.search(parsed, limit).hits:
            doc = searcher.doc(address)
            hits.append(TextHit(doc["blob"][0], doc["start"][0], doc["end"][0], float(score)))
        return hits
