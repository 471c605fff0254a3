"""The bundled embedder under concurrent callers: requests that wait for the model are combined."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assistant.embeddings import BundledMiniLM


class _GatedModel:
    """Stands in for the HuggingFace model: the first encode blocks until released."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.fail_on = fail_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            assert self.release.wait(5)
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return [[float(len(t)), float(ord(t[0]))] for t in texts]


def _embedder(model: _GatedModel) -> BundledMiniLM:
    emb = BundledMiniLM()
    emb.__dict__["_impl"] = model  # the lazy model, replaced before first use
    return emb


def _wait_for_pending(emb: BundledMiniLM, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(emb._pending) < n:
        assert time.monotonic() < deadline, "callers never queued"
        time.sleep(0.005)


def _wait_for_encode(model: _GatedModel) -> None:
    deadline = time.monotonic() + 5
    while not model.calls:
        assert time.monotonic() < deadline, "the first encode never started"
        time.sleep(0.005)


def test_callers_waiting_for_the_model_share_one_encode() -> None:
    model = _GatedModel()
    emb = _embedder(model)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(emb.embed_query, "a")
        _wait_for_encode(model)  # the first caller holds the model
        waiting = {text: pool.submit(emb.embed_documents, [text, text + "!"]) for text in ("bb", "ccc", "dddd")}
        _wait_for_pending(emb, 3)
        model.release.set()
        assert first.result(5) == [1.0, float(ord("a"))]
        for text, future in waiting.items():
            assert future.result(5) == [[len(text), ord(text[0])], [len(text) + 1, ord(text[0])]]
    assert len(model.calls) == 2 and model.calls[0] == ["a"]
    assert sorted(model.calls[1]) == sorted(["bb", "bb!", "ccc", "ccc!", "dddd", "dddd!"])
    assert emb.encode_calls == 2


def test_a_failed_combined_encode_fails_only_the_caller_whose_text_fails() -> None:
    model = _GatedModel(fail_on="bad")
    emb = _embedder(model)
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(emb.embed_documents, ["fine"])
        _wait_for_encode(model)
        others = [pool.submit(emb.embed_documents, [t]) for t in ("bad", "innocent")]
        _wait_for_pending(emb, 2)
        model.release.set()
        assert first.result(5) == [[4.0, float(ord("f"))]]
        bad, innocent = others
        with pytest.raises(RuntimeError, match="model failed"):
            bad.result(5)
        # The request combined with the bad one still gets its vector (each is retried alone).
        assert innocent.result(5) == [[8.0, float(ord("i"))]]
    # The embedder still works afterwards.
    assert emb.embed_documents(["ok"]) == [[2.0, float(ord("o"))]]


@pytest.mark.model
def test_concurrent_queries_get_the_vectors_they_would_get_alone(minilm: BundledMiniLM) -> None:
    questions = [f"Which regulator opened an inquiry number {i} into Grok?" for i in range(12)]
    alone = [np.asarray(minilm._impl.embed_query(q)) for q in questions]
    with ThreadPoolExecutor(max_workers=12) as pool:
        together = list(pool.map(minilm.embed_documents, [[q] for q in questions]))
    for a, t in zip(alone, together, strict=True):
        assert np.allclose(a, t[0], atol=1e-5)


@pytest.mark.model
def test_token_counts_are_the_encoders_own(minilm: BundledMiniLM) -> None:
    # The chunker keeps chunks within the encoder's window by these counts: they must be the
    # token ids the encoder itself would see, long texts included (no truncation in the count).
    encoder_tokenizer = minilm._impl._client.tokenizer
    texts = [
        "",
        "Privacy regulators issued a joint statement on February 23.",
        "héllo wörld ✓ 𝔘 — naïve café",
        "def f(x: int) -> list[str]: return [str(x)] * 3  # code, too",
        "word " * 600,
    ]
    for text in texts:
        expected = len(encoder_tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])
        assert minilm.count_tokens(text) == expected
    assert minilm.count_tokens("word " * 600) > 256


class _WordTokenizer:
    """Stands in for the counting tokenizer: a token per word, [CLS] and [SEP] around; records calls."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, text: str, add_special_tokens: bool = True) -> list[str]:
        self.encoded.append(text)
        return ["[CLS]", *text.split(), "[SEP]"] if add_special_tokens else text.split()

    def num_special_tokens_to_add(self, is_pair: bool) -> int:
        return 2


def test_token_counts_add_the_special_tokens_once() -> None:
    emb = BundledMiniLM()
    tokenizer = _WordTokenizer()
    emb.__dict__["_counting_tokenizer"] = tokenizer  # the lazy tokenizer, replaced before first use
    texts = ["Open the folder.", "Choose Share and type the names.", ""]
    assert [emb.count_tokens(t) for t in texts] == [5, 8, 2]
    assert tokenizer.encoded == texts
