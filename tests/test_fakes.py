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
