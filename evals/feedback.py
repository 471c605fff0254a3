"""Turn thumbs-down feedback from the chat into eval cases to fill in.

The chat appends one JSON line per thumbs-down to `settings.feedback_path`:
{"feedback_id", "question", "history", "answer", "citations", "comment", "ts"}; when the
user adds a comment, takes the thumbs-down back or switches to a thumbs-up, it appends the entry
again with the same feedback_id and its "vote" ("down", "none" or "up"; a line without one is a
"down"), and the last line of an id wins: only answers whose last vote is "down" are promoted.
`promote_feedback` appends
one case per new question to a cases file, with kind "feedback" and a "todo" note:

- the rejected answer was a refusal -> the user expected an answer: must_refuse false; fill in
  the facts and sources the answer should have had;
- the comment says the answer should not have been given (made up, not in the documents,
  should refuse, ...) -> must_refuse true; check it;
- otherwise -> must_refuse false, facts empty; fill in the facts the answer must contain.

Until facts are filled in, a feedback case still checks refusal behaviour. The rejected
answer and the comment are kept under "feedback" for context. A question (with its
history) already in the output file or in any `existing` cases file is skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.types import REFUSAL_TEXT

log = logging.getLogger(__name__)

_SHOULD_REFUSE = re.compile(
    r"made[ -]?up|hallucinat|invent|not in the (?:doc|source|text)|isn'?t in the (?:doc|source|text)|"
    r"should(?:n'?t| not) (?:have )?answer|should (?:have )?refuse|should say (?:it )?(?:does|did)n'?t know|"
    r"no such|doesn'?t (?:say|mention)|does not (?:say|mention)|not mentioned",
    re.IGNORECASE,
)


@dataclass
class PromotionResult:
    """What `promote_feedback` did."""

    added: list[str] = field(default_factory=list)  # new case ids
    duplicates: int = 0
    withdrawn: int = 0  # thumbs-downs taken back or switched to a thumbs-up
    invalid: list[str] = field(default_factory=list)  # "line N: reason"


def _key(question: str, history: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    def norm(s: str) -> str:
        return " ".join(s.lower().split())

    return norm(question), tuple(norm(h) for h in history)


def _existing_keys(paths: Iterable[Path]) -> set[tuple[str, tuple[str, ...]]]:
    keys: set[tuple[str, tuple[str, ...]]] = set()
    for path in paths:
        if not path.is_file():
            continue
        # errors="replace": a file that is not UTF-8 is load_cases' to report; here it only cannot match.
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue  # load_cases reports bad lines; here they just cannot be duplicates
            if isinstance(data, dict) and isinstance(data.get("question"), str):
                history = data.get("history") or []
                keys.add(_key(data["question"], [h for h in history if isinstance(h, str)]))
    return keys


def feedback_case(entry: dict[str, Any]) -> dict[str, Any]:
    """The case line for one feedback entry (see the module docstring for the rules)."""
    question = str(entry["question"]).strip()
    history = [str(h) for h in entry.get("history") or []]
    answer = str(entry.get("answer") or "")
    comment = str(entry.get("comment") or "").strip()
    digest = hashlib.sha1(json.dumps([question, history]).encode("utf-8")).hexdigest()[:10]
    if answer.strip() == REFUSAL_TEXT:
        must_refuse = False
        todo = "The assistant refused; add the facts a correct answer contains and the sources that hold them."
    elif _SHOULD_REFUSE.search(comment):
        must_refuse = True
        todo = "The comment says this should not have been answered; check that the documents lack it."
    else:
        must_refuse = False
        todo = "Add the facts a correct answer must contain and the sources that hold them."
    return {
        "id": f"feedback-{digest}",
        "kind": "feedback",
        "question": question,
        "history": history,
        "facts": [],
        "sources": [],
        "must_refuse": must_refuse,
        "expect_conflict": False,
        "todo": todo,
        "feedback": {"answer": answer, "comment": comment, "ts": entry.get("ts")},
    }


def promote_feedback(feedback_path: Path, out_path: Path, existing: Iterable[Path] = ()) -> PromotionResult:
    """Append a case for each new thumbs-down question in `feedback_path` to `out_path`.

    Skips entries whose question (and history) is already in `out_path`, in `existing`, or
    earlier in the feedback file; lines that are not valid feedback are reported, not fatal.
    Raises FileNotFoundError when there is no feedback file.
    """
    if not feedback_path.is_file():
        raise FileNotFoundError(f"no feedback file at {feedback_path} (thumbs-down in the chat creates it)")
    result = PromotionResult()
    seen = _existing_keys([out_path, *existing])
    entries: dict[object, dict[str, Any]] = {}  # the chat rewrites an entry to add a comment: last wins
    for number, line in enumerate(feedback_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            result.invalid.append(f"line {number}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("question"), str) or not entry["question"].strip():
            result.invalid.append(f"line {number}: no 'question'")
            continue
        if not isinstance(entry.get("history") or [], list):
            result.invalid.append(f"line {number}: 'history' is not a list")
            continue
        entries[entry.get("feedback_id") or ("line", number)] = entry
    new_lines: list[str] = []
    for entry in entries.values():
        if entry.get("vote", "down") != "down":  # taken back, or switched to a thumbs-up
            result.withdrawn += 1
            continue
        key = _key(entry["question"], [str(h) for h in entry.get("history") or []])
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        case = feedback_case(entry)
        new_lines.append(json.dumps(case, ensure_ascii=False))
        result.added.append(case["id"])
    if new_lines:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        prefix = ""
        if out_path.is_file() and out_path.stat().st_size and not out_path.read_bytes().endswith(b"\n"):
            prefix = "\n"
        with out_path.open("a", encoding="utf-8") as handle:
            handle.write(prefix + "\n".join(new_lines) + "\n")
    for problem in result.invalid:  # returned to the caller (the CLI prints them), so INFO, not WARNING
        log.info("feedback %s: %s", feedback_path, problem)
    return result
