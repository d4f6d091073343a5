"""What the TUI shows, as plain data: ask events, answers, citations, manifests.

`app.tui.services` produces these from the engine; screens and widgets only read them.
Nothing here imports Textual or the engine, so the values are easy to build in tests and
the seam to the agents graphs stays one module wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PathTaken = Literal["Fast", "Slow"]
FileMode = Literal["full", "signatures", "omitted"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The model answering: its name, backend (embedded, openai, scripted) and context."""

    name: str
    backend: str
    context: int


@dataclass(frozen=True, slots=True)
class IndexSummary:
    """The outcome of an index update."""

    files: int
    definitions: int
    parsed: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A file of the repository for the file tree; `secret` says why it is never packed."""

    path: str
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class Symbol:
    """A definition from the index, for jump-to-symbol (best ranked first)."""

    name: str
    kind: str
    path: str
    line: int
    scope: str | None = None

    @property
    def qualified(self) -> str:
        """`Scope.name`, or the name alone."""
        return f"{self.scope}.{self.name}" if self.scope else self.name


@dataclass(frozen=True, slots=True)
class FileText:
    """A file to show in the code viewer, or `note` saying why its text is not shown."""

    path: str
    text: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Citation:
    """A `path:line` claim in an answer, checked against the files.

    `valid` citations become links; `problem` says what is wrong with the others.
    """

    raw: str
    path: str
    line: int
    end_line: int | None = None
    valid: bool = False
    snippet: str = ""
    problem: str | None = None

    @property
    def href(self) -> str:
        """The link target the answer's Markdown uses for this citation."""
        from urllib.parse import quote

        return "cite:" + quote(f"{self.path}:{self.line}")


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A span the model read (number `number` in its prompt): where, which definition
    (`name`, None for a window of lines), and its first line."""

    number: int
    path: str
    line: int
    end_line: int
    name: str | None = None
    snippet: str = ""

    @property
    def where(self) -> str:
        """`path:line-end_line`."""
        tail = f"-{self.end_line}" if self.end_line != self.line else ""
        return f"{self.path}:{self.line}{tail}"


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """One file of the repository and what the model saw of it."""

    path: str
    tokens: int
    mode: FileMode
    reason: str | None
    section: str

    @property
    def is_secret(self) -> bool:
        """Whether it was left out because it is or holds a secret."""
        return bool(self.reason and self.reason.startswith("secret"))


@dataclass(frozen=True, slots=True)
class ManifestSpan:
    """A numbered span sent with the question: where, which definition, its tokens."""

    number: int
    path: str
    line: int
    end_line: int
    name: str | None
    tokens: int


@dataclass(frozen=True, slots=True)
class ContextManifest:
    """What went into the model's context for one request.

    `pack_tokens` is the packed repository, `spans_tokens` the spans with numbered lines
    that citations point at (`spans`); `budget` is the repository text the prompt could
    hold, `model.context` the model's whole window. `focused`: the repository did not
    fit, so the question chose what went in.
    """

    query: str
    model: ModelInfo
    budget: int
    pack_tokens: int
    spans_tokens: int
    files: tuple[ManifestFile, ...]
    spans: tuple[ManifestSpan, ...] = ()
    focused: bool = False

    @property
    def used(self) -> int:
        """Tokens of repository context sent (pack and spans)."""
        return self.pack_tokens + self.spans_tokens

    def tokens_in(self, mode: FileMode) -> int:
        """Tokens of the files packed in `mode`."""
        return sum(f.tokens for f in self.files if f.mode == mode)

    def count(self, mode: FileMode) -> int:
        """How many files were packed in `mode`."""
        return sum(f.mode == mode for f in self.files)

    @property
    def left_out(self) -> tuple[ManifestFile, ...]:
        """Files not shown whole, secrets first."""
        rest = [f for f in self.files if f.mode != "full"]
        return tuple(sorted(rest, key=lambda f: (not f.is_secret, f.mode != "omitted", f.path)))


@dataclass(frozen=True, slots=True)
class Answer:
    """A finished answer: its text, the checked citations, its sources (the spans the
    model read, best first) and what it cost.

    `model` is "none" when no model wrote it (the ranked code spans are the answer);
    `error` says why, when a model was configured but failed. `cached_prompt_tokens` of
    the `prompt_tokens` came from the server's context cache.
    """

    question: str
    content: str
    markdown: str
    citations: tuple[Citation, ...]
    path: PathTaken
    model: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    tokens_per_second: float
    warnings: tuple[str, ...] = ()
    error: str | None = None
    cached_prompt_tokens: int = 0
    sources: tuple[SourceSpan, ...] = ()


@dataclass(frozen=True, slots=True)
class Stage:
    """A step of the pipeline began or progressed (`total` None: no measure of progress)."""

    name: str
    done: int | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class RouteChosen:
    """Which path the request takes, and why."""

    path: PathTaken
    reason: str


@dataclass(frozen=True, slots=True)
class ContextReady:
    """The context was packed: the manifest of what the model will see."""

    manifest: ContextManifest


@dataclass(frozen=True, slots=True)
class AnswerText:
    """New answer text, streamed."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningText:
    """New reasoning (thinking) text, streamed."""

    text: str


@dataclass(frozen=True, slots=True)
class AnswerReady:
    """The answer is complete."""

    answer: Answer


AskEvent = (Stage | IndexSummary | RouteChosen | ContextReady | AnswerText | ReasoningText
            | AnswerReady)


@dataclass(frozen=True, slots=True)
class Catalog:
    """What the index lists: files for the tree, symbols for jump-to-symbol."""

    files: tuple[TreeEntry, ...]
    symbols: tuple[Symbol, ...]
