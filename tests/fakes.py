"""Fakes that implement citeline's real interfaces, for fast offline tests.

`KeywordEmbeddings` is a deterministic keyword-hash embedding: texts that share words
get similar vectors, so ranking can be asserted; it counts its calls so tests can prove
that an unchanged re-ingest embeds nothing.
"""

from __future__ import annotations

import hashlib
import math
import re

from langchain_core.embeddings import Embeddings

from assistant.embeddings import EmbeddingInfo

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an and are as at be by for from has have in is it of on or that the this to was were with".split())


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
