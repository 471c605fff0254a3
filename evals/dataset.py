"""Eval cases: the JSON-lines format, loading and validation.

One JSON object per line (see evals/README.md)::

    {"id": "fact-unicef-count", "kind": "fact", "question": "...", "history": [],
     "facts": [{"name": "children affected", "any": ["1.2 million"]}],
     "sources": ["unicef-ai-child-deepfakes.txt"], "must_refuse": false, "expect_conflict": false}

`load_cases` reads every line of every file, collects every problem with its file and line
number, and raises one `CaseFileError` listing them, so a user fixes a file in one pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The folder of the shipped cases (`citeline eval` with no CASES reads its *.jsonl).
DEFAULT_CASES_DIR = Path(__file__).resolve().parent / "cases"

#: Case kinds of the shipped set; other kinds are allowed (they get their own report row).
KNOWN_KINDS = (
    "fact",
    "paraphrase",
    "multi_doc",
    "conflict",
    "follow_up",
    "refuse_absent",
    "refuse_general",
    "refuse_near_miss",
    "refuse_noise",
    "injection",
    "feedback",
)

_REQUIRED = ("id", "kind", "question")
_OPTIONAL = ("history", "facts", "sources", "must_refuse", "expect_conflict", "todo", "feedback")
_KIND = re.compile(r"^[a-z0-9_]+$")
_MAX_REPORTED = 30


class CaseFileError(ValueError):
    """One or more case lines are invalid; the message lists each as `file:line: problem`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:_MAX_REPORTED]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__("invalid eval cases:\n" + "\n".join(shown) + more)


@dataclass(frozen=True)
class Fact:
    """A key fact an answer must contain: any of `any` as a case-insensitive substring."""

    name: str
    any: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One eval case (a line of a cases file)."""

    id: str
    kind: str
    question: str
    history: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()
    sources: tuple[str, ...] = ()
    must_refuse: bool = False
    expect_conflict: bool = False
    todo: str | None = None
    origin: str = ""  # "file:line", for messages
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The case as a JSON object in the file format."""
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "question": self.question,
            "history": list(self.history),
            "facts": [{"name": f.name, "any": list(f.any)} for f in self.facts],
            "sources": list(self.sources),
            "must_refuse": self.must_refuse,
            "expect_conflict": self.expect_conflict,
        }
        if self.todo:
            data["todo"] = self.todo
        data.update(self.extra)
        return data


def default_case_paths() -> list[Path]:
    """The shipped case files, sorted."""
    return sorted(DEFAULT_CASES_DIR.glob("*.jsonl"))


def _str_list(value: object, what: str, problems: list[str], where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: {what!r} must be a list of non-empty strings")
        return ()
    return tuple(value)


def _parse_facts(value: object, problems: list[str], where: str) -> tuple[Fact, ...]:
    if not isinstance(value, list):
        problems.append(f'{where}: \'facts\' must be a list of {{"name": ..., "any": [...]}} objects')
        return ()
    facts: list[Fact] = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict):
            problems.append(f"{where}: fact {i} must be an object with 'name' and 'any'")
            continue
        name = item.get("name")
        alternatives = item.get("any")
        unknown = sorted(set(item) - {"name", "any"})
        if unknown:
            problems.append(f"{where}: fact {i} has unknown field(s) {', '.join(unknown)}")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}: fact {i} needs a non-empty 'name'")
            continue
        alts = _str_list(alternatives, f"facts[{i}].any", problems, where)
        if not alts:
            if isinstance(alternatives, list):
                problems.append(f"{where}: fact {name!r} needs at least one accepted string in 'any'")
            continue
        facts.append(Fact(name, alts))
    return tuple(facts)


