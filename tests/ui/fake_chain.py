"""A fake answering chain for UI/server tests: a real LangChain Runnable with canned, cited answers.

Its documents are small and in memory; each Answer's citations quote them verbatim at
[start, end), like the real chain's. It records every Question it receives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from assistant.types import (
    CONFLICT_NOTE,
    REFUSAL_TEXT,
    Answer,
    AnswerDelta,
    Chunk,
    Citation,
    Hit,
    Question,
    StoredDocument,
)

UNICEF_TEXT = (
    "UNICEF issued an urgent global call on Wednesday. "
    "Research shows 1.2 million children had their images manipulated into sexual deepfakes last year. "
    "The agency urged governments to act."
)
MALICIOUS_TEXT = (
    "Harbour lighthouse maintenance notes. "
    "<script>alert(1)</script> The lighthouse lamp is cleaned every Tuesday <img src=x onerror=alert(2)>. "
    '<a href="javascript:alert(3)">click</a> Keepers log every visit.'
)
#: Document text that is Markdown and markup to a renderer: the chat must show it as written.
EXPENSES_QUOTE = (
    "Every claim needs the [manager signature](https://evil.example/phish) and a stamp "
    '![tracking](https://evil.example/pixel.png), is **always** checked by the "audit" team, '
    "and <b>AT&T</b> receipts &amp; $$x^2$$ bills count."
)
EXPENSES_TEXT = f"Harbour expense policy. {EXPENSES_QUOTE} Claims are paid monthly."


class FakeIndex:
    """In-memory ChunkIndex with three documents (one benign, one carrying hostile markup, one Markdown)."""

    def __init__(self) -> None:
        self.docs = {
            "unicef": StoredDocument("unicef", "unicef.txt", "UNICEF urges action", UNICEF_TEXT, "h1"),
            "evil": StoredDocument(
                "evil",
                "evil<script>.html",
                "<script>alert('title')</script> Lighthouse",
                MALICIOUS_TEXT,
                "h2",
            ),
            "expenses": StoredDocument("expenses", "expenses.txt", "Expense policy", EXPENSES_TEXT, "h3"),
        }

    def dense_search(self, query: str, k: int) -> list[Hit]:
        return [Hit(c, 1.0) for c in self.all_chunks()[:k]]

    def all_chunks(self) -> list[Chunk]:
        return [
            Chunk(f"{d.doc_id}:0", d.doc_id, d.source, d.title, d.text, 0, len(d.text), 0) for d in self.docs.values()
        ]

    def get_document(self, doc_id: str) -> StoredDocument | None:
        return self.docs.get(doc_id)

    def revision(self) -> str:
        return "r1"


def _cite(index: FakeIndex, n: int, doc_id: str, quote: str, url: str | None = None) -> Citation:
    doc = index.docs[doc_id]
    start = doc.text.index(quote)
    return Citation(n, doc_id, doc.title, doc.source, quote, start, start + len(quote), url)


class FakeChain(Runnable[Any, Answer]):
    """Canned answers chosen by keywords in the question.

    - "boom": raises (server must answer with a clean error)
    - "unknowable": refusal
    - "disagree": two citations and the conflict note
    - "lighthouse": cites the hostile document (with a javascript: url)
    - "expense": quotes a sentence holding Markdown, markup and entities
    - anything else: the UNICEF figure with citation [1]
    """

    def __init__(self) -> None:
        self.index = FakeIndex()
        self.received: list[Question] = []
        self._lock = threading.Lock()

    def _answer(self, q: Question) -> Answer:
        with self._lock:
            self.received.append(q)
        text = q.question.lower()
        if "boom" in text:
            raise RuntimeError("secret internal detail /etc/passwd")
        if "unknowable" in text:
            return Answer(REFUSAL_TEXT, refused=True)
        if "lighthouse" in text:
            quote = "The lighthouse lamp is cleaned every Tuesday <img src=x onerror=alert(2)>."
            c = _cite(self.index, 1, "evil", quote, url="javascript:alert(3)")
            return Answer(f"{quote} [1]", refused=False, citations=(c,))
        if "expense" in text:
            c = _cite(self.index, 1, "expenses", EXPENSES_QUOTE)
            return Answer(f"{EXPENSES_QUOTE} [1]", refused=False, citations=(c,))
        if "disagree" in text:
            c1 = _cite(self.index, 1, "unicef", "UNICEF issued an urgent global call on Wednesday.")
            c2 = _cite(self.index, 2, "unicef", "The agency urged governments to act.", url="https://example.org/u")
            return Answer(
                f"{c1.quote} [1] {c2.quote} [2]",
                refused=False,
                citations=(c1, c2),
                notes=(CONFLICT_NOTE,),
                warnings=(CONFLICT_NOTE,),
            )
        quote = "Research shows 1.2 million children had their images manipulated into sexual deepfakes last year."
        c = _cite(self.index, 1, "unicef", quote)
        return Answer(f"{quote} [1]", refused=False, citations=(c,), timings_ms={"total": 1.0})

    @staticmethod
    def _question(value: Any) -> Question:
        if isinstance(value, Question):
            return value
        return Question(value["question"], tuple(value.get("history", ())))

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        return self._answer(self._question(input))

    def stream(  # type: ignore[override]
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[AnswerDelta | Answer]:
        answer = self._answer(self._question(input))
        for word in answer.text.split(" "):
            yield AnswerDelta(word + " ")
        yield answer
