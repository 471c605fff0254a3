"""Frozen dataclasses that cross citeline's seams.

Loader -> cleaner -> chunker -> store pass `Document` and `Chunk`; the store returns
`Hit`s; every answerer returns an `Answer` whose `Citation`s quote the stored, cleaned
document text verbatim: ``document.text[c.start:c.end] == c.quote``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: What every answerer says when the documents do not answer the question.
REFUSAL_TEXT = "I couldn't find that in the documents."

#: The note on a refused request to write something or to override the rules.
INSTRUCTION_NOTE = (
    "citeline answers questions by quoting the documents; it does not follow instructions or write new text."
)

#: The note on a refused request for a summary: quoting answers questions, it writes no summary.
SUMMARY_NOTE = (
    "citeline quotes the sentences that answer a question; it does not write summaries. "
    "Ask about something the documents cover, such as who did what, when or why."
)

#: Note added to an answer when its sources disagree with each other.
CONFLICT_NOTE = "The sources differ on this point; both versions are shown with their citations."


@dataclass(frozen=True)
class Removal:
    """One piece of boilerplate the cleaner removed from a document (for `ingest --report`)."""

    kind: str  # e.g. "ad-marker", "share-line", "promo", "teaser-list", "cookie", "copyright", "markup"
    text: str


@dataclass(frozen=True)
class Document:
    """A loaded and cleaned document.

    `text` is the stored, cleaned text: citation offsets index into it.
    `source` is the path relative to the ingested folder (POSIX separators).
    `content_hash` is the sha256 of the raw file bytes (drives incremental ingest).
    """

    doc_id: str
    source: str
    title: str
    text: str
    content_hash: str
    removed: tuple[Removal, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    """A file the ingest did not load, with a reason a user can act on."""

    source: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A sentence-aligned slice of a document: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    source: str
    title: str
    text: str
    start: int
    end: int
    index: int  # position of the chunk within its document


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and per-retriever ranks (1-based, None if absent)."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    sparse_rank: int | None = None
    dense_score: float | None = None  # cosine similarity in [-1, 1] when known


@dataclass(frozen=True)
class Citation:
    """Citation n of an answer: a verbatim quote of the stored document text at [start, end)."""

    n: int
    doc_id: str
    title: str
    source: str
    quote: str
    start: int
    end: int
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
        }
        if self.url is not None:
            data["url"] = self.url
        return data


@dataclass(frozen=True)
class Answer:
    """What every answerer returns; `to_json` is the wire format of `ask --json` and POST /api/ask.

    `hits` are the retrieved chunks the answer was built from (used by evals and the
    sources panel; not part of the JSON wire format).

    `notes` are every note for the user, in order. Most are information (why a question was
    refused, which question of several the documents do not answer); `warnings` are the notes
    that say the answer needs care: the sources differ, or the language model's sentences were
    dropped or it was unavailable. Renderers style the two apart.
    """

    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    notes: tuple[str, ...] = ()
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    hits: tuple[Hit, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not set(self.warnings) <= set(self.notes):
            raise ValueError("every warning must also be one of the answer's notes")

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class AnswerDelta:
    """A piece of answer text streamed before the final `Answer`.

    `chain.stream(...)` yields zero or more deltas, then exactly one `Answer`. The final
    Answer's text is authoritative: an LLM answer's unsupported sentences may be dropped
    after they were streamed, so consumers replace the streamed text with it.
    """

    text: str


@dataclass(frozen=True)
class Question:
    """Input of the answering chain: the question and the user's earlier questions, oldest first."""

    question: str
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredDocument:
    """A document as the store keeps it (no embeddings)."""

    doc_id: str
    source: str
    title: str
    text: str
    content_hash: str


@runtime_checkable
class ChunkIndex(Protocol):
    """What retrieval and answering need from the store.

    Implemented by `assistant.store.ChromaStore`; tests may pass an in-memory fake.
    """

    def dense_search(self, query: str, k: int) -> list[Hit]:
        """The k chunks nearest to `query` by embedding, best first (dense_rank and dense_score set)."""
        ...

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk (for the BM25 index), in a stable order."""
        ...

    def get_document(self, doc_id: str) -> StoredDocument | None:
        """The stored, cleaned document text that citation offsets index into."""
        ...

    def revision(self) -> str:
        """An opaque token that changes whenever stored chunks change (cache invalidation)."""
        ...


class Answerer(Protocol):
    """Turns a question and retrieved hits into a cited `Answer`.

    Optional extras the chain uses when present: ``stream(question, hits)`` yielding
    `AnswerDelta`s then one final `Answer`, and ``condense(question) -> str`` rewriting a
    follow-up and its history into a standalone question for retrieval.
    """

    def answer(self, question: Question, hits: Sequence[Hit]) -> Answer:
        """Answer from `hits` only; refuse with REFUSAL_TEXT when they do not answer."""
        ...
