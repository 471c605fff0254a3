"""Fakes that implement citeline's real interfaces, for fast offline tests.

`KeywordEmbeddings` is a deterministic keyword-hash embedding: texts that share words
get similar vectors, so ranking can be asserted; it counts its calls so tests can prove
that an unchanged re-ingest embeds nothing.

`InMemoryIndex` is a `ChunkIndex` (the store's protocol) held in memory, for retrieval and
answering tests that need no Chroma.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.embeddings import EmbeddingInfo
from assistant.extractive import split_sentences
from assistant.types import Chunk, Document, Hit, StoredDocument

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
        "is", "it", "of", "on", "or", "that", "the", "this", "to", "was", "were", "with",
    }
)  # fmt: skip


class KeywordEmbeddings(Embeddings):
    """Bag-of-words hashed into `dim` buckets, L2-normalised. Deterministic across runs."""

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.info = EmbeddingInfo(f"fake-keyword-hash-{dim}", dim, 256)
        self.document_calls = 0  # embed_documents calls
        self.documents_embedded = 0  # texts passed to embed_documents
        self.query_calls = 0

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            if word in _STOP:
                continue
            bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % self.dim
            vec[bucket] += 1.0
        norm = math.sqrt(sum(v * v for v in vec))
        if norm == 0.0:
            vec[0] = 1.0  # Chroma rejects all-zero vectors under cosine
            return vec
        return [v / norm for v in vec]

    def count_tokens(self, text: str) -> int:
        """Rough stand-in for the MiniLM tokenizer: words and punctuation, plus [CLS]/[SEP]."""
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls += 1
        self.documents_embedded += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return self._vector(text)


class InMemoryIndex:
    """A `ChunkIndex` over documents held in memory: sentence chunks, numpy cosine search.

    Chunks are runs of up to `chunk_sentences` sentences (split like the extractive answerer
    splits them) overlapping by `overlap` sentences, so ``doc.text[c.start:c.end] == c.text``.
    `revision()` changes whenever `add` or `remove` changes the stored chunks.
    """

    def __init__(
        self,
        documents: Sequence[Document] = (),
        embeddings: Embeddings | None = None,
        *,
        chunk_sentences: int = 3,
        overlap: int = 1,
    ) -> None:
        if not 0 <= overlap < chunk_sentences:
            raise ValueError("overlap must be smaller than chunk_sentences")
        self.embeddings = embeddings if embeddings is not None else KeywordEmbeddings()
        self.chunk_sentences = chunk_sentences
        self.overlap = overlap
        self._docs: dict[str, Document] = {}
        self._chunks: list[Chunk] = []
        self._vectors = np.zeros((0, 1))
        self._revision = 0
        self.dense_calls = 0
        self.all_chunks_calls = 0
        for doc in documents:
            self._docs[doc.doc_id] = doc
        self._rebuild()

    def _chunk(self, doc: Document) -> list[Chunk]:
        spans = split_sentences(doc.text)
        chunks: list[Chunk] = []
        step = self.chunk_sentences - self.overlap
        for i in range(0, max(len(spans) - self.overlap, 1), step):
            group = spans[i : i + self.chunk_sentences]
            if not group:
                break
            start, end = group[0][0], group[-1][1]
            chunks.append(
                Chunk(
                    f"{doc.doc_id}:{len(chunks)}",
                    doc.doc_id,
                    doc.source,
                    doc.title,
                    doc.text[start:end],
                    start,
                    end,
                    len(chunks),
                )
            )
        return chunks

    def _rebuild(self) -> None:
        self._chunks = [c for doc in self._docs.values() for c in self._chunk(doc)]
        if self._chunks:
            self._vectors = np.asarray(self.embeddings.embed_documents([c.text for c in self._chunks]))
        else:
            self._vectors = np.zeros((0, 1))
        self._revision += 1

    def add(self, doc: Document) -> None:
        """Store (or replace) a document."""
        self._docs[doc.doc_id] = doc
        self._rebuild()

    def remove(self, doc_id: str) -> None:
        """Forget a document and its chunks."""
        self._docs.pop(doc_id, None)
        self._rebuild()

    def dense_search(self, query: str, k: int) -> list[Hit]:
        self.dense_calls += 1
        if not self._chunks:
            return []
        q = np.asarray(self.embeddings.embed_query(query))
        norms = np.linalg.norm(self._vectors, axis=1) * (np.linalg.norm(q) or 1.0)
        sims = self._vectors @ q / np.where(norms == 0, 1.0, norms)
        order = np.argsort(-sims, kind="stable")[:k]
        return [
            Hit(self._chunks[i], float(sims[i]), dense_rank=r, dense_score=float(sims[i]))
            for r, i in enumerate(order, start=1)
        ]

    def all_chunks(self) -> list[Chunk]:
        self.all_chunks_calls += 1
        return list(self._chunks)

    def get_document(self, doc_id: str) -> StoredDocument | None:
        doc = self._docs.get(doc_id)
        if doc is None:
            return None
        return StoredDocument(doc.doc_id, doc.source, doc.title, doc.text, doc.content_hash)

    def revision(self) -> str:
        return str(self._revision)


def make_document(source: str, text: str, title: str | None = None) -> Document:
    """A `Document` for tests: doc_id and hash derived from the text, title from the file name."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return Document(doc_id=stem, source=source, title=title or stem.replace("-", " "), text=text, content_hash=digest)
