"""The answering chain: an LCEL `Runnable` composing hybrid retrieval -> answerer.

`load_chain(settings)` is the composition root the CLI, the server and the evals call; they
never build models themselves. The chain accepts a `Question` or a dict
``{"question": str, "history": [str, ...]}`` and returns an `Answer`; `stream` yields
`AnswerDelta` pieces then exactly one final `Answer`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote, urljoin

from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable, RunnableConfig

from assistant.config import Settings
from assistant.extractive import ExtractiveAnswerer
from assistant.retrieval import HybridRetriever
from assistant.types import Answer, AnswerDelta, Answerer, ChunkIndex, Hit, Question

log = logging.getLogger(__name__)

QuestionInput = Question | Mapping[str, Any] | str


class InvalidQuestion(ValueError):
    """The question cannot be answered as given (empty, too long, malformed); the message says why."""


def check_encodable(text: str, what: str) -> None:
    """Raise `InvalidQuestion` if `text` holds a lone surrogate (JSON's "\\ud800"): it is no text the
    tokenizer can read, and one such text in a shared encode batch would fail every request in it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidQuestion(
            f"{what} contains a character that is not valid text (an unpaired surrogate at position "
            f"{exc.start}): send it as UTF-8."
        ) from None


def validate_question(question: str, max_chars: int) -> str:
    """The question, stripped; raises `InvalidQuestion` if it is empty or longer than `max_chars`."""
    if not isinstance(question, str):
        raise InvalidQuestion(f"The question must be text, not {type(question).__name__}.")
    text = question.strip()
    if not text:
        raise InvalidQuestion("The question is empty: type a question about the documents.")
    check_encodable(text, "The question")
    if len(text) > max_chars:
        raise InvalidQuestion(
            f"The question is too long ({len(text)} characters; the limit is {max_chars}). "
            "Shorten it or split it into several questions."
        )
    return text


class _StreamingAnswerer(Protocol):
    def stream(self, question: Question, hits: Sequence[Hit]) -> Iterator[AnswerDelta | Answer]: ...


def _citation_url(base: str, source: str) -> str:
    # The base is a directory: "https://help.example.com/docs" + "a b.md" -> ".../docs/a%20b.md".
    return urljoin(base if base.endswith("/") else base + "/", quote(source))


class CitelineChain(Runnable[QuestionInput, Answer]):
    """retriever -> answerer as a LangChain Runnable (invoke, batch, stream).

    Adds what every answerer needs the same way: input validation, the retrieval, timings
    (retrieval, answer, total, in ms), `Answer.hits`, and citation URLs when a site base URL
    is configured.

    At most `max_concurrent` answers are computed at once; other callers wait (their wait is
    counted in `timings_ms["queue"]` and the total). Answering is CPU-bound: on a small machine,
    sixteen threads sharing the cores and the GIL each finish later than if they took turns
    (benchmarks/bench_server.py measures it).
    """

    def __init__(
        self,
        retriever: HybridRetriever,
        answerer: Answerer,
        *,
        max_question_chars: int = 1000,
        site_base_url: str | None = None,
        max_concurrent: int = 4,
    ) -> None:
        if max_concurrent <= 0:
            raise ValueError("max_concurrent must be positive")
        self.retriever = retriever
        self.answerer = answerer
        self.max_question_chars = max_question_chars
        self.site_base_url = site_base_url
        self.max_concurrent = max_concurrent
        self._slots = threading.BoundedSemaphore(max_concurrent)

    @property
    def index(self) -> ChunkIndex:
        """The store the chain reads: stored document text that citation offsets index into."""
        return self.retriever.index

    def coerce(self, value: QuestionInput) -> Question:
        """A validated `Question` from a Question, a {"question", "history"} dict or a string."""
        if isinstance(value, Question):
            question, history = value.question, value.history
        elif isinstance(value, Mapping):
            if "question" not in value:
                raise InvalidQuestion('The input needs a "question" field.')
            question, history = value["question"], value.get("history") or ()
        elif isinstance(value, str):
            question, history = value, ()
        else:
            raise InvalidQuestion(f"Cannot answer a {type(value).__name__}: pass a Question or a dict.")
        if isinstance(history, str) or not all(isinstance(h, str) for h in history):
            raise InvalidQuestion('"history" must be a list of earlier questions (strings).')
        for i, earlier in enumerate(history):
            check_encodable(earlier, f"Earlier question {i + 1} of the history")
        text = validate_question(question, self.max_question_chars)
        return Question(text, tuple(h for h in history if h.strip()))

    def _finish(
        self, answer: Answer, hits: Sequence[Hit], retrieval_ms: float, began: float, queued_ms: float = 0.0
    ) -> Answer:
        timings = dict(answer.timings_ms)
        timings["queue"] = queued_ms
        timings["retrieval"] = retrieval_ms
        timings.setdefault("answer", (time.perf_counter() - began) * 1000 - queued_ms - retrieval_ms)
        timings["total"] = (time.perf_counter() - began) * 1000
        citations = answer.citations
        if self.site_base_url:
            base = self.site_base_url
            citations = tuple(dataclasses.replace(c, url=_citation_url(base, c.source)) for c in citations)
        return dataclasses.replace(answer, citations=citations, timings_ms=timings, hits=answer.hits or tuple(hits))

    def _retrieve(self, question: Question) -> tuple[list[Hit], float]:
        began = time.perf_counter()
        hits = self.retriever.retrieve(self._standalone(question))
        return hits, (time.perf_counter() - began) * 1000

    def _standalone(self, question: Question) -> Question:
        """The question retrieval should use: an answerer that can condense a follow-up does.

        The LLM answerer rewrites "Which office led that research?" plus history into a
        standalone question; when it cannot (no history, failure) it returns the question
        unchanged and retrieval falls back to its own history-aware query.
        """
        condense = getattr(self.answerer, "condense", None)
        if condense is None or not question.history:
            return question
        standalone = condense(question)
        if not standalone or standalone == question.question:
            return question
        return Question(standalone, ())

    def invoke(self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        """Answer one question (raises `InvalidQuestion` for bad input)."""
        began = time.perf_counter()
        question = self.coerce(input)
        with self._slots:
            queued_ms = (time.perf_counter() - began) * 1000
            hits, retrieval_ms = self._retrieve(question)
            answer = self.answerer.answer(question, hits)
            return self._finish(answer, hits, retrieval_ms, began, queued_ms)

    def stream(  # type: ignore[override]
        self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[AnswerDelta | Answer]:
        """Zero or more `AnswerDelta`s, then exactly one final `Answer` (authoritative text)."""
        began = time.perf_counter()
        question = self.coerce(input)
        # The slot is held until the stream ends or is closed (a generator's `with` exits then).
        with self._slots:
            queued_ms = (time.perf_counter() - began) * 1000
            hits, retrieval_ms = self._retrieve(question)
            streamer = getattr(self.answerer, "stream", None)
            if streamer is None:
                answer = self.answerer.answer(question, hits)
                if answer.text:
                    yield AnswerDelta(answer.text)
                yield self._finish(answer, hits, retrieval_ms, began, queued_ms)
                return
            final: Answer | None = None
            for item in streamer(question, hits):
                if isinstance(item, Answer):
                    final = item
                    break
                yield item
            if final is None:
                raise RuntimeError(f"{type(self.answerer).__name__}.stream ended without a final Answer")
            yield self._finish(final, hits, retrieval_ms, began, queued_ms)


def build_answerer(settings: Settings, embeddings: Embeddings) -> Answerer:
    """The answerer the settings ask for: extractive (default), or the LLM with extractive fallback."""
    extractive = ExtractiveAnswerer(
        embeddings, max_sentences=settings.max_answer_sentences, max_history=settings.max_history
    )
    if settings.answerer == "llm":
        # Imported here so the default, offline path never loads LLM client libraries.
        from assistant.generative import build_llm_answerer

        return build_llm_answerer(settings, fallback=extractive, embeddings=embeddings)
    return extractive


def build_chain(
    settings: Settings, index: ChunkIndex, embeddings: Embeddings, *, answerer: Answerer | None = None
) -> CitelineChain:
    """The chain over `index` with the settings' retrieval parameters and answerer."""
    retriever = HybridRetriever(
        index,
        candidate_k=settings.candidate_k,
        k=settings.retrieval_k,
        rrf_k=settings.rrf_k,
        max_history=settings.max_history,
    )
    return CitelineChain(
        retriever,
        answerer if answerer is not None else build_answerer(settings, embeddings),
        max_question_chars=settings.max_question_chars,
        site_base_url=settings.site_base_url,
        max_concurrent=settings.max_concurrent_answers,
    )


def load_chain(settings: Settings) -> CitelineChain:
    """The composition root: embeddings, the existing store (never created here), the chain.

    Store problems propagate as the store's own exceptions (e.g. `StoreNotFoundError`, whose
    message says to run `citeline ingest`).
    """
    from assistant.embeddings import build_embeddings
    from assistant.store import open_store

    embeddings = build_embeddings(settings.embed_batch_size)
    index = open_store(settings, embeddings, create=False)
    return build_chain(settings, index, embeddings)
