"""What an ask request may hold: the checks shared by POST /api/ask(/stream) and the chat's `/ask` endpoint.

Both answer the same {"question", "history"} request, so both reject the same bad input with
the same message; only how the error reaches the client differs (a 4xx JSON body, a gr.Error).
"""

from __future__ import annotations

from typing import Any

from assistant.chain import InvalidQuestion, check_encodable, validate_question
from assistant.config import Settings
from assistant.types import Question

#: Most earlier questions accepted in one request (the chain uses the last settings.max_history).
MAX_HISTORY_ITEMS = 50


class BadRequest(Exception):
    """A request rejected with a message the client can act on (HTTP status 4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def ask_question(question: Any, history: Any, settings: Settings) -> Question:
    """The Question for a request's `question` and `history` (None = no history).

    Raises BadRequest (422) unless `question` is a valid question and `history` a list of at
    most MAX_HISTORY_ITEMS strings, each no longer than a question may be and valid text. The chain gets the
    last settings.max_history non-blank items.
    """
    if not isinstance(question, str):
        raise BadRequest(422, '"question" is required and must be a string')
    if history is None:
        history = []
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise BadRequest(422, '"history" must be a list of strings (the earlier questions, oldest first)')
    if len(history) > MAX_HISTORY_ITEMS:
        raise BadRequest(422, f'"history" has {len(history)} items; at most {MAX_HISTORY_ITEMS} are accepted')
    if any(len(h) > settings.max_question_chars for h in history):
        raise BadRequest(422, f'each "history" item must be at most {settings.max_question_chars} characters')
    try:
        for i, earlier in enumerate(history):
            check_encodable(earlier, f"Earlier question {i + 1} of the history")
        clean = validate_question(question, settings.max_question_chars)
    except InvalidQuestion as exc:
        raise BadRequest(422, str(exc)) from None
    recent = history[-settings.max_history :] if settings.max_history else []
    return Question(question=clean, history=tuple(h for h in recent if h.strip()))
