"""The LCEL chain: input forms, validation, invoke/stream/batch agreement, URLs, composition."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.chain import (
    CitelineChain,
    InvalidQuestion,
    build_answerer,
    build_chain,
    load_chain,
    validate_question,
)
from assistant.config import Settings
from assistant.extractive import ExtractiveAnswerer
from assistant.types import Answer, AnswerDelta, Citation, Hit, Question
from tests.fakes import InMemoryIndex, KeywordEmbeddings

QUESTION = "Which UNICEF office led the Disrupting Harm Phase 2 project?"


@pytest.fixture
def chain(keyword_index: InMemoryIndex) -> CitelineChain:
    return build_chain(Settings(), keyword_index, keyword_index.embeddings)


def test_validate_question_rejects_empty_and_overlong_questions() -> None:
    assert validate_question("  Who?  ", 10) == "Who?"
    for bad in ("", "   \n\t"):
        with pytest.raises(InvalidQuestion, match="empty"):
            validate_question(bad, 10)
    with pytest.raises(InvalidQuestion, match=r"too long \(11 characters; the limit is 10\)"):
        validate_question("x" * 11, 10)


def test_chain_rejects_bad_input_before_retrieving(keyword_index: InMemoryIndex) -> None:
    chain = build_chain(Settings(max_question_chars=50), keyword_index, keyword_index.embeddings)
    for bad in (
        {"history": []},
        {"question": "   "},
        {"question": "x" * 51},
        {"question": "ok?", "history": "a"},
    ):
        with pytest.raises(InvalidQuestion):
            chain.invoke(bad)
    # A lone surrogate (JSON "\\ud800") is no text the tokenizer can read: said plainly, not a crash.
    with pytest.raises(InvalidQuestion, match=r"The question contains .* not valid text .* position 7"):
        chain.invoke({"question": "UNICEF \ud800 demand"})
    with pytest.raises(InvalidQuestion, match="Earlier question 2 of the history contains"):
        chain.invoke({"question": "What does UNICEF demand?", "history": ["ok", "bad \udfff"]})
    assert keyword_index.dense_calls == 0


def test_invoke_stream_and_batch_agree(chain: CitelineChain) -> None:
    invoked = chain.invoke(Question(QUESTION))
    from_dict = chain.invoke({"question": QUESTION, "history": []})
    *deltas, final = list(chain.stream({"question": QUESTION}))
    batched = chain.batch([Question(QUESTION), {"question": "How do I bake sourdough bread?"}])

    assert not invoked.refused and "Innocenti" in invoked.text
    assert all(isinstance(d, AnswerDelta) for d in deltas) and isinstance(final, Answer)
    assert "".join(d.text for d in deltas) == final.text
    for other in (from_dict, final, batched[0]):
        assert other.text == invoked.text and other.citations == invoked.citations
    assert batched[1].refused
    assert set(invoked.timings_ms) == {"queue", "retrieval", "answer", "total"}
    assert invoked.timings_ms["total"] >= invoked.timings_ms["retrieval"]
    assert invoked.hits and len(invoked.hits) <= Settings().retrieval_k


def test_site_base_url_gives_every_citation_a_url(keyword_index: InMemoryIndex) -> None:
    settings = Settings(site_base_url="https://help.example.com/docs")
    answer = build_chain(settings, keyword_index, keyword_index.embeddings).invoke(QUESTION)
    assert answer.citations
    for c in answer.citations:
        assert c.url == f"https://help.example.com/docs/{c.source}"
    assert build_chain(Settings(), keyword_index, keyword_index.embeddings).invoke(QUESTION).citations[0].url is None


class _ScriptedStreamer:
    """An answerer that streams (like the LLM answerer) and whose final text differs from the deltas."""

    def answer(self, question: Question, hits: Sequence[Hit]) -> Answer:
        cite = Citation(1, "d", "T", "a b.md", "Quote.", 0, 6)
        return Answer("Final [1]", False, (cite,), timings_ms={"answer": 1.0})

    def stream(self, question: Question, hits: Sequence[Hit]) -> Iterator[AnswerDelta | Answer]:
        yield AnswerDelta("Draft ")
        yield AnswerDelta("text")
        yield self.answer(question, hits)


def test_stream_delegates_to_a_streaming_answerer_and_finishes_its_answer(
    keyword_index: InMemoryIndex,
) -> None:
    settings = Settings(site_base_url="https://site.test/help/")
    chain = build_chain(settings, keyword_index, keyword_index.embeddings, answerer=_ScriptedStreamer())
    items = list(chain.stream("Anything about Grok?"))
    assert items[:2] == [AnswerDelta("Draft "), AnswerDelta("text")]
    final = items[-1]
    assert len(items) == 3 and isinstance(final, Answer) and final.text == "Final [1]"
    assert final.citations[0].url == "https://site.test/help/a%20b.md"
    assert final.hits and {"retrieval", "answer", "total"} <= set(final.timings_ms)


class _SlowAnswerer(_ScriptedStreamer):
    """Takes a while to answer and records how many answers were being computed at once."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def answer(self, question: Question, hits: Sequence[Hit]) -> Answer:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.05)
        with self._lock:
            self.running -= 1
        return super().answer(question, hits)


