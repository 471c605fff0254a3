"""Small fakes for the eval tests: an in-memory ChunkIndex and a canned-answer chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from langchain_core.runnables import RunnableLambda

from assistant.types import Answer, Chunk, Citation, Hit, Question, StoredDocument

UNICEF = (
    "UNICEF research estimates 1.2 million children were affected last year. "
    "The project was led by the Office of Strategy and Evidence Innocenti. "
    "Children cannot wait for the law to catch up."
)
REGULATORS = "More than 50 data protection authorities signed the declaration. The statement was released February 23."
PRIVACY = "Almost 60 privacy and data protection authorities joined the call."

TEXTS = {"unicef": UNICEF, "regs": REGULATORS, "privacy": PRIVACY}
SOURCES = {"unicef": "unicef.txt", "regs": "regs.txt", "privacy": "privacy.txt"}


def chunk(doc_id: str, start: int, end: int, index: int = 0) -> Chunk:
    """A chunk of one of the fake documents at [start:end]."""
    text = TEXTS[doc_id]
    return Chunk(f"{doc_id}-{index}", doc_id, SOURCES[doc_id], doc_id.title(), text[start:end], start, end, index)


def whole(doc_id: str) -> Chunk:
    """The whole fake document as one chunk."""
    return chunk(doc_id, 0, len(TEXTS[doc_id]))


def hit(c: Chunk, score: float = 1.0) -> Hit:
    return Hit(c, score)


def cite(n: int, doc_id: str, sentence: str) -> Citation:
    """Citation n of `sentence`, located in the fake document (must occur verbatim)."""
    text = TEXTS[doc_id]
    start = text.index(sentence)
    return Citation(n, doc_id, doc_id.title(), SOURCES[doc_id], sentence, start, start + len(sentence))


def answer_of(*parts: tuple[str, str], hits: tuple[Hit, ...] | None = None, notes: tuple[str, ...] = ()) -> Answer:
    """An extractive-style answer: each (doc_id, sentence) quoted verbatim with its [n] marker."""
    citations = tuple(cite(n, d, s) for n, (d, s) in enumerate(parts, 1))
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    if hits is None:
        hits = tuple(hit(whole(d)) for d in dict.fromkeys(d for d, _ in parts))
    return Answer(text, False, citations, notes, {"total": 1.0}, hits)


class FakeIndex:
    """A ChunkIndex over the fake documents, one chunk each."""

    def __init__(self, texts: Mapping[str, str] = TEXTS) -> None:
        self.texts = dict(texts)

    def dense_search(self, query: str, k: int) -> list[Hit]:
        return [hit(whole(d)) for d in self.texts][:k]

    def all_chunks(self) -> list[Chunk]:
        return [whole(d) for d in self.texts]

    def get_document(self, doc_id: str) -> StoredDocument | None:
        if doc_id not in self.texts:
            return None
        return StoredDocument(doc_id, SOURCES[doc_id], doc_id.title(), self.texts[doc_id], "hash")

    def revision(self) -> str:
        return "1"


class FakeRetriever:
    """`retrieve(Question)` with canned hits per question."""

    def __init__(self, hits: Mapping[str, list[Hit]]) -> None:
        self.hits = hits
        self.calls = 0

    def retrieve(self, question: Question) -> list[Hit]:
        self.calls += 1
        return self.hits.get(question.question, [])


def fake_chain(
    answers: Mapping[str, Answer | Callable[[Question], Answer]], retriever: FakeRetriever | None = None
) -> RunnableLambda:
    """A Runnable Question -> Answer with canned answers by question text (KeyError for others)."""

    def respond(question: Question) -> Answer:
        reply = answers[question.question]
        return reply(question) if callable(reply) else reply

    chain = RunnableLambda(respond)
    if retriever is not None:
        object.__setattr__(chain, "retriever", retriever)
    return chain
