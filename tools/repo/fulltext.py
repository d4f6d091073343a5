"""The search index of code spans, with tantivy: BM25 over text, exact lookup of grams.

Tantivy (a Rust search engine) is used rather than an in-memory BM25 such as bm25s
because it updates incrementally — an edited file replaces only its own documents —
and keeps its index on disk, so a one-file update costs milliseconds, not a rebuild.
Each span is one document: its text (``body``: words split at punctuation and
underscores, lower-cased and stemmed by tantivy's ``en_stem``; the extractor appends the
words of the span's CamelCase identifiers, so ``ConnectionPool`` is also found as
"connection pool"),
the hashed grams of its identifiers and string literals (``grams``: 64-bit keys as
space-separated hex words, each an exact term; the inverted index maps a key to the spans
holding it), and the grams of the names it defines (``defines``), which weigh more: a
name is best answered by its definition.
Documents are keyed by blob sha: a renamed file keeps its documents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import tantivy

from tools.repo.grams import STOPWORDS

TOKENIZER = "en_stem"  # tantivy's built-in: twice as fast as a regex tokenizer
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
WRITER_HEAP_BYTES = 128_000_000
DEFINITION_BOOST = 3.0
RARE_DOCS = 3
RARE_BOOST = 10.0


def camel_words(text: str) -> str:
    """``text`` with CamelCase split into words ("ConnectionPool" → "Connection Pool")."""
    return _CAMEL.sub(" ", text)


def is_camel(name: str) -> bool:
    """Whether a name changes case inside a word (``CartView``, ``HTTPServer``): whether
    ``camel_words`` would split it."""
    return _CAMEL.search(name) is not None


def _query_analyzer() -> tantivy.TextAnalyzer:
    """The same analysis as ``en_stem``, to turn a query into the index's terms."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@dataclass(frozen=True, slots=True)
class SpanDoc:
    """A span of one blob, as stored in the search index."""

    sha: str
    start: int
    end: int
    text: str
    grams: str  # lookup keys of its identifiers and literals, space-separated
    defines: str  # lookup keys of the names it defines, space-separated


@dataclass(frozen=True, slots=True)
class TextHit:
    """A BM25 hit: the blob, its span, and the score."""

    sha: str
    start: int
    end: int
    score: float


class SearchIndexError(Exception):
    """The search index on disk cannot be opened (another schema, or damaged)."""


class SpanWriter:
    """Adds and deletes span documents within one tantivy commit.

    The tantivy writer is opened on the first real change, so an update that changes
    nothing (the common case) neither opens nor commits one.
    """

    def __init__(self, index: tantivy.Index) -> None:
        self._index = index
        self._writer: tantivy.IndexWriter | None = None

    def add(self, docs: Iterable[SpanDoc]) -> None:
        """Add documents (the caller deletes a blob's old documents first)."""
        for doc in docs:
            self._open().add_document(tantivy.Document(
                blob=doc.sha, start=doc.start, end=doc.end, body=doc.text, grams=doc.grams,
                defines=doc.defines,
            ))

    def delete(self, shas: Iterable[str]) -> None:
        """Delete every document of these blobs."""
        for sha in sorted(set(shas)):
            self._open().delete_documents_by_term("blob", sha)

    def _open(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=2)
        return self._writer

    def rollback(self) -> None:
        """Drop what was added or deleted since the writer opened."""
        if self._writer is not None:
            self._writer.rollback()

    def commit(self) -> None:
        """Commit the changes, if any, and wait for segment merges to finish."""
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("blob", stored=True, tokenizer_name="raw")
    builder.add_integer_field("start", stored=True)
    builder.add_integer_field("end", stored=True)
    builder.add_text_field("body", stored=False, tokenizer_name=TOKENIZER, index_option="freq")
    builder.add_text_field("grams", stored=False, tokenizer_name="whitespace",
                           index_option="basic")
    builder.add_text_field("defines", stored=False, tokenizer_name="whitespace",
                           index_option="basic")
    return builder.build()


class FullTextIndex:
    """The tantivy index in one directory."""

    def __init__(self, path: Path, create: bool = True) -> None:
        """Open the index at ``path``, creating it if needed and ``create`` is true;
        SearchIndexError when it cannot be opened (damaged, or missing without ``create``)."""
        if not create and not (path / "meta.json").is_file():
            raise SearchIndexError(f"{path}: missing")
        path.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        try:
            self._index = tantivy.Index(self._schema, path=str(path))
        except ValueError as error:
            raise SearchIndexError(f"{path}: {error}") from error
        self._analyzer = _query_analyzer()

    @contextmanager
    def writer(self) -> Iterator[SpanWriter]:
        """A writer whose changes are committed together on exit (rolled back on error)."""
        writer = SpanWriter(self._index)
        try:
            yield writer
        except BaseException:
            writer.rollback()
            raise
        writer.commit()

    def search(self, query: str, limit: int) -> list[TextHit]:
        """Best ``limit`` spans for a free-text query, by BM25 with rare words emphasised.

        Each query word is a term query boosted by its IDF (so its weight grows with the
        square of its rarity), and a word found in at most RARE_DOCS spans — a codename,
        an error code, a unique identifier — is boosted RARE_BOOST times more: it is
        almost always what the question is about, and plain BM25 lets three common
        words in a short span outvote it.
        """
        if limit <= 0:
            return []
        self._index.reload()
        searcher = self._index.searcher()
        total = searcher.num_docs
        clauses = []
        terms = self._analyzer.analyze(f"{query} {camel_words(query)}")
        for term in sorted(set(terms) - STOPWORDS):
            frequency = searcher.doc_freq("body", term)
            if not frequency:
                continue
            boost = math.log(1 + (total - frequency + 0.5) / (frequency + 0.5))
            if frequency <= RARE_DOCS:
                boost *= RARE_BOOST
            term_query = tantivy.Query.term_query(self._schema, "body", term)
            clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(term_query, boost)))
        if not clauses:
            return []
        return self._run(tantivy.Query.boolean_query(clauses), limit)

    def lookup(self, keys: dict[str, float], limit: int) -> list[TextHit]:
        """Spans holding the most (and the rarest) of the gram ``keys``, each key weighted.

        Scored by BM25 over the gram fields: a span scores for each key it holds, rare
        keys count more, a key's weight (its n-gram length) multiplies its share, and a
        key the span defines counts DEFINITION_BOOST times more.
        """
        if not keys or limit <= 0:
            return []
        clauses = [
            (tantivy.Occur.Should, tantivy.Query.boost_query(
                tantivy.Query.term_query(self._schema, field, key), weight * boost
            ))
            for key, weight in sorted(keys.items())
            for field, boost in (("grams", 1.0), ("defines", DEFINITION_BOOST))
        ]
        return self._run(tantivy.Query.boolean_query(clauses), limit)

    def _run(self, query: tantivy.Query, limit: int) -> list[TextHit]:
        """Run a query on the latest committed state."""
        self._index.reload()
        searcher = self._index.searcher()
        hits = []
        for score, address in searcher.search(query, limit).hits:
            doc = searcher.doc(address)
            hits.append(TextHit(doc["blob"][0], doc["start"][0], doc["end"][0], float(score)))
        return hits
