"""Fixtures for answering tests: the shipped corpus, cleaned, in an in-memory index.

H1's cleaner (ingest/clean.py) is used when it exists; until then a small stand-in strips
the corpus noise these tests depend on (ad markers, share line, teaser lists, promo footer,
the broken HTML fragment).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from assistant.types import Document
from tests.conftest import CORPUS
from tests.fakes import InMemoryIndex, KeywordEmbeddings, make_document

_CUT_FROM = ("✅ Follow", "Need Help?", "Previous Articles:")
_HTML_FRAGMENT = re.compile(r"\S*″ target=”_blank” rel=”[^”]*”>")


def strip_noise(text: str) -> str:
    """Stand-in cleaner for the shipped corpus: cut trailing boilerplate, drop ad lines and markup."""
    for marker in _CUT_FROM:
        at = text.find(marker)
        if at >= 0:
            text = text[:at]
    lines = [ln for ln in text.splitlines() if ln.strip() != "- Advertisement -"]
    text = "\n".join(lines)
    return _HTML_FRAGMENT.sub("", text).strip() + "\n"


def clean_text(raw: str) -> str:
    """The corpus text as ingest stores it: H1's cleaner when present, else the stand-in."""
    try:
        from ingest.clean import clean
    except ImportError:
        return strip_noise(raw)
    return clean(raw)[0]


def corpus_documents(clean: bool = True) -> list[Document]:
    """The three shipped articles as Documents (cleaned unless clean=False)."""
    docs = []
    for path in sorted(CORPUS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        docs.append(make_document(path.name, clean_text(raw) if clean else raw))
    return docs


@pytest.fixture
def keyword_index() -> InMemoryIndex:
    """The cleaned corpus in memory, embedded with the deterministic keyword fake."""
    return InMemoryIndex(corpus_documents(), KeywordEmbeddings(dim=256))


@pytest.fixture(scope="session")
def minilm() -> Iterator[object]:
    """The real bundled MiniLM, loaded once per session."""
    from assistant.embeddings import BundledMiniLM

    yield BundledMiniLM()


@pytest.fixture(scope="session")
def minilm_index(minilm: object) -> InMemoryIndex:
    """The cleaned corpus in memory, embedded with the real model (chunks of ~5 sentences)."""
    return InMemoryIndex(corpus_documents(), minilm, chunk_sentences=5, overlap=1)  # type: ignore[arg-type]
