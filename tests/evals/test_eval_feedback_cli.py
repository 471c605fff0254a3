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
from evals.dataset import DEFAULT_CASES_DIR, load_cases
from evals.feedback import promote_feedback
from evals.gate import DEFAULT_THRESHOLDS, load_thresholds
from tests.conftest import fresh_logging
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


def test_a_thumbs_down_taken_back_or_switched_to_up_is_not_promoted(tmp_path: Path) -> None:
    down = {**_entry("How much was xAI fined?", "xAI was fined [1]"), "feedback_id": "f1", "vote": "down"}
    liked = {**_entry("Who led the research?", "UNICEF's office [1]"), "feedback_id": "f2", "vote": "down"}
    kept = {**_entry("What did regulators sign?", "Something vague [1]"), "feedback_id": "f3"}  # no vote: down
    fb = _feedback(tmp_path / "feedback.jsonl", [down, liked, kept, {**down, "vote": "none"}, {**liked, "vote": "up"}])
    result = promote_feedback(fb, tmp_path / "out.jsonl")
    assert result.withdrawn == 2
    assert [c.question for c in load_cases([tmp_path / "out.jsonl"])] == ["What did regulators sign?"]


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


def _help(app: typer.Typer, command: str) -> str:
    """A command's --help as one line of words (without the frame's borders)."""
    output = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "400"}).output
    return " ".join(output.replace("│", " ").split())


def _no_chain(settings: object) -> None:
    raise AssertionError("built the chain (loads the model) before checking the arguments")


def test_eval_report_dir_that_is_a_file_fails_before_running(
    app: typer.Typer, cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui.eval_cmd, "build_chain_and_index", _no_chain)
    blocker = tmp_path / "reports.txt"
    blocker.write_text("")
    result = CliRunner().invoke(app, ["eval", str(cases_file), "--report-dir", str(blocker / "sub")])
    assert result.exit_code == 2, result.output
    assert result.output == f"error: cannot write the reports to {blocker / 'sub'}: {blocker} is a file, not a folder\n"


