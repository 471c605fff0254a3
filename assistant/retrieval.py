"""Hybrid retrieval: dense (the store's embeddings) plus BM25 (bm25s), fused by reciprocal rank.

Dense search finds paraphrases; BM25 finds rare exact terms (names, figures) that a small
embedder blurs. Reciprocal rank fusion (RRF) combines the two rankings without having to
calibrate their incomparable scores against each other.

Follow-up questions ("Which office led that research?") do not name their topic, so when a
question looks like a follow-up the retrieval query also carries the user's most recent
earlier question(s). The answerer still answers the current question only.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import bm25s
import numpy as np
import Stemmer

from assistant.types import Chunk, ChunkIndex, Hit, Question

log = logging.getLogger(__name__)

#: English stopwords for BM25 (bm25s' list) plus question words, which carry no topic.
BM25_STOPWORDS: tuple[str, ...] = tuple(
    sorted(
        set(bm25s.tokenization.STOPWORDS_EN)
        | {
            "what",
            "which",
            "who",
            "whom",
            "whose",
            "when",
            "where",
            "why",
            "how",
            "did",
            "does",
            "do",
            "many",
            "much",
        }
    )
)

# Words that point back at something said earlier: a question using them likely needs context.
_FOLLOW_UP_WORDS = frozenset(
    "that this those these it they them he she him there same former latter also else".split()  # noqa: SIM905
)
# Possessives refer back only when nothing in the question precedes them ("What did her office
# do?"), not in "How many children had their images ...?".
_POSSESSIVES = frozenset({"its", "their", "his", "her"})
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
#: A question with at most this many topic words is too short to stand alone.
_SHORT_QUESTION_WORDS = 3
#: How many earlier questions a follow-up borrows (the most recent ones).
_FOLLOW_UP_CONTEXT = 2


_STEMMER = Stemmer.Stemmer("english")
_STEMMER_LOCK = threading.Lock()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of a lowercased word: "committed" and "commitment" -> "commit"."""
    with _STEMMER_LOCK:  # a PyStemmer object is not safe to share between threads
        return str(_STEMMER.stemWord(word))


def stem_words(words: list[str]) -> list[str]:
    """`stem` of each word."""
    return [stem(w) for w in words]


