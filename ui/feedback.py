"""Thumbs-down feedback: one JSON line per report, appended to settings.feedback_path.

Each line is ``{"feedback_id", "question", "history", "answer", "citations", "comment", "ts"}``.
The chat writes a line as soon as an answer is thumbed down (comment ""), and another
line with the same ``feedback_id`` if the user then adds a comment; readers keep the last
line per ``feedback_id``. The eval tooling promotes these lines to eval cases.
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
    ) -> str:
        """Append one thumbs-down record and return its feedback_id.

        `answer` is the Answer's wire JSON (`Answer.to_json()`); its text and citations are
        stored so the case can be replayed without the server.
        """
        fid = feedback_id or uuid.uuid4().hex
        line = {
            "feedback_id": fid,
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
        logger.info("thumbs-down recorded (%s) in %s", fid, self.path)
        return fid

    def read(self) -> list[dict[str, Any]]:
        """Every record, the last one per feedback_id, in file order (empty if no file)."""
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
