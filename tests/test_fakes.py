from tests.fakes import KeywordEmbeddings


def test_keyword_embeddings_rank_shared_words_higher() -> None:
    emb = KeywordEmbeddings()
    q = emb.embed_query("UNICEF deepfakes children")
    near, far = emb.embed_documents(["UNICEF research on deepfakes of children", "AMD stock dives"])
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    assert dot(q, near) > dot(q, far)
    assert emb.document_calls == 1 and emb.documents_embedded == 2 and emb.query_calls == 1


def test_keyword_embeddings_are_deterministic_and_unit_length() -> None:
    a, b = KeywordEmbeddings(), KeywordEmbeddings()
    va, vb = a.embed_query("privacy regulators"), b.embed_query("privacy regulators")
    assert va == vb
    assert abs(sum(v * v for v in va) - 1.0) < 1e-9
    assert abs(sum(v * v for v in a.embed_query("")) - 1.0) < 1e-9


def test_in_memory_index_chunks_verbatim_and_tracks_revisions() -> None:
    from tests.fakes import InMemoryIndex, make_document

    doc = make_document("a.txt", "One sentence here. Two sentences here.\nThree on a line. Four to end.")
    index = InMemoryIndex([doc], KeywordEmbeddings(), chunk_sentences=2, overlap=1)
    chunks = index.all_chunks()
    assert [c.text for c in chunks] == [
        "One sentence here. Two sentences here.",
        "Two sentences here.\nThree on a line.",
        "Three on a line. Four to end.",
    ]
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)
    hits = index.dense_search("four end", k=2)
    assert hits[0].chunk.text.endswith("Four to end.") and hits[0].dense_rank == 1 and len(hits) == 2
    stored = index.get_document("a")
    assert stored is not None and stored.text == doc.text

    before = index.revision()
    index.add(make_document("b.txt", "Another doc."))
    assert index.revision() != before and index.get_document("b") is not None
    index.remove("b")
    assert index.get_document("b") is None and index.dense_search("Another", 5)[0].chunk.doc_id == "a"
