"""Thumbs-down feedback: JSON lines appended to settings.feedback_path, one feedback_id per answer.

Each line is ``{"feedback_id", "vote", "question", "history", "answer", "citations", "comment", "ts"}``.
The chat writes a line as soon as an answer is thumbed down (vote "down", comment ""), and
another line with the same ``feedback_id`` whenever that answer's vote changes: a comment
added (vote "down"), the thumbs-down taken back ("none") or switched to a thumbs-up ("up").
Every line is a whole record, so readers keep the last line per ``feedback_id``: it is the
answer's current vote, and only a current "down" is a complaint (a line without "vote",
written before votes were recorded, is a "down"). The eval tooling promotes these to eval cases.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Longest comment kept; longer ones are cut (a feedback box is not a document store).
MAX_COMMENT_CHARS = 2000

#: An answer's vote: thumbed down, switched to a thumbs-up, or the thumbs-down taken back.
VOTE_DOWN, VOTE_UP, VOTE_NONE = "down", "up", "none"
VOTES = (VOTE_DOWN, VOTE_UP, VOTE_NONE)


class FeedbackStore:
    """Appends feedback records to a JSON-lines file; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(
        self,
        *,
        question: str,
        history: Sequence[str],
        answer: Mapping[str, Any],
        comment: str = "",
        feedback_id: str | None = None,
        vote: str = VOTE_DOWN,
    ) -> str:
        """Append one record of an answer's vote and return its feedback_id (new if none given).

        `answer` is the Answer's wire JSON (`Answer.to_json()`); its text and citations are
        stored so the case can be replayed without the server. Record each later change of
        the same answer's vote under the same `feedback_id`: the last line is its vote.
        """
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, not {vote!r}")
        fid = feedback_id or uuid.uuid4().hex
        line = {
            "feedback_id": fid,
            "vote": vote,
            "question": question,
            "history": list(history),
            "answer": str(answer.get("answer", "")),
            "citations": list(answer.get("citations", [])),
            "comment": comment.strip()[:MAX_COMMENT_CHARS],
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data = json.dumps(line, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write call per line in append mode so concurrent writers never interleave lines.
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(data)
        logger.info("vote %r recorded (%s) in %s", vote, fid, self.path)
        return fid

    def read(self) -> list[dict[str, Any]]:
        """The last record per feedback_id (each answer's current vote), in file order (empty if no file)."""
        if not self.path.exists():
            return []
        latest: dict[str, dict[str, Any]] = {}
        with self.path.open(encoding="utf-8") as fh:
            for raw in fh:
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw)
                except json.JSONDecodeError:
                    logger.warning("skipping a damaged feedback line in %s", self.path)
                    continue
                latest[str(rec.get("feedback_id", id(rec)))] = rec
        return list(latest.values())