def test_eval_reports_that_cannot_be_written_keep_the_summary(
    app: typer.Typer, cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_chain(monkeypatch, Answer(REFUSAL_TEXT, True))
    reports = tmp_path / "reports"

    def denied(report: object, directory: Path) -> None:
        raise PermissionError(13, "Permission denied", str(directory / "20250101T000000Z"))

    monkeypatch.setattr(ui.eval_cmd, "write_reports", denied)
    result = CliRunner().invoke(app, ["eval", str(cases_file), "--report-dir", str(reports), "--no-progress"])
    assert result.exit_code == 2
    assert "2 cases" in result.output  # the run's results are not lost
    assert f"error: cannot write the reports to {reports}: permission denied for {reports}" in result.output
    assert "Traceback" not in result.output


def test_eval_promote_out_under_a_file_or_a_folder_is_one_error_line(app: typer.Typer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _feedback(data / "feedback.jsonl", [_entry("A brand new question about citeline?", REFUSAL_TEXT)])
    blocker = tmp_path / "cases.txt"
    blocker.write_text("")
    result = CliRunner().invoke(app, ["eval-promote", "--out", str(blocker / "x.jsonl"), "--data-dir", str(data)])
    assert result.exit_code == 2
    assert (
        result.output == f"error: cannot write the cases to {blocker / 'x.jsonl'}: {blocker} is a file, not a folder\n"
    )
    folder = CliRunner().invoke(app, ["eval-promote", "--out", str(tmp_path), "--data-dir", str(data)])
    assert folder.exit_code == 2 and "is a folder" in folder.output and "Traceback" not in folder.output


def test_eval_promote_writes_to_evals_cases_in_the_current_folder(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _feedback(data / "feedback.jsonl", [_entry("A brand new question about citeline?", REFUSAL_TEXT)])
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert "[default: evals/cases/feedback.jsonl]" in _help(app, "eval-promote")
    result = CliRunner().invoke(app, ["eval-promote", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "added 1 case(s) to evals/cases/feedback.jsonl" in result.output
    (case,) = load_cases([project / "evals" / "cases" / "feedback.jsonl"])
    assert case.question == "A brand new question about citeline?"
    # A question already in another case file of that folder is not promoted again.
    _feedback(data / "feedback.jsonl", [_entry("Mine already?", REFUSAL_TEXT)])
    mine = {"id": "mine", "kind": "fact", "question": "Mine already?"}
    (project / "evals" / "cases" / "mine.jsonl").write_text(json.dumps(mine) + "\n", encoding="utf-8")
    again = CliRunner().invoke(app, ["eval-promote", "--data-dir", str(data)])
    assert "added 0 case(s)" in again.output and "skipped 1 duplicate(s)" in again.output


def test_eval_help_says_where_the_default_cases_and_thresholds_are(app: typer.Typer) -> None:
    help_text = _help(app, "eval")
    assert f"Default: the cases shipped with citeline ({DEFAULT_CASES_DIR}" in help_text
    assert f"Default: the thresholds shipped with citeline ({DEFAULT_THRESHOLDS})" in help_text


def test_unknown_metric_in_thresholds_fails_before_any_case_runs(
    app: typer.Typer, cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui.eval_cmd, "build_chain_and_index", _no_chain)
    limits = tmp_path / "limits.json"
    limits.write_text('{"recal_at_k": 1.0, "mrr": 0.5}', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(cases_file), "--gate", "--thresholds", str(limits)])
    assert result.exit_code == 2, result.output
    assert f"error: {limits}: unknown metric(s) 'recal_at_k'; known: pass_rate, recall_at_k" in result.output


def test_eval_case_file_that_is_not_utf8_names_file_and_line(app: typer.Typer, tmp_path: Path) -> None:
    bad = tmp_path / "cases.jsonl"
    bad.write_bytes(json.dumps(CASE_LINES[1]).encode() + b'\n{"id": "x", "kind": "fact", "question": "Caf\xe9?"}\n')
    result = CliRunner().invoke(app, ["eval", str(bad), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{bad}:2: not UTF-8 text (bad byte 0xe9 at column 45); save the file as UTF-8" in result.output


def test_eval_takes_case_files_by_the_cases_option_too(
    app: typer.Typer, cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_chain(monkeypatch, Answer(REFUSAL_TEXT, True))
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({**CASE_LINES[0], "id": "count-again"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", "--cases", str(one), "--no-progress", "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 0, result.output
    assert "1 cases" in result.output
    # With the argument as well, both are run.
    both = CliRunner().invoke(
        app, ["eval", str(one), "--cases", str(cases_file), "--no-progress", "--data-dir", str(tmp_path / "d")]
    )
    assert both.exit_code == 0, both.output
    assert "3 cases" in both.output


def test_eval_runs_every_case_file_of_a_folder(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_chain(monkeypatch, Answer(REFUSAL_TEXT, True))
    folder = tmp_path / "cases"
    folder.mkdir()
    for case in CASE_LINES:
        (folder / f"{case['id']}.jsonl").write_text(json.dumps(case) + "\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a case file")
    result = CliRunner().invoke(app, ["eval", str(folder), "--no-progress", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "2 cases" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    none = CliRunner().invoke(app, ["eval", str(empty), "--data-dir", str(tmp_path / "d")])
    assert none.exit_code == 2
    assert f"error: {empty} is a folder with no *.jsonl case files" in none.output


def test_eval_and_promote_show_each_warning_once(
    cases_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.cli import app as citeline  # the real CLI, with its logging set-up

    _use_chain(monkeypatch, Answer(REFUSAL_TEXT, True))
    typo = tmp_path / "typo.jsonl"
    typo.write_text(json.dumps({**CASE_LINES[0], "sources": ["unicef.text"]}) + "\n", encoding="utf-8")
    data = tmp_path / "data"
    with fresh_logging():
        result = CliRunner().invoke(citeline, ["eval", str(typo), "--no-progress", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert result.output.count("case sources not in the store") == 1, result.output
    assert "WARNING" not in result.output

    data.mkdir(exist_ok=True)
    _feedback(data / "feedback.jsonl", [_entry("New?", REFUSAL_TEXT), "not json"])
    with fresh_logging():
        promoted = CliRunner().invoke(
            citeline, ["eval-promote", "--out", str(tmp_path / "fb.jsonl"), "--data-dir", str(data)]
        )
    assert promoted.exit_code == 0, promoted.output
    assert promoted.output.count("line 2: not valid JSON") == 1, promoted.output
