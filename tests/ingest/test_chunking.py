"""Chunks: whole sentences, exact offsets, within the token budget, with sentence overlap."""

from __future__ import annotations

import itertools

import pytest

from assistant.types import Document
from ingest.chunking import chunk_document, chunk_id_for, sentence_spans
from ingest.loaders import load_file
from tests.conftest import CORPUS
from tests.fakes import KeywordEmbeddings

COUNT = KeywordEmbeddings().count_tokens


def _doc(text: str, doc_id: str = "d1") -> Document:
    return Document(doc_id=doc_id, source="x.txt", title="X", text=text, content_hash="h")


def _corpus_docs() -> list[Document]:
    docs = [load_file(p, CORPUS, 10_000_000) for p in sorted(CORPUS.glob("*.txt"))]
    assert all(isinstance(d, Document) for d in docs)
    return docs  # type: ignore[return-value]


@pytest.mark.parametrize("max_tokens", [40, 120, 200])
def test_corpus_chunks_slice_the_text_exactly_and_fit_the_budget(max_tokens: int) -> None:
    for doc in _corpus_docs():
        chunks = chunk_document(doc, COUNT, max_tokens, overlap=1)
        assert chunks and [c.index for c in chunks] == list(range(len(chunks)))
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert COUNT(chunk.text) <= max_tokens
            assert chunk.doc_id == doc.doc_id and chunk.source == doc.source and chunk.title == doc.title


def test_chunks_start_and_end_on_sentence_boundaries_and_cover_every_sentence() -> None:
    for doc in _corpus_docs():
        spans = sentence_spans(doc.text)
        starts, ends = {s for s, _ in spans}, {e for _, e in spans}
        chunks = chunk_document(doc, COUNT, 60, overlap=1)
        for chunk in chunks:
            assert chunk.start in starts and chunk.end in ends
        for start, end in spans:
            assert any(c.start <= start and end <= c.end for c in chunks), doc.text[start:end]


def test_sentence_spans_follow_sentences_and_paragraphs() -> None:
    text = "Heading without period\n\nDr. Smith arrived at 9 a.m. today. He left soon after!  Why?\nNext line."
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Heading without period",
        "Dr. Smith arrived at 9 a.m. today.",
        "He left soon after!",
        "Why?",
        "Next line.",
    ]


def test_neighbouring_chunks_share_the_overlap_sentence() -> None:
    text = " ".join(f"Sentence number {n} talks about topic {n}." for n in range(30))
    chunks = chunk_document(_doc(text), COUNT, 40, overlap=1)
    assert len(chunks) > 3
    for prev, nxt in itertools.pairwise(chunks):
        last_sentence = text[sentence_spans(prev.text)[-1][0] + prev.start : prev.end]
        assert nxt.text.startswith(last_sentence)
    no_overlap = chunk_document(_doc(text), COUNT, 40, overlap=0)
    assert all(a.end < b.start for a, b in itertools.pairwise(no_overlap))


def test_an_overlong_sentence_is_split_at_word_boundaries() -> None:
    words = [f"word{n}" for n in range(300)]
    text = "Short intro. " + " ".join(words) + " end. Short outro."
    chunks = chunk_document(_doc(text), COUNT, 50, overlap=1)
    assert all(COUNT(c.text) <= 50 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    for word in words:
        assert f" {word} " in f" {joined} "  # no word cut in half, none lost


def test_a_giant_token_is_cut_to_fit() -> None:
    text = "See " + "-".join(["x"] * 400) + " for details."
    chunks = chunk_document(_doc(text), COUNT, 30, overlap=0)
    assert all(COUNT(c.text) <= 30 and text[c.start : c.end] == c.text for c in chunks)
    assert "".join(text[c.start : c.end] for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_chunk_ids_are_content_hashes() -> None:
    first = chunk_document(_doc("One sentence here. Another one here."), COUNT, 200)
    again = chunk_document(_doc("One sentence here. Another one here."), COUNT, 200)
    edited = chunk_document(_doc("One sentence here. Another one changed."), COUNT, 200)
    other_doc = chunk_document(_doc("One sentence here. Another one here.", doc_id="d2"), COUNT, 200)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert first[0].chunk_id != edited[0].chunk_id != other_doc[0].chunk_id
    assert first[0].chunk_id == chunk_id_for("d1", first[0].start, first[0].end, first[0].text)


def test_budget_beyond_the_embedder_window_is_refused() -> None:
    with pytest.raises(ValueError, match="256"):
        chunk_document(_doc("Text."), COUNT, 300)


def test_no_text_is_tokenized_twice_while_chunking() -> None:
    # Token counting is a quarter of a help site's parse-and-chunk time: each sentence and each
    # joined span is counted once, and a kept chunk's count is not taken a third time.
    seen: list[str] = []

    def counting(text: str) -> int:
        seen.append(text)
        return COUNT(text)

    for doc in _corpus_docs():
        seen.clear()
        chunks = chunk_document(doc, counting, 60, overlap=1)
        assert len(chunks) > 1
        repeated = [t for t in set(seen) if seen.count(t) > 1 and t]
        assert repeated == [], repeated[:3]


@pytest.mark.model
@pytest.mark.parametrize("max_tokens", [40, 120, 200, 256])
def test_chunks_by_the_embedders_counter_are_the_ones_the_encoders_tokenizer_gives(
    minilm: object, max_tokens: int
) -> None:
    # BundledMiniLM.count_tokens counts without [CLS]/[SEP] and adds them: the chunks are the
    # ones a plain count with the encoder's own tokenizer makes.
    from assistant.embeddings import BundledMiniLM

    assert isinstance(minilm, BundledMiniLM)
    encoder_tokenizer = minilm._impl._client.tokenizer

    def encoder_count(text: str) -> int:
        return len(encoder_tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    for doc in _corpus_docs():
        expected = chunk_document(doc, encoder_count, max_tokens, overlap=1)
        assert chunk_document(doc, minilm.count_tokens, max_tokens, overlap=1) == expected
        assert max(encoder_count(c.text) for c in expected) <= max_tokens <= 256