def parse_case(data: object, where: str) -> tuple[Case | None, list[str]]:
    """Validate one decoded JSON line; returns the case (or None) and its problems."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return None, [f"{where}: expected a JSON object, got {type(data).__name__}"]
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        problems.append(f"{where}: missing required field(s) {', '.join(missing)}")
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(_REQUIRED + _OPTIONAL)})")
    case_id, kind, question = data.get("id"), data.get("kind"), data.get("question")
    if "id" in data and (not isinstance(case_id, str) or not case_id.strip()):
        problems.append(f"{where}: 'id' must be a non-empty string")
    if "kind" in data and (not isinstance(kind, str) or not _KIND.match(kind)):
        problems.append(f"{where}: 'kind' must be lowercase letters, digits and _ (e.g. 'fact')")
    if "question" in data and (not isinstance(question, str) or not question.strip()):
        problems.append(f"{where}: 'question' must be a non-empty string")
    history = _str_list(data.get("history", []), "history", problems, where)
    sources = _str_list(data.get("sources", []), "sources", problems, where)
    facts = _parse_facts(data.get("facts", []), problems, where)
    flags: dict[str, bool] = {}
    for flag in ("must_refuse", "expect_conflict"):
        value = data.get(flag, False)
        if not isinstance(value, bool):
            problems.append(f"{where}: {flag!r} must be true or false")
            value = False
        flags[flag] = value
    todo = data.get("todo")
    if todo is not None and not isinstance(todo, str):
        problems.append(f"{where}: 'todo' must be a string")
    if flags["must_refuse"] and (facts or flags["expect_conflict"]):
        problems.append(f"{where}: a must_refuse case cannot have facts or expect_conflict")
    if flags["expect_conflict"] and len(facts) < 2:
        problems.append(f"{where}: an expect_conflict case needs the conflicting figures as >= 2 facts")
    if facts and not sources and not problems:
        problems.append(f"{where}: a case with facts needs 'sources' (the documents that support them)")
    if problems:
        return None, problems
    extra = {"feedback": data["feedback"]} if "feedback" in data else {}
    case = Case(
        id=str(case_id),
        kind=str(kind),
        question=str(question),
        history=history,
        facts=facts,
        sources=sources,
        must_refuse=flags["must_refuse"],
        expect_conflict=flags["expect_conflict"],
        todo=todo if isinstance(todo, str) else None,
        origin=where,
        extra=extra,
    )
    return case, []


def case_files(paths: Iterable[Path | str]) -> list[Path]:
    """The case files `paths` name: a file as given, a folder as its *.jsonl files (sorted, not recursive).

    Each file once, in the order given. Raises FileNotFoundError for a missing path or a folder
    without *.jsonl files.
    """
    files: dict[Path, Path] = {}
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise FileNotFoundError(f"{path} is a folder with no *.jsonl case files (sub-folders are not searched)")
        elif path.exists():
            found = [path]
        else:
            raise FileNotFoundError(f"eval case file not found: {path}")
        for file in found:
            files.setdefault(file.resolve(), file)
    return list(files.values())


def _lines(path: Path, problems: list[str]) -> Iterator[tuple[str, str]]:
    """(where, text) of each line of `path`; undecodable lines and unreadable files become problems."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(f"{path}: cannot read ({exc.strerror or exc})")
        return
    for number, raw in enumerate(data.splitlines(), 1):
        where = f"{path}:{number}"
        try:
            # A byte-order mark (some Windows editors write one) is no part of the first case.
            yield where, raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            problems.append(
                f"{where}: not UTF-8 text (bad byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                "save the file as UTF-8"
            )


def load_cases(paths: Iterable[Path | str]) -> list[Case]:
    """Load and validate cases from JSON-lines files (or folders of them), in file then line order.

    A folder stands for its *.jsonl files (`case_files`). Blank lines are skipped. Raises
    `CaseFileError` listing every problem as `file:line: problem` (a line that is not UTF-8 or
    not JSON, missing or mistyped fields, unknown fields, duplicate ids across files) and
    `FileNotFoundError` for a missing file; returns an empty list only if the files hold no case at all.
    """
    cases: list[Case] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in case_files(paths):
        for where, line in _lines(path, problems):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            case, found = parse_case(data, where)
            problems.extend(found)
            if case is None:
                continue
            if case.id in seen:
                problems.append(f"{where}: duplicate id {case.id!r} (first at {seen[case.id]})")
                continue
            seen[case.id] = where
            cases.append(case)
    if problems:
        raise CaseFileError(problems)
    return cases
