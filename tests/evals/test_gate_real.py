"""The eval gate `make test` enforces: the shipped cases through the real assistant.

Ingests corpus/ with the real bundled MiniLM into a fresh store and runs `citeline eval
--gate`; it fails when any metric in evals/thresholds.json falls below its threshold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app

pytestmark = pytest.mark.model
runner = CliRunner()


def test_shipped_eval_set_passes_the_gate(
    tmp_path: Path, corpus_copy: Path, minilm: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assistant.embeddings.build_embeddings", lambda *a, **k: minilm)
    data = tmp_path / "data"
    ingest = runner.invoke(app, ["ingest", str(corpus_copy), "--data-dir", str(data), "-q"])
    assert ingest.exit_code == 0, ingest.output

    result = runner.invoke(app, ["eval", "--gate", "--data-dir", str(data), "--no-progress"])
    print(result.output)  # the summary table, shown when the gate fails
    assert result.exit_code == 0, result.output

    report = json.loads((data / "reports" / "latest" / "report.json").read_text())
    metrics = report["metrics"]
    # What a user relies on, stated plainly beside the thresholds file:
    assert metrics["citation_validity"] == 1.0  # every quote is the stored text at its offsets
    assert metrics["recall_at_k"] == 1.0
    assert metrics["conflict_surfaced"] == 1.0
    assert len(report["cases"]) >= 60
    assert (data / "reports" / "latest" / "report.html").exists()
