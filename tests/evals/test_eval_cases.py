"""The shipped eval set is well-formed and grounded in the corpus; bad case files fail clearly."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.dataset import CaseFileError, default_case_paths, load_cases
from evals.metrics import normalise
from tests.conftest import CORPUS

MINIMUMS = {
    "fact": 15, "paraphrase": 8, "multi_doc": 5, "conflict": 2, "follow_up": 6, "refuse_absent": 6,
    "refuse_general": 4, "refuse_near_miss": 5, "refuse_noise": 5, "injection": 4,
}  # fmt: skip


def test_shipped_cases_load_and_cover_every_kind() -> None:
    cases = load_cases(default_case_paths())
    kinds = Counter(c.kind for c in cases)
    assert len(cases) >= 60
    for kind, minimum in MINIMUMS.items():
        assert kinds[kind] >= minimum, f"only {kinds[kind]} {kind} cases"
    assert all(c.expect_conflict for c in cases if c.kind == "conflict")
    assert all(c.history for c in cases if c.kind == "follow_up")
    assert all(len(c.sources) >= 2 for c in cases if c.kind == "multi_doc")


def test_every_shipped_fact_is_stated_in_one_of_its_case_sources() -> None:
    docs = {p.name: normalise(p.read_text(encoding="utf-8")) for p in CORPUS.glob("*.txt")}
    for case in load_cases(default_case_paths()):
        for source in case.sources:
            assert source in docs, f"{case.id}: unknown source {source}"
        for fact in case.facts:
            assert any(normalise(alt) in docs[s] for alt in fact.any for s in case.sources), (case.id, fact)


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = {
    "id": "a",
    "kind": "fact",
    "question": "Q?",
    "facts": [{"name": "n", "any": ["x"]}],
    "sources": ["d.txt"],
}


def test_errors_name_file_line_and_problem(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "bad.jsonl",
        [
            json.dumps(GOOD),
            "",
            "{not json",
            json.dumps({"id": "b", "kind": "fact"}),
            json.dumps({**GOOD, "id": "c", "must_refused": True}),
            json.dumps({**GOOD, "id": "d", "facts": [{"name": "n", "any": []}]}),
            json.dumps({**GOOD, "id": "e", "must_refuse": True}),
            json.dumps({**GOOD, "id": "f", "history": "not a list"}),
            json.dumps({**GOOD, "id": "g", "sources": []}),
        ],
    )
    with pytest.raises(CaseFileError) as err:
        load_cases([path])
    message = str(err.value)
    assert f"{path}:3: not valid JSON" in message
    assert f"{path}:4: missing required field(s) question" in message
    assert f"{path}:5: unknown field(s) must_refused" in message
    assert f"{path}:6:" in message and "at least one accepted string" in message
    assert f"{path}:7: a must_refuse case cannot have facts" in message
    assert f"{path}:8: 'history' must be a list" in message
    assert f"{path}:9: a case with facts needs 'sources'" in message
    assert f"{path}:1" not in message


def test_duplicate_ids_across_files_are_reported(tmp_path: Path) -> None:
    one = _write(tmp_path, "one.jsonl", [json.dumps(GOOD)])
    two = _write(tmp_path, "two.jsonl", [json.dumps(GOOD)])
    with pytest.raises(CaseFileError, match=r"two.jsonl:1: duplicate id 'a' \(first at .*one.jsonl:1\)"):
        load_cases([one, two])


def test_missing_file_and_defaults(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="eval case file not found"):
        load_cases([tmp_path / "nope.jsonl"])
    minimal = _write(tmp_path, "ok.jsonl", [json.dumps({"id": "r", "kind": "refuse_absent", "question": "Q?",
                                                        "must_refuse": True})])  # fmt: skip
    (case,) = load_cases([minimal])
    assert (case.history, case.facts, case.sources, case.expect_conflict) == ((), (), (), False)
    assert case.to_json()["must_refuse"] is True


def test_a_case_file_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "notepad.jsonl"
    line = json.dumps({"id": "bom", "kind": "refuse_absent", "question": "Bread?", "must_refuse": True})
    path.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\r\n")
    assert [c.id for c in load_cases([path])] == ["bom"]


def test_a_folder_and_a_file_in_it_load_each_case_once(tmp_path: Path) -> None:
    line = json.dumps({"id": "one", "kind": "refuse_absent", "question": "Bread?", "must_refuse": True})
    (tmp_path / "a.jsonl").write_text(line + "\n", encoding="utf-8")
    assert [c.id for c in load_cases([tmp_path, tmp_path / "a.jsonl"])] == ["one"]
