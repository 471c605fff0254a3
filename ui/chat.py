"""The Gradio chat: streamed cited answers, a sources panel, thumbs up/down, example questions.

Everything that comes from a document is escaped before it is put in a page: documents
are data and may contain markup (``<script>``, ``<img onerror>``, ``javascript:`` links) or
Markdown (``[text](url)``, ``![pixel](url)``, ``**bold**``). The chat bubbles are plain text:
the Chatbot renders no Markdown and no LaTeX, and each message's content is the text itself,
HTML-escaped, because Gradio still reads a message as HTML (see `bubble_content`).
Each browser session keeps its own history in ``gr.State``; nothing is shared between users.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import gradio as gr

from assistant.chain import InvalidQuestion, validate_question
from assistant.config import Settings
from assistant.types import Answer, AnswerDelta, ChunkIndex, Citation, Hit, Question, StoredDocument
from ui.ask_request import BadRequest, ask_question
from ui.feedback import VOTE_DOWN, VOTE_NONE, VOTE_UP, FeedbackStore

logger = logging.getLogger(__name__)

#: Shown as clickable examples while the chat is empty.
EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "How many children were affected by sexual deepfakes according to UNICEF?",
    "Which countries restricted Grok?",
    "What do regulators expect from AI companies?",
)

#: Characters of document text shown on each side of a quote in the sources panel.
PASSAGE_CONTEXT_CHARS = 220

_BLANK_LINES = re.compile(r"\n\s*\n")

SOURCES_PLACEHOLDER = '<div class="cl-sources-empty">Sources for the latest answer appear here.</div>'

ERROR_TEXT = "Sorry, something went wrong while answering. Please try again."

#: Passed to gr.mount_gradio_app (Gradio 6 takes css at mount/launch time, not on Blocks).
CHAT_CSS = """
.cl-header h1 { margin: 0 0 .2rem 0; font-size: 1.5rem; }
.cl-header p { margin: 0; opacity: .8; }
.cl-sources { display: flex; flex-direction: column; gap: .75rem; }
.cl-sources-empty { opacity: .7; font-style: italic; padding: .5rem 0; }
.cl-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .75rem; }
.cl-source-head { display: flex; gap: .5rem; align-items: baseline; flex-wrap: wrap; }
.cl-n { white-space: nowrap; font-weight: 700; background: var(--color-accent-soft);
  border-radius: 4px; padding: 0 .35rem; }
