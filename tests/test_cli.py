"""The `citeline` CLI as a user types it: ingest, ask (text, --json, JSON lines), errors, settings.

The real pipeline, Chroma and the bundled MiniLM run (loaded once per session and handed to
the CLI's factory), so what these tests see is what a user sees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ui.cli
from assistant.types import Answer, Question
from tests.conftest import fresh_logging
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


def test_ingest_into_a_data_dir_that_is_a_file_is_one_error_line(tmp_path: Path, corpus_copy: Path) -> None:
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("a file where the store should go")
    result = runner.invoke(app, ["ingest", str(corpus_copy), "--data-dir", str(not_a_folder), "-q"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: Cannot create the document store")
    assert f"{not_a_folder} is a file, not a folder" in result.output and "--data-dir" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_ingest_shows_each_skipped_file_once_sorted_and_logs_them_with_v(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zz.pdf").write_bytes(b"not a pdf")  # pypdf logs "invalid pdf header" on its own
    (docs / "empty.txt").write_text("")
    (docs / "bad.txt").write_bytes(b"caf\xe9\n")
    data = str(tmp_path / "data")
    with fresh_logging():
        result = runner.invoke(app, ["ingest", str(docs), "--data-dir", data, "-q"])
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.stderr, result.stderr
    skipped = [line.split(":")[0] for line in result.output.splitlines() if line.startswith("Skipped")]
    assert skipped == ["Skipped bad.txt", "Skipped empty.txt", "Skipped zz.pdf"]

    with fresh_logging():
        verbose = runner.invoke(app, ["ingest", str(docs), "--data-dir", data, "-q", "-v"])  # -v after the command
    assert verbose.exit_code == 0, verbose.output
    assert "INFO ingest.pipeline: skipped empty.txt: empty file" in verbose.stderr
    assert "pypdf" in verbose.stderr
    assert "Skipped empty.txt: empty file" in verbose.stdout  # and the summary as without -v


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


def test_ask_json_lines_give_one_output_line_per_non_blank_input_line(data_dir: Path) -> None:
    stdin = (
        b'{"question": "What did UNICEF urge governments to do?"}\n'
        b"\n"  # blank: skipped
        b'{"question": "  "}\n'
        b"   \n"  # blank too
        b'{"question": "caf\xe9?"}\n'  # not UTF-8
        b'{"question": "Which office led it?", "history": ["\\ud800"]}\n'  # a lone surrogate
        b'{"question": "What did UNICEF urge governments to do?"}\n'
    )
    result = runner.invoke(app, ["ask", "--json", "--data-dir", str(data_dir), "-"], input=stdin)
    assert result.exit_code == 2
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 5  # the five non-blank lines, in order
    assert rows[0]["refused"] is False and rows[4]["refused"] is False
    assert rows[1]["error"].startswith("line 3: The question is empty")
    assert rows[2]["error"].startswith("line 5: not UTF-8")
    assert rows[3]["error"].startswith("line 6: ")


def test_ask_json_lines_go_on_after_an_answer_that_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Chain:
        def invoke(self, question: Question) -> Answer:
            if "boom" in question.question:
                raise RuntimeError("the store went away")
            return Answer("I couldn't find that in the documents.", True)

    monkeypatch.setattr(ui.cli, "_load_chain", lambda settings: Chain())
    stdin = '{"question": "boom?"}\n{"question": "fine?"}\n'
    result = runner.invoke(app, ["ask", "--json", "--data-dir", str(tmp_path), "-"], input=stdin)
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0] == {"error": "line 1: could not answer (RuntimeError: the store went away)"}
    assert rows[1]["refused"] is True


def test_json_output_is_one_line_whatever_the_quote_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Chain:
        def invoke(self, question: Question) -> Answer:
            return Answer("first\u2028second\x85third\u2029.", False)

    monkeypatch.setattr(ui.cli, "_load_chain", lambda settings: Chain())
    result = runner.invoke(app, ["ask", "--json", "--data-dir", str(tmp_path), "-"], input='{"question": "q?"}\n')
    (line,) = result.stdout.splitlines()  # str.splitlines splits on U+2028, U+2029 and U+0085 too
    assert json.loads(line)["answer"] == "first\u2028second\x85third\u2029."


def test_ask_stdin_without_json_fails_before_loading_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def load(settings: Any) -> None:
        raise AssertionError("loaded the chain (seconds) before checking the arguments")

    monkeypatch.setattr(ui.cli, "_load_chain", load)
    result = runner.invoke(app, ["ask", "--data-dir", str(tmp_path), "-"], input="")
    assert result.exit_code == 2
    assert "needs --json" in result.output


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
    assert "invalid setting" in result.output and "CITELINE_RETRIEVAL_K" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"CITELINE_MAX_FILE_BYTES": "abc"}, ["settings"],
         "error: invalid setting CITELINE_MAX_FILE_BYTES='abc': expected a whole number greater than 0"),
        ({"CITELINE_CHROMA_MODE": "cloud"}, ["settings"],
         "error: invalid setting CITELINE_CHROMA_MODE='cloud': expected 'embedded' or 'server'"),
        ({"CITELINE_CHUNK_MAX_TOKENS": "999"}, ["ingest"],
         "error: invalid setting CITELINE_CHUNK_MAX_TOKENS='999': expected a whole number greater than 16 and at "
         "most 256"),
        ({}, ["ask", "--answerer", "gpt", "q?"], "error: invalid --answerer 'gpt': expected 'extractive' or 'llm'"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line_naming_the_variable_and_what_it_must_be(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip() == message


def test_v_works_before_and_after_the_command() -> None:
    for args in (["-v", "settings"], ["settings", "-v"], ["settings", "--verbose"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "CITELINE_DATA_DIR" in result.output
