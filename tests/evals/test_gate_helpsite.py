"""The help-site gate `make test` enforces: the Python tutorial's and FAQ's cases, real pages.

Ingests the pages of Debian's python3.11-doc (`make test` installs it, as it does chromium) with
the real bundled MiniLM into a fresh store and runs `citeline eval --gate` with the case file's
own thresholds (evals/helpsite/thresholds-*.json): help-site answers must not silently get worse.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app

pytestmark = pytest.mark.model
runner = CliRunner()

DOCS = Path("/usr/share/doc/python3.11/html")
HELPSITE = Path(__file__).resolve().parents[2] / "evals" / "helpsite"


@pytest.mark.parametrize(("name", "pages"), [("python-tutorial", "tutorial"), ("python-faq", "faq")])
def test_help_site_cases_pass_their_gate(
    name: str, pages: str, tmp_path: Path, minilm: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (DOCS / pages).is_dir():
        pytest.skip("needs Debian's python3.11-doc (make test installs it as root: apt-get install python3.11-doc)")
    monkeypatch.setattr("assistant.embeddings.build_embeddings", lambda *a, **k: minilm)
    data = tmp_path / "data"
    ingest = runner.invoke(app, ["ingest", str(DOCS / pages), "--data-dir", str(data), "-q"])
    assert ingest.exit_code == 0, ingest.output

    thresholds = HELPSITE / f"thresholds-{name}.json"
    cases = HELPSITE / f"{name}.jsonl"
    result = runner.invoke(
        app,
        ["eval", "--gate", "--thresholds", str(thresholds), "--data-dir", str(data), "--no-progress", str(cases)],
    )
    print(result.output)  # the summary table, shown when the gate fails
    assert result.exit_code == 0, result.output

    report = json.loads((data / "reports" / "latest" / "report.json").read_text())
    assert len(report["cases"]) == sum(1 for line in cases.read_text().splitlines() if line.strip())
    assert report["metrics"]["citation_validity"] == 1.0  # every quote is the stored text at its offsets
