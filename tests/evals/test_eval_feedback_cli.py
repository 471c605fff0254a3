"""Feedback promotion and the `citeline eval` / `eval-promote` commands (fake chain, real files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import ui.eval_cmd
from assistant.types import REFUSAL_TEXT, Answer
from evals.dataset import load_cases
from evals.feedback import promote_feedback
from evals.gate import load_thresholds
from tests.evals.helpers import FakeIndex, answer_of, fake_chain

S_COUNT = "UNICEF research estimates 1.2 million children were affected last year."


def _feedback(path: Path, entries: list[dict[str, Any] | str]) -> Path:
    lines = [e if isinstance(e, str) else json.dumps(e) for e in entries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _entry(question: str, answer: str, comment: str = "", history: list[str] | None = None) -> dict[str, Any]:
    return {"question": question, "history": history or [], "answer": answer, "citations": [],
            "comment": comment, "ts": "2025-01-01T00:00:00Z"}  # fmt: skip


def test_feedback_becomes_loadable_cases_with_sensible_refusal_expectations(tmp_path: Path) -> None:
    fb = _feedback(tmp_path / "feedback.jsonl", [
        _entry("Who led the research?", REFUSAL_TEXT, "it is in the UNICEF article"),
        _entry("How much was xAI fined?", "xAI was fined [1]", "That is made up, the documents don't say"),
        _entry("What did regulators sign?", "Something vague [1]", "incomplete", history=["Earlier?"]),
        "not json",
        json.dumps({"history": []}),
    ])  # fmt: skip
    out = tmp_path / "cases" / "feedback.jsonl"
    result = promote_feedback(fb, out)
    assert len(result.added) == 3 and result.duplicates == 0
    assert result.invalid == ["line 4: not valid JSON (Expecting value)", "line 5: no 'question'"]
    cases = {c.question: c for c in load_cases([out])}
    assert cases["Who led the research?"].must_refuse is False
    assert cases["How much was xAI fined?"].must_refuse is True
    third = cases["What did regulators sign?"]
    assert third.kind == "feedback" and third.history == ("Earlier?",) and third.todo
    assert third.extra["feedback"]["comment"] == "incomplete"


def test_promoting_twice_or_against_existing_cases_adds_no_duplicates(tmp_path: Path) -> None:
    fb = _feedback(tmp_path / "feedback.jsonl", [_entry("Q one?", "a"), _entry("q  ONE?", "b"), _entry("Q two?", "c")])
    existing = tmp_path / "mine.jsonl"
    existing.write_text(json.dumps({"id": "x", "kind": "fact", "question": "Q two?"}) + "\n", encoding="utf-8")
    out = tmp_path / "feedback_cases.jsonl"
    first = promote_feedback(fb, out, existing=[existing])
    assert (len(first.added), first.duplicates) == (1, 2)
    second = promote_feedback(fb, out, existing=[existing])
    assert (second.added, second.duplicates) == ([], 3)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_a_comment_added_later_to_the_same_feedback_id_wins(tmp_path: Path) -> None:
    first = {**_entry("How much was xAI fined?", "xAI was fined [1]"), "feedback_id": "f1"}
    commented = {**first, "comment": "made up: the documents don't say"}
    fb = _feedback(tmp_path / "feedback.jsonl", [first, commented])
    out = tmp_path / "out.jsonl"
    result = promote_feedback(fb, out)
    assert (len(result.added), result.duplicates) == (1, 0)
    (case,) = load_cases([out])
    assert case.must_refuse is True and "made up" in case.extra["feedback"]["comment"]


def test_missing_feedback_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="thumbs-down"):
        promote_feedback(tmp_path / "none.jsonl", tmp_path / "out.jsonl")


# --- CLI --------------------------------------------------------------------------------------

CASE_LINES = [
    {"id": "count", "kind": "fact", "question": "How many children?",
     "facts": [{"name": "count", "any": ["1.2 million"]}], "sources": ["unicef.txt"]},
    {"id": "bread", "kind": "refuse_absent", "question": "Bread?", "must_refuse": True},
]  # fmt: skip


@pytest.fixture
def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("eval")(ui.eval_cmd.eval_command)
    cli.command("eval-promote")(ui.eval_cmd.promote_feedback_command)
    return cli


@pytest.fixture
def cases_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in CASE_LINES) + "\n", encoding="utf-8")
    return path


def _use_chain(monkeypatch: pytest.MonkeyPatch, bread: Answer) -> None:
    chain = fake_chain({"How many children?": answer_of(("unicef", S_COUNT)), "Bread?": bread})
    monkeypatch.setattr(ui.eval_cmd, "build_chain_and_index", lambda settings: (chain, FakeIndex()))


def test_eval_command_prints_summary_writes_reports_and_passes_the_gate(
    app: typer.Typer, cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_chain(monkeypatch, Answer(REFUSAL_TEXT, True))
    reports = tmp_path / "reports"
    result = CliRunner().invoke(
        app, ["eval", str(cases_file), "--gate", "--report-dir", str(reports), "--no-progress",
              "--data-dir", str(tmp_path / "data")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 cases" in result.output and "gate: passed" in result.output
    assert (reports / "latest" / "report.html").is_file()
    assert str(reports) in result.output


def test_eval_command_gate_failure_exits_1_naming_the_metric(
    app: typer.Typer, cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_chain(monkeypatch, answer_of(("unicef", S_COUNT)))  # answers the must-refuse case
    result = CliRunner().invoke(
        app, ["eval", str(cases_file), "--gate", "--no-progress", "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 1
    threshold = load_thresholds()["refusal_f1"]
    assert f"gate: FAIL refusal F1 is 0.000, below the threshold {threshold:.3f}" in result.output
    assert (tmp_path / "data" / "reports" / "latest" / "report.json").is_file()


def test_eval_command_json_output_is_the_report(
    app: typer.Typer, cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_chain(monkeypatch, Answer(REFUSAL_TEXT, True))
    result = CliRunner().invoke(
        app, ["eval", str(cases_file), "--json", "--no-progress", "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["metrics"]["key_fact_recall"] == 1.0 and len(data["cases"]) == 2


def test_eval_command_rejects_a_bad_case_file_with_exit_2(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "kind": "fact"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(bad), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{bad}:1: missing required field(s) question" in result.output


def test_eval_promote_command(app: typer.Typer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _feedback(data / "feedback.jsonl", [_entry("A brand new question about citeline?", REFUSAL_TEXT)])
    out = tmp_path / "fb.jsonl"
    result = CliRunner().invoke(app, ["eval-promote", "--out", str(out), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "added 1 case(s)" in result.output
    assert load_cases([out])[0].kind == "feedback"
    missing = CliRunner().invoke(app, ["eval-promote", "--out", str(out), "--data-dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no feedback file" in missing.output
