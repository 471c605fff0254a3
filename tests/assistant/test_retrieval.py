"""Hybrid retrieval: fused dense + BM25 ranking, cache invalidation, follow-up queries."""

from __future__ import annotations

import threading

import pytest

from assistant.retrieval import HybridRetriever, looks_like_follow_up, retrieval_query
from assistant.types import Question
from tests.fakes import InMemoryIndex, KeywordEmbeddings, make_document

UNICEF = "unicef-ai-child-deepfakes"
JOINT = "regulators-joint-statement-on-ai-imagery"


def test_hits_are_fused_best_first_with_both_ranks(keyword_index: InMemoryIndex) -> None:
    retriever = HybridRetriever(keyword_index, candidate_k=10, k=4, rrf_k=60)
    hits = retriever.retrieve(Question("Internet Watch Foundation dark-web forum images"))
    assert 1 <= len(hits) <= 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    top = hits[0]
    assert "Internet Watch Foundation" in top.chunk.text
    assert top.dense_rank is not None and top.sparse_rank is not None and top.dense_score is not None
    assert top.score == pytest.approx(1 / (60 + top.dense_rank) + 1 / (60 + top.sparse_rank))


def test_bm25_puts_a_rare_exact_term_first_when_dense_vectors_blur() -> None:
    # A 4-bucket fake embedding blurs every text together; the exact name must still win.
    filler = "Filler sentence number {} about regulators and privacy."
    docs = [make_document(f"d{i}.txt", filler.format(i)) for i in range(8)]
    docs.append(make_document("target.txt", "The Innocenti office wrote it. Regulators and privacy again."))
    index = InMemoryIndex(docs, KeywordEmbeddings(dim=4), chunk_sentences=2, overlap=0)
    hits = HybridRetriever(index, candidate_k=20, k=3).retrieve(Question("Innocenti"))
    assert hits[0].chunk.doc_id == "target"
    assert hits[0].sparse_rank == 1


def test_bm25_index_is_cached_and_rebuilt_when_the_store_changes(keyword_index: InMemoryIndex) -> None:
    retriever = HybridRetriever(keyword_index, k=3)
    retriever.retrieve(Question("UNICEF deepfakes"))
    retriever.retrieve(Question("privacy regulators"))
    assert keyword_index.all_chunks_calls == 1  # unchanged store: BM25 built once

    keyword_index.add(make_document("zebra.txt", "Zebrafish migrate across the Quokka river every spring."))
    hits = retriever.retrieve(Question("Quokka zebrafish"))
    assert keyword_index.all_chunks_calls == 2
    assert hits[0].chunk.doc_id == "zebra" and hits[0].sparse_rank == 1

    keyword_index.remove("zebra")
    assert all(h.chunk.doc_id != "zebra" for h in retriever.retrieve(Question("Quokka zebrafish")))


def test_concurrent_first_requests_build_bm25_once(keyword_index: InMemoryIndex) -> None:
    retriever = HybridRetriever(keyword_index, k=3)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(len(retriever.retrieve(Question("Grok xAI"))))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [3] * 8
    assert keyword_index.all_chunks_calls == 1


def test_empty_index_and_stopword_only_queries_return_what_dense_finds() -> None:
    assert HybridRetriever(InMemoryIndex()).retrieve(Question("anything")) == []
    index = InMemoryIndex([make_document("a.txt", "Some text here. More text there.")])
    hits = HybridRetriever(index).retrieve(Question("what is the"))
    assert all(h.sparse_rank is None for h in hits)


def test_follow_up_detection_and_query() -> None:
    assert looks_like_follow_up("Which office led that research?")
    assert looks_like_follow_up("Between which years?")
    assert looks_like_follow_up("What did her office set out?")
    assert not looks_like_follow_up("How many children had their images manipulated into deepfakes?")
    # "the research" names what the previous question was about; without that question it stands alone.
    earlier = ("What did UNICEF's research find?",)
    assert looks_like_follow_up("How many countries did the research cover?", earlier)
    assert not looks_like_follow_up("How many countries did the research cover?")
    assert not looks_like_follow_up("How many countries did the survey cover?", earlier)
    history = ("What did UNICEF find?", "How many children had their images manipulated?")
    q = Question("Which office led that research?", history)
    expected = "Which office led that research? " + " ".join(reversed(history))
    assert retrieval_query(q, max_history=6) == expected
    assert retrieval_query(q, max_history=0) == q.question
    standalone = Question("Which working group coordinated the privacy regulators' statement?", history)
    assert retrieval_query(standalone, max_history=6) == standalone.question


def test_follow_up_uses_history_with_keyword_embeddings(keyword_index: InMemoryIndex) -> None:
    retriever = HybridRetriever(keyword_index, k=5)
    alone = retriever.retrieve(Question("When was it released?"))
    with_history = retriever.retrieve(
        Question("When was it released?", ("Which group coordinated the regulators' joint statement?",))
    )
    assert with_history[0].chunk.doc_id == JOINT
    assert "released February 23" in with_history[0].chunk.text
    assert [h.chunk.chunk_id for h in alone] != [h.chunk.chunk_id for h in with_history]


@pytest.mark.model
def test_follow_up_retrieves_unicef_only_with_history(minilm_index: InMemoryIndex) -> None:
    retriever = HybridRetriever(minilm_index, candidate_k=30, k=8)
    follow_up = "Which office led that research?"
    alone = retriever.retrieve(Question(follow_up))
    # On its own the question has no topic: the nearest chunk by meaning is not UNICEF's.
    assert min(alone, key=lambda h: h.dense_rank or 99).chunk.doc_id != UNICEF
    history = ("How many children had their images manipulated into sexual deepfakes?",)
    with_history = retriever.retrieve(Question(follow_up, history))
    assert with_history[0].chunk.doc_id == UNICEF
    assert with_history[0].dense_rank == 1
    assert "Office of Strategy and Evidence Innocenti" in " ".join(h.chunk.text for h in with_history[:2])
