"""Reports on disk (JSON, Markdown, self-contained escaped HTML), regressions and the gate."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.types import REFUSAL_TEXT, Answer, Citation
from evals.dataset import Case, Fact
from evals.gate import DEFAULT_THRESHOLDS, gate, load_thresholds
from evals.report import summary_lines, write_reports
from evals.runner import EvalReport, run_eval
from tests.evals.helpers import FakeIndex, answer_of, fake_chain, hit, whole

S_COUNT = "UNICEF research estimates 1.2 million children were affected last year."
COUNT = Case("count", "fact", "How many children?", facts=(Fact("count", ("1.2 million",)),),
             sources=("unicef.txt",))  # fmt: skip
ABSENT = Case("bread", "refuse_absent", "How do I bake bread?", must_refuse=True)
XSS = "<script>alert('x')</script>"


def _report(count_answer: Answer, bread_answer: Answer | None = None) -> EvalReport:
    answers = {COUNT.question: count_answer, ABSENT.question: bread_answer or Answer(REFUSAL_TEXT, True)}
    return run_eval(fake_chain(answers), FakeIndex(), [COUNT, ABSENT], progress=False, label="extractive")


def test_reports_are_written_with_a_latest_copy(tmp_path: Path) -> None:
    report = _report(answer_of(("unicef", S_COUNT)))
    paths, comparison = write_reports(report, tmp_path)
    assert comparison is None
    assert paths.directory.parent == tmp_path
    data = json.loads(paths.json.read_text(encoding="utf-8"))
    assert data["metrics"]["key_fact_recall"] == 1.0
    assert {c["id"]: c["passed"] for c in data["cases"]} == {"count": True, "bread": True}
    assert "| key-fact recall | 1.000 |" in paths.markdown.read_text(encoding="utf-8")
    assert (paths.latest / "report.html").read_text(encoding="utf-8") == paths.html.read_text(encoding="utf-8")


def test_html_is_self_contained_and_escapes_document_text(tmp_path: Path) -> None:
    evil = Citation(1, "unicef", "<b>Unicef</b>", "unicef.txt", XSS, 0, len(XSS))
    answer = Answer(f"{XSS} [1]", False, (evil,), hits=(hit(whole("unicef")),))
    paths, _ = write_reports(_report(answer), tmp_path)
    page = paths.html.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert not re.search(r"""(?:src|href)\s*=|@import|url\(|https?://""", page), "external asset reference"
    assert "<svg" in page and "<rect" in page  # the chart by kind is inline
    assert "invalid citation [1]" in page
    assert "<script" not in paths.markdown.read_text(encoding="utf-8")


def test_second_run_flags_metric_drops_and_newly_failing_cases(tmp_path: Path) -> None:
    write_reports(_report(answer_of(("unicef", S_COUNT))), tmp_path)
    worse = _report(Answer(REFUSAL_TEXT, True, hits=(hit(whole("unicef")),)))
    paths, comparison = write_reports(worse, tmp_path)
    assert comparison is not None and comparison.regressed
    assert comparison.newly_failing == ["count"]
    assert any(message.startswith("key-fact recall dropped 1.000 -> 0.000") for message in comparison.dropped)
    lines = summary_lines(worse, comparison)
    assert "  REGRESSION: now failing: count" in lines
    assert "REGRESSION" in paths.html.read_text(encoding="utf-8")
    assert json.loads(paths.json.read_text(encoding="utf-8"))["comparison"]["newly_failing"] == ["count"]
    # the same result again is no regression (the baseline moved to the last run)
    _, again = write_reports(_report(Answer(REFUSAL_TEXT, True, hits=(hit(whole("unicef")),))), tmp_path)
    assert again is not None and not again.regressed
    assert len([p for p in tmp_path.iterdir() if p.name != "latest"]) == 3


def test_retrieval_only_runs_do_not_become_the_baseline_of_full_runs(tmp_path: Path) -> None:
    write_reports(_report(answer_of(("unicef", S_COUNT))), tmp_path)
    quick = run_eval(fake_chain({}, retriever=_NoHits()), FakeIndex(), [COUNT], retrieval_only=True, progress=False)
    paths, comparison = write_reports(quick, tmp_path)
    assert comparison is None and paths.latest.name == "latest-retrieval"
    _, full = write_reports(_report(answer_of(("unicef", S_COUNT))), tmp_path)
    assert full is not None and not full.regressed


def test_a_run_over_other_cases_compares_no_metrics_but_still_shared_cases(tmp_path: Path) -> None:
    write_reports(_report(answer_of(("unicef", S_COUNT))), tmp_path)
    # Only the absent-topic case, answered wrongly: its average is not comparable with two cases'.
    only_bread = run_eval(
        fake_chain({ABSENT.question: answer_of(("unicef", S_COUNT))}), FakeIndex(), [ABSENT], progress=False
    )
    _, comparison = write_reports(only_bread, tmp_path)
    assert comparison is not None
    assert comparison.dropped == [] and comparison.deltas == {}
    assert comparison.newly_failing == ["bread"]  # the case both runs ran is still compared
    lines = summary_lines(only_bread, comparison)
    assert any(line.startswith("  note: the previous report") and "1 of these 1 in common" in line for line in lines)


class _NoHits:
    def retrieve(self, question: object) -> list[object]:
        return []


def test_summary_lines_show_metrics_and_failed_cases() -> None:
    report = _report(answer_of(("unicef", S_COUNT)), bread_answer=answer_of(("unicef", S_COUNT)))
    text = "\n".join(summary_lines(report))
    assert "2 cases" in text and "recall@5 (supporting docs)" in text
    assert "failed cases: 1: bread" in text
    assert "refusal F1" in text


def test_gate_passes_at_and_fails_below_thresholds() -> None:
    report = _report(answer_of(("unicef", S_COUNT)), bread_answer=answer_of(("unicef", S_COUNT)))
    assert gate(report, {"key_fact_recall": 1.0, "citation_validity": 1.0}) == []
    failures = gate(report, {"refusal_f1": 0.95, "latency_p95_ms": 0.0, "recal_at_k": 1.0})
    assert failures[0].startswith("refusal F1 is 0.000, below the threshold 0.950")
    assert "latency p95 (ms)" in failures[1] and "above the limit" in failures[1]
    assert "unknown metric in thresholds: 'recal_at_k'" in failures[2]
    # conflict_surfaced is not measured without conflict cases: skipped, not failed
    assert gate(report, {"conflict_surfaced": 1.0}) == []


def test_shipped_thresholds_gate_every_target_metric() -> None:
    shipped = load_thresholds(DEFAULT_THRESHOLDS)
    # The targets that the extractive answerer reaches are gated at the target itself ...
    assert shipped["recall_at_k"] == 1.0
    assert shipped["citation_validity"] == 1.0
    assert shipped["conflict_surfaced"] == 1.0
    # ... the two it does not reach yet (targets 0.95) at their measured level on all 246 cases
    # (0.951 / 0.955 on the 142 tuning cases: all but the held-out sets heldout3 to heldout7).
    assert shipped["key_fact_recall"] >= 0.939
    assert shipped["refusal_f1"] >= 0.925


def test_bad_thresholds_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"refusal_f1": "high"}', encoding="utf-8")
    with pytest.raises(ValueError, match="'refusal_f1' must be a number"):
        load_thresholds(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_thresholds(path)
    path.write_text('{"_comment": "ok", "recal_at_k": 1.0}', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown metric\\(s\\) 'recal_at_k'; known: pass_rate"):
        load_thresholds(path)
    with pytest.raises(ValueError, match="is a folder"):
        load_thresholds(tmp_path)
