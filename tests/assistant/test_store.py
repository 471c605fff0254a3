"""ChromaStore against real Chroma in tmp_path: refusals, batching, revision, search, documents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.store import (
    ChromaStore,
    StoreLocationError,
    StoreMismatchError,
    StoreNotFoundError,
    open_store,
)
from assistant.types import Chunk, ChunkIndex, Document, Removal
from tests.fakes import KeywordEmbeddings

CHUNKER = "test-chunker-v1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def _doc(doc_id: str, text: str, source: str | None = None) -> Document:
    return Document(
        doc_id=doc_id,
        source=source or f"{doc_id}.txt",
        title=f"Title {doc_id}",
        text=text,
        content_hash=f"hash-{doc_id}",
        removed=(Removal("ad-marker", "- Advertisement -"),),
    )


def _chunks(doc: Document) -> list[Chunk]:
    out: list[Chunk] = []
    start = 0
    for index, sentence in enumerate(doc.text.split(". ")):
        begin = doc.text.index(sentence, start)
        end = begin + len(sentence)
        out.append(Chunk(f"{doc.doc_id}-{index}", doc.doc_id, doc.source, doc.title, sentence, begin, end, index))
        start = end
    return out


def _put(store: ChromaStore, emb: KeywordEmbeddings, doc: Document) -> list[Chunk]:
    chunks = _chunks(doc)
    store.put_chunks(chunks, emb.embed_documents([c.text for c in chunks]))
    store.put_documents([(doc, len(chunks))])
    return chunks


def test_reading_a_missing_store_says_to_ingest(settings: Settings) -> None:
    with pytest.raises(StoreNotFoundError, match="citeline ingest"):
        open_store(settings, KeywordEmbeddings(), create=False)
    assert not settings.store_dir.exists()  # reading never creates a store


def test_a_data_dir_that_is_a_file_is_a_store_error_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    with pytest.raises(StoreLocationError, match=f"{blocker} is a file, not a folder.*--data-dir"):
        open_store(Settings(data_dir=blocker), KeywordEmbeddings(), create=True, chunker=CHUNKER)


def test_a_read_only_store_is_a_store_error_not_a_chroma_crash(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    emb = KeywordEmbeddings()
    _put(open_store(settings, emb, create=True, chunker=CHUNKER), emb, _doc("a", "Alpha one. Beta two"))
    sqlite = settings.store_dir / "chroma.sqlite3"
    # Tests run as root, for whom nothing is read-only: the file is made so as a user sees it.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != sqlite and real_access(p, mode))
    with pytest.raises(StoreLocationError, match=r"is read-only \(its chroma.sqlite3\).*--data-dir"):
        open_store(settings, emb, create=False)


def test_store_built_with_another_model_or_chunker_is_refused_with_the_rebuild_command(
    settings: Settings,
) -> None:
    store = open_store(settings, KeywordEmbeddings(dim=64), create=True, chunker=CHUNKER)
    store.note_folder(Path("/docs/site"))
    with pytest.raises(StoreMismatchError) as other_dim:
        open_store(settings, KeywordEmbeddings(dim=32), create=False)
    message = str(other_dim.value)
    assert "fake-keyword-hash-64" in message and "dimension 64 (now 32)" in message
    assert "citeline ingest --rebuild /docs/site" in message
    with pytest.raises(StoreMismatchError, match=r"chunker 'test-chunker-v1'.*citeline ingest --rebuild"):
        open_store(settings, KeywordEmbeddings(dim=64), create=True, chunker="other-chunker")
    # A reader does not know the chunker and opens the store as long as the model matches.
    assert isinstance(open_store(settings, KeywordEmbeddings(dim=64), create=False), ChunkIndex)


def test_documents_and_chunks_round_trip(settings: Settings) -> None:
    emb = KeywordEmbeddings()
    store = open_store(settings, emb, create=True, chunker=CHUNKER)
    doc = _doc("a", "Cats sleep all day. Dogs bark at night. Birds sing at dawn")
    chunks = _put(store, emb, doc)
    stored = store.get_document("a")
    assert stored is not None and stored.text == doc.text and stored.title == "Title a"
    assert store.get_document("missing") is None
    assert store.all_chunks() == chunks
    for chunk in store.all_chunks():
        assert stored.text[chunk.start : chunk.end] == chunk.text
    record = store.list_documents()["a.txt"]
    assert record.content_hash == "hash-a" and record.chunk_count == 3
    assert record.removed == (Removal("ad-marker", "- Advertisement -"),)


def test_dense_search_ranks_by_cosine_similarity(settings: Settings) -> None:
    emb = KeywordEmbeddings()
    store = open_store(settings, emb, create=True, chunker=CHUNKER)
    _put(store, emb, _doc("a", "Cats sleep all day. Dogs bark at night. Birds sing at dawn"))
    hits = store.dense_search("when do dogs bark", k=2)
    assert hits[0].chunk.text == "Dogs bark at night"
    assert [h.dense_rank for h in hits] == [1, 2]
    assert hits[0].dense_score is not None and hits[0].score >= hits[1].score
    assert -1.0 <= hits[1].score <= hits[0].score <= 1.0 + 1e-6
    assert len(store.dense_search("anything", k=50)) == 3


def test_revision_changes_on_writes_only(settings: Settings) -> None:
    emb = KeywordEmbeddings()
    store = open_store(settings, emb, create=True, chunker=CHUNKER)
    empty = store.revision()
    chunks = _put(store, emb, _doc("a", "One thing. Two things"))
    written = store.revision()
    assert written != empty
    store.all_chunks()
    store.dense_search("thing", 1)
    assert store.revision() == written
    reopened = open_store(settings, emb, create=False)
    assert reopened.revision() == written  # another handle sees the same token
    store.delete_chunks([chunks[0].chunk_id])
    assert store.revision() != written and reopened.revision() == store.revision()


def test_delete_document_removes_record_and_chunks(settings: Settings) -> None:
    emb = KeywordEmbeddings()
    store = open_store(settings, emb, create=True, chunker=CHUNKER)
    _put(store, emb, _doc("a", "Alpha one. Alpha two"))
    _put(store, emb, _doc("b", "Beta one. Beta two"))
    store.delete_document("a")
    assert store.get_document("a") is None
    assert {c.doc_id for c in store.all_chunks()} == {"b"}
    assert set(store.list_documents()) == {"b.txt"}


@pytest.mark.slow
def test_more_chunks_than_chromas_max_batch_are_written_in_batches(settings: Settings) -> None:
    emb = KeywordEmbeddings(dim=4)
    store = open_store(settings, emb, create=True, chunker=CHUNKER)
    n = 5500  # Chroma's embedded client rejects a single write over 5,461 records
    chunks = [Chunk(f"c{i}", "big", "big.txt", "Big", f"t{i}", i, i + 1, i) for i in range(n)]
    vectors = [[1.0, float(i % 7), 0.5, 0.0] for i in range(n)]
    store.put_chunks(chunks, vectors)
    assert store.count_chunks() == n
    listed = store.all_chunks()  # pages through more than one page
    assert len(listed) == n and [c.index for c in listed] == list(range(n))
    assert store.delete_chunks(c.chunk_id for c in chunks) == n
    assert store.count_chunks() == 0


def test_vectors_of_the_wrong_dimension_are_refused(settings: Settings) -> None:
    store = open_store(settings, KeywordEmbeddings(dim=8), create=True, chunker=CHUNKER)
    chunk = Chunk("c", "d", "d.txt", "D", "text", 0, 4, 0)
    with pytest.raises(StoreMismatchError, match="dimension 8"):
        store.put_chunks([chunk], [[1.0, 0.0]])


def test_reset_empties_the_store(settings: Settings) -> None:
    emb = KeywordEmbeddings()
    store = open_store(settings, emb, create=True, chunker=CHUNKER)
    _put(store, emb, _doc("a", "Alpha one. Alpha two"))
    rebuilt = open_store(settings, KeywordEmbeddings(dim=32), create=True, chunker="new", reset=True)
    assert rebuilt.count_chunks() == 0 and rebuilt.list_documents() == {}
    open_store(settings, KeywordEmbeddings(dim=32), create=False)  # now recorded as the new model
    with pytest.raises(StoreMismatchError):
        open_store(settings, KeywordEmbeddings(dim=64), create=False)
