"""One exchange of the Ask conversation: the question, the streamed answer, the model's
citations, and the sources it read."""

from __future__ import annotations

from urllib.parse import unquote

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Markdown, OptionList, Static
from textual.widgets.markdown import MarkdownStream
from textual.widgets.option_list import Option

from app.tui.messages import OpenLocation
from app.tui.state import Answer, Citation, PathTaken, SourceSpan

REASONING_LINES = 3  # of the model's thinking, shown while it thinks


def parse_href(href: str) -> tuple[str, int] | None:
    """`(path, line)` of a citation link (`cite:path:line`), None for other links."""
    if not href.startswith("cite:"):
        return None
    path, _, line = unquote(href.removeprefix("cite:")).rpartition(":")
    return (path, int(line)) if path and line.isdigit() else None


def citation_label(citation: Citation) -> str:
    """One row of the citations list (markup)."""
    where = escape(f"{citation.path}:{citation.line}")
    if citation.valid:
        return f"[b]{where}[/]  [dim]{escape(citation.snippet)}[/]"
    return f"[strike]{where}[/]  [dim]✗ {escape(citation.problem or '')}[/]"


def source_label(source: SourceSpan) -> str:
    """One row of the sources list (markup): its number, where, and what it holds."""
    what = source.name or source.snippet
    return f"[b]{escape(f'[{source.number}] {source.where}')}[/]  [dim]{escape(what)}[/]"


class AnswerView(Vertical):
    """A question and its answer; the answer streams in, then its citations turn to links
    and the spans the model read are listed below them, best first."""

    def __init__(self, question: str) -> None:
        """Start with the question and an empty answer."""
        super().__init__(classes="exchange")
        self.question = question
        self._stream: MarkdownStream | None = None
        self._reasoning = ""
        self.answer: Answer | None = None

    def compose(self) -> ComposeResult:
        """Question, meta line, answer, citations, sources, error."""
        yield Static(f"[b]›[/] {escape(self.question)}", classes="question")
        yield Static("", classes="meta")
        yield Static("", classes="reasoning")
        yield Markdown("", classes="answer", open_links=False)
        yield OptionList(classes="citations")
        yield Static("[b]Sources[/] [dim]what the model read, best first[/]",
                     classes="sources-title")
        yield OptionList(classes="sources")
        yield Static("", classes="error")

    def on_mount(self) -> None:
        """Everything below the answer stays hidden until there is something to show."""
        for hidden in (".reasoning", ".citations", ".sources-title", ".sources", ".error"):
            self.query_one(hidden).display = False

    def set_meta(self, text: str) -> None:
        """The line above the answer: path taken, model, speed (markup)."""
        self.query_one(".meta", Static).update(text)

    def show_route(self, path: PathTaken, model: str) -> None:
        """Say which path answers."""
        self.set_meta(f"[$accent]{path} Path[/] · {escape(model)} · [dim]thinking…[/]")

    def add_reasoning(self, text: str) -> None:
        """Add streamed reasoning; its last lines show, dimmed, above the answer."""
        self._reasoning += text
        tail = "\n".join(self._reasoning.strip().splitlines()[-REASONING_LINES:])
        reasoning = self.query_one(".reasoning", Static)
        reasoning.update(escape(tail))
        reasoning.display = True

    async def append(self, text: str) -> None:
        """Add streamed answer text."""
        if self._stream is None:
            self._stream = Markdown.get_stream(self.query_one(".answer", Markdown))
        await self._stream.write(text)

    async def _stop(self) -> None:
        """Flush and stop the stream."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    async def finish(self, answer: Answer) -> None:
        """Show the final answer with linked citations, the list of citations and the
        sources. Without a model the sources are the answer, so they are listed once."""
        await self._stop()
        self.answer = answer
        await self.query_one(".answer", Markdown).update(answer.markdown or "*(no answer)*")
        valid = sum(c.valid for c in answer.citations)
        self.set_meta(
            f"[$accent]{answer.path} Path[/] · {escape(answer.model)} · "
            f"{answer.completion_tokens} tokens in {answer.seconds:.1f}s · "
            f"{answer.tokens_per_second:.1f} tok/s · "
            f"{valid}/{len(answer.citations)} citations verified")
        cited = answer.citations if answer.model != "none" else ()
        citations = self.query_one(".citations", OptionList)
        citations.clear_options()
        citations.add_options(Option(citation_label(c), id=f"{c.path}:{c.line}",
                                     disabled=not c.valid) for c in cited)
        citations.display = bool(cited)
        sources = self.query_one(".sources", OptionList)
        sources.clear_options()
        sources.add_options(Option(source_label(s), id=f"{s.path}:{s.line}")
                            for s in answer.sources)
        sources.display = self.query_one(".sources-title").display = bool(answer.sources)
        if answer.error:
            error = self.query_one(".error", Static)
            error.update(escape(answer.error))
            error.display = True

    async def fail(self, message: str, cancelled: bool = False) -> None:
        """Show why there is no (complete) answer."""
        await self._stop()
        error = self.query_one(".error", Static)
        error.update(escape(message))
        error.set_class(cancelled, "-cancelled")
        error.display = True
        self.set_meta("[dim]cancelled[/]" if cancelled else "[$error]failed[/]")

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        """A citation link opens the code viewer; other links open in the browser."""
        event.stop()
        target = parse_href(event.href)
        if target is not None:
            self.post_message(OpenLocation(*target))
        else:
            self.app.open_url(event.href)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter (or a click) on a citation or a source opens it."""
        event.stop()
        path, _, line = (event.option.id or "").rpartition(":")
        if path and line.isdigit():
            self.post_message(OpenLocation(path, int(line)))
