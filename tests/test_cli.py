"""The `citeline` CLI as a user types it: ingest, ask (text, --json, JSON lines), errors, settings.

The real pipeline, Chroma and the bundled MiniLM run (loaded once per session and handed to
the CLI's factory), so what these tests see is what a user sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app

pytestmark = pytest.mark.model
runner = CliRunner()


@pytest.fixture(autouse=True)
def shared_model(monkeypatch: pytest.MonkeyPatch, minilm: object) -> None:
    monkeypatch.setattr("assistant.embeddings.build_embeddings", lambda *a, **k: minilm)


@pytest.fixture
def data_dir(tmp_path: Path, corpus_copy: Path) -> Path:
    data = tmp_path / "data"
    result = runner.invoke(app, ["ingest", str(corpus_copy), "--data-dir", str(data), "-q"])
    assert result.exit_code == 0, result.output
    return data


def test_ingest_prints_a_summary_and_report(tmp_path: Path, corpus_copy: Path) -> None:
    (corpus_copy / "notes.docx").write_bytes(b"PK\x03\x04 not supported")
    (corpus_copy / "empty.txt").write_text("")
    data = tmp_path / "data"
    result = runner.invoke(app, ["ingest", str(corpus_copy), "--data-dir", str(data), "--report", "-q"])
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output
    assert "2 skipped" in result.output
    assert "notes.docx" in result.output and "empty.txt" in result.output
    # --report shows what cleaning removed from the UNICEF article
    assert "Hostinger" in result.output and "teaser-list" in result.output

    again = runner.invoke(app, ["ingest", str(corpus_copy), "--data-dir", str(data), "-q"])
    assert again.exit_code == 0
    assert "0 added" in again.output and "3 unchanged" in again.output


def test_ingest_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope"), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "error:" in result.output and "nope" in result.output
    assert "Traceback" not in result.output


def test_ask_json_has_the_documented_shape(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["ask", "--json", "--data-dir", str(data_dir), "How many children had their images manipulated?"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"answer", "refused", "citations", "notes", "warnings", "timings_ms"}
    assert out["refused"] is False and "1.2 million" in out["answer"]
    cite = out["citations"][0]
    assert set(cite) >= {"n", "doc_id", "title", "source", "quote", "start", "end"}
    text = (data_dir.parent / "corpus" / cite["source"]).exists()
    assert text  # the source is the path relative to the ingested folder
    assert f"[{cite['n']}]" in out["answer"]


def test_ask_human_output_lists_sources(data_dir: Path) -> None:
    result = runner.invoke(app, ["ask", "--data-dir", str(data_dir), "Which office led the UNICEF research?"])
    assert result.exit_code == 0, result.output
    assert "Innocenti" in result.output
    assert "Sources:" in result.output and "[1]" in result.output


@pytest.mark.parametrize("question", ["", "   \n\t", "x" * 1001])
def test_ask_rejects_empty_or_overlong_questions_with_exit_2(data_dir: Path, question: str) -> None:
    result = runner.invoke(app, ["ask", "--data-dir", str(data_dir), question])
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output


def test_ask_json_lines_from_stdin_answers_each_line(data_dir: Path) -> None:
    lines = [
        json.dumps({"question": "How many children had their images manipulated into sexual deepfakes?"}),
        json.dumps({"question": "Which office led that research?", "history": ["How many children were affected?"]}),
        json.dumps({"question": "What is the capital of Australia?"}),
    ]
    result = runner.invoke(app, ["ask", "--json", "--data-dir", str(data_dir), "-"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert len(answers) == 3
    assert "1.2 million" in answers[0]["answer"]
    assert "Innocenti" in answers[1]["answer"]
    assert answers[2]["refused"] is True and answers[2]["citations"] == []


def test_ask_json_lines_reports_bad_lines_and_exits_2(data_dir: Path) -> None:
    stdin = 'not json\n{"question": ""}\n{"question": "What did UNICEF urge governments to do?"}\n'
    result = runner.invoke(app, ["ask", "--json", "--data-dir", str(data_dir), "-"], input=stdin)
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert "error" in rows[0] and "line 1" in rows[0]["error"]
    assert "error" in rows[1]
    assert rows[2]["refused"] is False  # good lines are still answered


def test_ask_before_ingest_says_what_to_run(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ask", "--data-dir", str(tmp_path / "empty"), "What did UNICEF say?"])
    assert result.exit_code == 1
    assert "citeline ingest" in result.output and "Traceback" not in result.output


def test_settings_lists_every_setting_and_hides_the_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITELINE_LLM_API_KEY", "sk-secret-value")
    result = runner.invoke(app, ["settings"])
    assert result.exit_code == 0
    assert "CITELINE_DATA_DIR" in result.output and "CITELINE_ALLOWED_ORIGINS" in result.output
    assert "sk-secret-value" not in result.output


def test_bad_setting_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITELINE_RETRIEVAL_K", "lots")
    result = runner.invoke(app, ["ask", "--data-dir", str(tmp_path), "anything?"])
    assert result.exit_code == 2
    assert "invalid setting" in result.output and "retrieval_k" in result.output
    assert "Traceback" not in result.output