def test_at_most_max_concurrent_answers_are_computed_at_once(keyword_index: InMemoryIndex) -> None:
    slow = _SlowAnswerer()
    settings = Settings(max_concurrent_answers=2)
    chain = build_chain(settings, keyword_index, keyword_index.embeddings, answerer=slow)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(chain.invoke, [QUESTION] * 6))
    assert all(a.text == "Final [1]" for a in answers)
    assert slow.peak == 2
    # Those that waited for a slot say so, and their total includes the wait.
    waited = [a for a in answers if a.timings_ms["queue"] >= 40]
    assert len(waited) >= 2 and all(a.timings_ms["total"] >= a.timings_ms["queue"] for a in waited)


def test_an_abandoned_stream_gives_its_slot_back(keyword_index: InMemoryIndex) -> None:
    chain = build_chain(
        Settings(max_concurrent_answers=1), keyword_index, keyword_index.embeddings, answerer=_ScriptedStreamer()
    )
    stream = chain.stream("Anything about Grok?")
    assert next(stream) == AnswerDelta("Draft ")
    stream.close()  # a client that disconnects mid-answer
    answer = ThreadPoolExecutor(max_workers=1).submit(chain.invoke, QUESTION).result(timeout=5)
    assert answer.text == "Final [1]"


class _Condenser(_ScriptedStreamer):
    """An answerer that rewrites follow-ups, as the LLM answerer does."""

    def __init__(self, standalone: str) -> None:
        self.standalone = standalone
        self.condensed: list[Question] = []

    def condense(self, question: Question) -> str:
        self.condensed.append(question)
        return self.standalone


def test_follow_ups_are_retrieved_with_the_answerers_standalone_question(
    keyword_index: InMemoryIndex,
) -> None:
    condenser = _Condenser("Which UNICEF office led the research on sexual deepfakes of children?")
    chain = build_chain(Settings(), keyword_index, keyword_index.embeddings, answerer=condenser)
    follow_up = Question("Which office led that research?", ("How many children were affected?",))
    answer = chain.invoke(follow_up)
    assert condenser.condensed == [follow_up]
    assert answer.hits[0].chunk.source == "unicef-ai-child-deepfakes.txt"
    assert "Innocenti" in " ".join(h.chunk.text for h in answer.hits[:2])

    chain.invoke(Question("What did UNICEF urge governments to do?"))
    assert len(condenser.condensed) == 1  # no history: nothing to condense, no LLM call


def test_build_answerer_is_extractive_by_default_and_imports_llm_lazily(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emb = KeywordEmbeddings()
    default = build_answerer(Settings(max_answer_sentences=2), emb)
    assert isinstance(default, ExtractiveAnswerer) and default.max_sentences == 2

    calls: list[dict[str, object]] = []
    fake = types.ModuleType("assistant.generative")

    def build_llm_answerer(settings: Settings, *, fallback: object, embeddings: object) -> str:
        calls.append({"fallback": fallback, "embeddings": embeddings})
        return "llm-answerer"

    fake.build_llm_answerer = build_llm_answerer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "assistant.generative", fake)
    assert build_answerer(Settings(answerer="llm"), emb) == "llm-answerer"
    assert isinstance(calls[0]["fallback"], ExtractiveAnswerer) and calls[0]["embeddings"] is emb


def test_load_chain_without_a_store_says_to_ingest(tmp_path: Path) -> None:
    from assistant.store import StoreNotFoundError

    with pytest.raises(StoreNotFoundError, match="ingest"):
        load_chain(Settings(data_dir=tmp_path))


def test_chain_over_the_real_chroma_store_cites_stored_text(tmp_path: Path, corpus_copy: Path) -> None:
    from assistant.store import open_store
    from ingest.pipeline import run_ingest

    settings = Settings(data_dir=tmp_path / "data")
    emb = KeywordEmbeddings(dim=256)
    run_ingest(corpus_copy, settings, emb, progress=False)
    store = open_store(settings, emb, create=False)
    chain = build_chain(settings, store, emb)

    answer = chain.invoke("How many suspected AI-generated images did the Internet Watch Foundation flag?")
    assert not answer.refused and "14,000" in answer.text
    for c in answer.citations:
        doc = store.get_document(c.doc_id)
        assert doc is not None and doc.text[c.start : c.end] == c.quote
    # The teaser noise was cleaned away at ingest, so nothing about AMD can be quoted.
    assert all("AMD" not in h.chunk.text for h in chain.invoke("What did AMD's stock do?").hits)