def bm25_tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lowercased, stemmed word tokens without stopwords ("installing" and "installed" match)."""
    return bm25s.tokenize(
        list(texts),
        lower=True,
        stopwords=list(BM25_STOPWORDS),
        stemmer=stem_words,
        return_ids=False,
        show_progress=False,
    )


def looks_like_follow_up(question: str, history: Sequence[str] = ()) -> bool:
    """True when the question refers back (that, it, they, ...), is too short to stand alone, or
    names with "the" something the previous question was about ("How many countries did the
    research cover?" after "What did UNICEF's research find?")."""
    words = [w.lower().strip("'’") for w in _WORD.findall(question)]
    if any(w in _FOLLOW_UP_WORDS for w in words):
        return True
    for i, w in enumerate(words):
        if w in _POSSESSIVES and all(x in BM25_STOPWORDS for x in words[:i]):
            return True
    if history:
        earlier = {stem(w.lower()) for w in _WORD.findall(history[-1]) if w.lower() not in BM25_STOPWORDS}
        if any(w == "the" and stem(nxt) in earlier for w, nxt in pairwise(words)):
            return True
    topic_words = [w for w in words if w not in BM25_STOPWORDS]
    return len(topic_words) <= _SHORT_QUESTION_WORDS - 1


def retrieval_query(question: Question, max_history: int) -> str:
    """The text retrieval searches with: the question, plus recent history for follow-ups."""
    history = [h.strip() for h in question.history[-max_history:] if h.strip()] if max_history > 0 else []
    if not history or not looks_like_follow_up(question.question, history):
        return question.question
    context = history[-_FOLLOW_UP_CONTEXT:]
    return " ".join([question.question, *reversed(context)])


@dataclass
class _Fused:
    chunk: Chunk
    score: float = 0.0
    dense_rank: int | None = None
    sparse_rank: int | None = None
    dense_score: float | None = None


@dataclass
class _Bm25Cache:
    revision: str
    chunks: list[Chunk]
    model: bm25s.BM25 | None  # None when the index holds no chunks


class HybridRetriever:
    """Dense + BM25 retrieval over a `ChunkIndex`, fused with reciprocal rank fusion.

    The BM25 index is built lazily from `index.all_chunks()` on first use and rebuilt when
    `index.revision()` changes; building is guarded by a lock so concurrent requests share
    one build. `retrieve` returns at most `k` hits, best first, with `score` the fused RRF
    score and the per-retriever ranks kept.
    """

    def __init__(
        self,
        index: ChunkIndex,
        *,
        candidate_k: int = 30,
        k: int = 8,
        rrf_k: int = 60,
        max_history: int = 6,
    ) -> None:
        if candidate_k <= 0 or k <= 0 or rrf_k <= 0 or max_history < 0:
            raise ValueError("candidate_k, k and rrf_k must be positive and max_history not negative")
        self.index = index
        self.candidate_k = candidate_k
        self.k = k
        self.rrf_k = rrf_k
        self.max_history = max_history
        self._lock = threading.Lock()
        self._cache: _Bm25Cache | None = None

    def _bm25(self) -> _Bm25Cache:
        revision = self.index.revision()
        cache = self._cache
        if cache is not None and cache.revision == revision:
            return cache
        with self._lock:
            cache = self._cache
            if cache is not None and cache.revision == revision:
                return cache
            chunks = self.index.all_chunks()
            model: bm25s.BM25 | None = None
            if chunks:
                model = bm25s.BM25()
                model.index(bm25_tokenize([c.text for c in chunks]), show_progress=False)
            log.debug("built BM25 index over %d chunks (revision %s)", len(chunks), revision)
            cache = _Bm25Cache(revision, chunks, model)
            self._cache = cache
            return cache

    def sparse_search(self, query: str, k: int) -> list[tuple[Chunk, float]]:
        """The k best BM25 chunks for `query` with a positive score, best first."""
        cache = self._bm25()
        if cache.model is None:
            return []
        tokens = bm25_tokenize([query])[0]
        if not tokens:
            return []
        scores = np.asarray(cache.model.get_scores(tokens), dtype=float)
        # Stable sort so equal scores keep the index's order (deterministic results).
        order = np.argsort(-scores, kind="stable")[:k]
        return [(cache.chunks[i], float(scores[i])) for i in order if scores[i] > 0.0]

    def retrieve(self, question: Question) -> list[Hit]:
        """The `k` chunks most relevant to the question (history-aware), best first."""
        query = retrieval_query(question, self.max_history)
        dense = self.index.dense_search(query, self.candidate_k)
        sparse = self.sparse_search(query, self.candidate_k)

        fused: dict[str, _Fused] = {}
        for rank, hit in enumerate(dense, start=1):
            entry = fused.setdefault(hit.chunk.chunk_id, _Fused(hit.chunk))
            entry.dense_rank = rank
            entry.dense_score = hit.dense_score if hit.dense_score is not None else hit.score
            entry.score += 1.0 / (self.rrf_k + rank)
        for rank, (chunk, _score) in enumerate(sparse, start=1):
            entry = fused.setdefault(chunk.chunk_id, _Fused(chunk))
            entry.sparse_rank = rank
            entry.score += 1.0 / (self.rrf_k + rank)

        hits = [Hit(e.chunk, e.score, e.dense_rank, e.sparse_rank, e.dense_score) for e in fused.values()]
        big = 10**9
        hits.sort(key=lambda h: (-h.score, h.dense_rank or big, h.sparse_rank or big, h.chunk.chunk_id))
        return hits[: self.k]