.cl-title { font-weight: 600; }
.cl-where { font-size: .85em; opacity: .75; word-break: break-all; }
.cl-passage { margin: .4rem 0 0 0; line-height: 1.5; font-size: .95em; white-space: pre-wrap; }
.cl-passage mark { background: #fde68a; color: #111; padding: 0 .1rem; border-radius: 2px; }
.cl-ref { font-weight: 700; font-size: .75em; margin-left: .1rem; }
.cl-banner { border-radius: 8px; padding: .5rem .75rem; font-size: .95em; }
.cl-refused, .cl-info { background: #eef2ff; border: 1px solid #c7d2fe; color: #312e81; }
.cl-conflict { background: #fff7ed; border: 1px solid #fdba74; color: #7c2d12; }
"""

#: Passed to gr.mount_gradio_app(js=...): run once when the chat page loads.
#: Gradio's copy button copies a message's raw content, which is HTML-escaped text (see
#: bubble_content), so it copied "&lt;b&gt;" and "&amp;"; this gives the clipboard the text the
#: bubble shows. Only clicks inside the chatbot are affected.
CHAT_JS = """
() => {
  const decode = (content) => {
    const box = document.createElement("textarea");  // RCDATA: entities are decoded, no tag is parsed
    box.innerHTML = content;
    return box.value;
  };
  let inChat = false;  // true while a click inside the chatbot is being handled
  window.addEventListener("click", (ev) => {
    inChat = ev.target instanceof Element && ev.target.closest("#cl-chatbot") !== null;
  }, true);
  window.addEventListener("click", () => { inChat = false; });
  const clipboard = navigator.clipboard;
  if (clipboard && typeof clipboard.writeText === "function") {
    const write = clipboard.writeText.bind(clipboard);
    clipboard.writeText = (text) => write(inChat ? decode(String(text)) : text);
  }
  // Without the Clipboard API (plain http from another host) Gradio copies a selected textarea.
  document.addEventListener("copy", (ev) => {
    const box = ev.target;
    if (!inChat || !(box instanceof HTMLTextAreaElement) || !ev.clipboardData) return;
    ev.clipboardData.setData("text/plain", decode(box.value.slice(box.selectionStart, box.selectionEnd)));
    ev.preventDefault();
  });
}
"""


# ------------------------------------------------------------------------------ rendering
def chain_index(chain: Any) -> ChunkIndex | None:
    """The chain's ChunkIndex (`chain.index`), or None for a chain that exposes none."""
    candidate = getattr(chain, "index", None)
    return candidate if isinstance(candidate, ChunkIndex) else None


def safe_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, else None (rejects javascript:, data:, relative)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


@dataclass
class _Card:
    """One source card: the citations it shows and the passage of document text around them.

    Citations whose passages overlap in the same document share one card: a FAQ answer's two
    adjacent sentences are one passage with two highlights, not two near-identical cards.
    """

    citations: list[Citation]
    text: str  # the document text (or a retrieved chunk's) the passage is cut from
    lo: int  # the passage is text[lo:hi]; quotes are at citation offsets minus `base`
    hi: int
    base: int = 0

    def overlaps(self, other: _Card) -> bool:
        return (
            self.citations[0].doc_id == other.citations[0].doc_id
            and self.citations[0].url == other.citations[0].url  # a card has one link
            and self.text is other.text
            and other.lo < self.hi
            and self.lo < other.hi
            and not any(a.start < b.end and b.start < a.end for a in self.citations for b in other.citations)
        )

    def segments(self) -> list[tuple[str, int | None]]:
        """The passage as (text, n) pieces: n is the citation a highlighted quote belongs to."""
        pieces: list[tuple[str, int | None]] = []
        at = self.lo
        for c in sorted(self.citations, key=lambda c: c.start):
            start = c.start - self.base
            pieces.append((self.text[at:start], None))
            pieces.append((c.quote, c.n))
            at = start + len(c.quote)
        pieces.append((self.text[at : self.hi], None))
        return pieces


def _card(
    citation: Citation,
    get_document: Callable[[str], StoredDocument | None] | None,
    hits: Sequence[Hit],
) -> _Card:
    """The card for one citation: stored document text around the quote, else a retrieved chunk."""
    if get_document is not None:
        try:
            doc = get_document(citation.doc_id)
        except Exception:  # the panel must still render if the store hiccups
            logger.exception("could not load document %s for the sources panel", citation.doc_id)
            doc = None
        if doc is not None and doc.text[citation.start : citation.end] == citation.quote:
            text, start, end = doc.text, citation.start, citation.end
            lo = max(0, start - PASSAGE_CONTEXT_CHARS)
            hi = min(len(text), end + PASSAGE_CONTEXT_CHARS)
            # Snap the cut to whitespace so the passage doesn't start or end mid-word.
            if lo > 0:
                space = text.find(" ", lo, start)
                lo = space + 1 if space != -1 else lo
            if hi < len(text):
                space = text.rfind(" ", end, hi)
                hi = space if space != -1 else hi
            return _Card([citation], text, lo, hi)
    for hit in hits:
        chunk = hit.chunk
        if chunk.doc_id == citation.doc_id and chunk.start <= citation.start and citation.end <= chunk.end:
            return _Card([citation], chunk.text, 0, len(chunk.text), base=chunk.start)
    return _Card([citation], citation.quote, 0, len(citation.quote), base=citation.start)


def _cards(answer: Answer, get_document: Callable[[str], StoredDocument | None] | None) -> list[_Card]:
    """One card per citation, merging those whose passages overlap (in citation order)."""
    documents: dict[str, StoredDocument | None] = {}

    def cached(doc_id: str) -> StoredDocument | None:
        if doc_id not in documents and get_document is not None:
            documents[doc_id] = get_document(doc_id)
        return documents.get(doc_id)

    cards: list[_Card] = []
    for citation in answer.citations:
        card = _card(citation, cached if get_document is not None else None, answer.hits)
        into = next((c for c in cards if c.overlaps(card)), None)
        if into is None:
            cards.append(card)
        else:
            into.citations.append(citation)
            into.lo, into.hi = min(into.lo, card.lo), max(into.hi, card.hi)
    return cards


def _passage_html(card: _Card) -> str:
    """The card's passage, escaped, its quotes in <mark>; blank lines closed up for the narrow panel."""
    pieces = card.segments()
    shared = len(card.citations) > 1
    # A passage cut from a longer text says so; a chunk or a bare quote is shown whole.
    out = ["… " if card.lo > 0 else ""]
    for text, n in pieces:
        if n is not None:
            # In a shared card each highlight says which marker in the answer it is.
            label = f'<sup class="cl-ref">[{n}]</sup>' if shared else ""
            out.append(f"<mark>{html.escape(text)}</mark>{label}")
        else:
            out.append(html.escape(_BLANK_LINES.sub("\n", text)))
    out.append(" …" if card.hi < len(card.text) else "")
    return "".join(out)


def render_sources(answer: Answer, get_document: Callable[[str], StoredDocument | None] | None = None) -> str:
    """The sources panel HTML for `answer`: banners for refusal/conflict, then the source cards.

    Citations whose passages overlap in one document share a card ("[1] [2]", two highlights).
    Every piece of document text is html-escaped; only http(s) links become anchors.
    """
    parts: list[str] = ['<div class="cl-sources">']
    if answer.refused:
        parts.append(
            '<div class="cl-banner cl-refused" role="status">ℹ️ No answer in the documents: '
            "nothing was made up. Try rephrasing, or ask about something the documents cover.</div>"
        )
    # Most notes are information (why it was refused, which question is unanswered); warnings
    # (the sources differ, the language model's sentences were dropped) are styled apart.
    for note in answer.notes:
        kind, glyph = ("cl-conflict", "⚠️") if note in answer.warnings else ("cl-info", "ℹ️")
        parts.append(f'<div class="cl-banner {kind}" role="note">{glyph} {html.escape(note)}</div>')
    for card in _cards(answer, get_document):
        c = card.citations[0]
        url = safe_url(c.url)
        if url is not None:
            where = (
                f'<a class="cl-where" href="{html.escape(url, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer nofollow">{html.escape(c.source)}</a>'
            )
        else:
            where = f'<span class="cl-where">{html.escape(c.source)}</span>'
        numbers = "".join(f'<span class="cl-n">[{x.n}]</span>' for x in card.citations)
        parts.append(
            f'<div class="cl-source" data-n="{" ".join(str(x.n) for x in card.citations)}">'
            f'<div class="cl-source-head">{numbers}'
            f'<span class="cl-title">{html.escape(c.title)}</span>{where}</div>'
            f'<p class="cl-passage">{_passage_html(card)}</p></div>'
        )
    if not answer.citations and not answer.refused and not answer.notes:
        parts.append(SOURCES_PLACEHOLDER)
    parts.append("</div>")
    return "".join(parts)


def format_answer_text(answer: Answer) -> str:
    """The chat bubble's plain text: the answer (with its [n] markers), then its notes.

    A refusal and its reasons read as one line of information; under an answer, each note is
    a paragraph marked as information (ℹ️) or as a warning (⚠️, e.g. the sources differ).
    """
    if answer.refused:
        return " ".join([f"ℹ️ {answer.text}", *answer.notes])
    notes = [f"{'⚠️' if note in answer.warnings else 'ℹ️'} {note}" for note in answer.notes]
    return "\n\n".join([answer.text, *notes])


def bubble_content(text: str) -> str:
    """A chat message's content for plain `text`.

    With render_markdown=False Gradio 6 still parses a message as HTML (then sanitizes it), so
    `<b>` or `&amp;` in a document would be read as markup: escaping makes it show as written.
    (The copy button copies the content; CHAT_JS gives the clipboard the text back.)
    """
    return html.escape(text, quote=False)


# ------------------------------------------------------------------------------ handlers
class ChatHandlers:
    """The chat's event handlers, kept apart from the layout so tests can call them directly."""

    def __init__(self, chain: Any, settings: Settings, feedback: FeedbackStore | None = None) -> None:
        self.chain = chain
        self.settings = settings
        self.feedback = feedback or FeedbackStore(settings.feedback_path)
        index = chain_index(chain)
        self._get_document: Callable[[str], StoredDocument | None] | None = (
            index.get_document if index is not None else None
        )

    def respond(
        self, message: str, messages: list[dict[str, Any]] | None, turns: list[dict[str, Any]] | None
    ) -> Iterator[tuple[str, list[dict[str, Any]], str, list[dict[str, Any]]]]:
        """Stream one answer: yields (textbox value, chat messages, sources HTML, turns)."""
        messages = list(messages or [])
        turns = list(turns or [])
        try:
            question = validate_question(message or "", self.settings.max_question_chars)
        except InvalidQuestion as exc:
            gr.Warning(str(exc))
            yield message, messages, gr.skip(), turns
            return
        history = [t["question"] for t in turns][-self.settings.max_history :] if self.settings.max_history else []
        messages.append({"role": "user", "content": bubble_content(question)})
        messages.append({"role": "assistant", "content": "…"})
        yield "", messages, gr.skip(), turns
        streamed = ""
        final: Answer | None = None
        try:
            for piece in self.chain.stream(Question(question=question, history=tuple(history))):
                if isinstance(piece, AnswerDelta):
                    streamed += piece.text
                    messages[-1] = {"role": "assistant", "content": bubble_content(streamed)}
                    yield "", messages, gr.skip(), turns
                elif isinstance(piece, Answer):
                    final = piece
        except Exception:
            logger.exception("answering failed")
            final = None
        if final is None:
            messages[-1] = {"role": "assistant", "content": ERROR_TEXT}
            yield "", messages, gr.skip(), turns
            return
        messages[-1] = {"role": "assistant", "content": bubble_content(format_answer_text(final))}
        # A failed answer leaves its two messages but no turn, so each turn notes its message.
        turns.append(
            {"question": question, "history": history, "answer": final.to_json(), "message": len(messages) - 1}
        )
        yield "", messages, render_sources(final, self._get_document), turns

    def on_like(self, turns: list[dict[str, Any]] | None, data: gr.LikeData) -> tuple[dict[str, Any], str | None]:
        """Record a thumbs-down (and open the optional comment box), or take one back.

        Un-clicking a thumbs-down, or switching to thumbs-up, records the answer's new vote
        under the same feedback_id, so the thumbs-down no longer stands. A thumbs-up on an
        answer never thumbed down is only logged. Returns (comment row update, pending feedback_id).
        """
        turn = self._turn_for(turns or [], data.index)
        if turn is None:
            return gr.update(visible=False), None
        if data.liked is False:
            return gr.update(visible=True), self.record_vote(turn, VOTE_DOWN)
        if data.liked is True:
            logger.info("thumbs up: %r", turn["question"])
        if turn.get("vote") == VOTE_DOWN:
            self.record_vote(turn, VOTE_UP if data.liked is True else VOTE_NONE)
        return gr.update(visible=False), None

    def record_vote(self, turn: dict[str, Any], vote: str, comment: str | None = None) -> str:
        """Record one chat turn's vote (its comment kept unless a new one is given); returns its feedback_id.

        The turn remembers its feedback_id, vote and comment (it lives in the session's state).
        """
        if comment is not None:
            turn["comment"] = comment
        turn["feedback_id"] = self.feedback.record(
            question=turn["question"],
            history=turn["history"],
            answer=turn["answer"],
            comment=turn.get("comment", "") if vote == VOTE_DOWN else "",
            feedback_id=turn.get("feedback_id"),
            vote=vote,
        )
        turn["vote"] = vote
        return str(turn["feedback_id"])

    def send_comment(
        self, comment: str, fid: str | None, turns: list[dict[str, Any]] | None
    ) -> tuple[dict[str, Any], str, str | None]:
        """Store the optional comment for the answer still thumbed down, then close the box."""
        if fid and comment.strip():
            for turn in reversed(turns or []):
                if turn.get("feedback_id") == fid and turn.get("vote") == VOTE_DOWN:
                    self.record_vote(turn, VOTE_DOWN, comment)
                    gr.Info("Thanks, your feedback was saved.")
                    break
        return gr.update(visible=False), "", None

    @staticmethod
    def _turn_for(turns: list[dict[str, Any]], index: int | tuple[int, int] | list[int]) -> dict[str, Any] | None:
        """The turn whose answer is chat message `index`; None for any other message (an error)."""
        i = index[0] if isinstance(index, (tuple, list)) else index
        return next((t for t in turns if t.get("message") == int(i)), None)

    def ask(self, question: str, history: list[str] | None = None) -> dict[str, Any]:
        """Answer a question with citations (same JSON as POST /api/ask).

        `history` holds the user's earlier questions, oldest first.
        """
        try:
            q = ask_question(question, history, self.settings)  # the checks POST /api/ask makes
        except BadRequest as exc:
            raise gr.Error(exc.message) from None
        answer: Answer = self.chain.invoke(q)
        return answer.to_json()


# ------------------------------------------------------------------------------ layout
def build_chat(chain: Any, settings: Settings, feedback: FeedbackStore | None = None) -> gr.Blocks:
    """The chat page: streamed answers with [n] markers, sources panel, feedback, examples.

    Only the `ask` endpoint is public in Gradio's API listing; UI events are private.
    """
    handlers = ChatHandlers(chain, settings, feedback)

    with gr.Blocks(title="citeline", fill_width=False) as demo:
        # Per browser session: [{"question", "history", "answer", "message", "feedback_id"?, "vote"?, "comment"?}]
        turns = gr.State([])
        pending = gr.State(None)  # feedback_id awaiting an optional comment
        with gr.Column(elem_classes="cl-header"):
            gr.HTML(
                "<h1>citeline</h1><p>Answers from your documents only. Every sentence cites a verbatim "
                "quote; if the documents don't say, it tells you so.</p>"
            )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=460,
                    # Plain text: a quote is shown as the document has it, never as Markdown
                    # (a live link, a remote image) or maths; sanitizing stays as a second guard.
                    sanitize_html=True,
                    render_markdown=False,
                    latex_delimiters=[],
                    allow_tags=False,
                    feedback_options=("Like", "Dislike"),
                    buttons=["copy"],
                    examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
                    placeholder="Ask a question about the documents, or pick an example.",
                    elem_id="cl-chatbot",
                )
                with gr.Row():
                    box = gr.Textbox(
                        placeholder="Ask a question…",
                        show_label=False,
                        scale=5,
                        min_width=180,
                        max_lines=4,
                        elem_id="cl-question",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="cl-ask")
                with gr.Row(visible=False) as comment_row:
                    comment = gr.Textbox(
                        placeholder="What was wrong with this answer? (optional)",
                        show_label=False,
                        scale=5,
                        min_width=180,
                        elem_id="cl-comment",
                    )
                    comment_btn = gr.Button("Send feedback", scale=1, min_width=70)
                clear = gr.Button("New conversation", size="sm", variant="secondary")
            with gr.Column(scale=2, min_width=300):
                gr.Markdown("### Sources")
                sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="cl-sources")

        ask_io: dict[str, Any] = {
            "fn": handlers.respond,
            "inputs": [box, chatbot, turns],
            "outputs": [box, chatbot, sources, turns],
            "api_visibility": "private",
        }
        box.submit(**ask_io)
        send.click(**ask_io)

        def pick_example(ev: gr.SelectData) -> str:
            return ev.value["text"] if isinstance(ev.value, dict) else str(ev.value)

        chatbot.example_select(
            pick_example,
            inputs=None,
            outputs=box,
            api_visibility="private",
        ).then(**ask_io)

        def on_like(turn_list: list[dict[str, Any]], data: gr.LikeData) -> tuple[Any, Any, Any]:
            row, fid = handlers.on_like(turn_list, data)  # updates the turn's vote in place
            return row, fid, turn_list

        chatbot.like(on_like, inputs=[turns], outputs=[comment_row, pending, turns], api_visibility="private")
        comment_ev: dict[str, Any] = {
            "fn": handlers.send_comment,
            "inputs": [comment, pending, turns],
            "outputs": [comment_row, comment, pending],
            "api_visibility": "private",
        }
        comment_btn.click(**comment_ev)
        comment.submit(**comment_ev)

        def reset() -> tuple[Any, ...]:
            return [], [], SOURCES_PLACEHOLDER, gr.update(visible=False), None

        reset_outputs = [chatbot, turns, sources, comment_row, pending]
        clear.click(reset, inputs=None, outputs=reset_outputs, api_visibility="private")
        # Gradio's own trash button on the chatbot must forget the history too.
        chatbot.clear(reset, inputs=None, outputs=reset_outputs, api_visibility="private")
        gr.api(handlers.ask, api_name="ask")
    # The chain itself computes at most max_concurrent_answers at once; the queue matches it.
    demo.queue(default_concurrency_limit=settings.max_concurrent_answers)
    return demo
