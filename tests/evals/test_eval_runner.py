"""run_eval over a fake chain and index: what a user reads in the report is what happened."""

from __future__ import annotations

import dataclasses
import time

import pytest

from assistant.types import CONFLICT_NOTE, REFUSAL_TEXT, Answer, Question
from evals.dataset import Case, Fact
from evals.runner import WARM_UP_QUESTION, run_eval
from tests.evals.helpers import FakeIndex, FakeRetriever, answer_of, fake_chain, hit, whole

S_COUNT = "UNICEF research estimates 1.2 million children were affected last year."
S_50 = "More than 50 data protection authorities signed the declaration."
S_60 = "Almost 60 privacy and data protection authorities joined the call."

COUNT = Case("count", "fact", "How many children?", facts=(Fact("count", ("1.2 million",)),),
             sources=("unicef.txt",))  # fmt: skip
CONFLICT = Case("signatories", "conflict", "How many signed?",
                facts=(Fact("50", ("More than 50",)), Fact("60", ("almost 60",))),
                sources=("regs.txt", "privacy.txt"), expect_conflict=True)  # fmt: skip
ABSENT = Case("bread", "refuse_absent", "How do I bake bread?", must_refuse=True)
GENERAL = Case("capital", "refuse_general", "What is the capital of France?", must_refuse=True)

GOOD = {
    COUNT.question: answer_of(("unicef", S_COUNT)),
    CONFLICT.question: answer_of(("regs", S_50), ("privacy", S_60), notes=(CONFLICT_NOTE,)),
    ABSENT.question: Answer(REFUSAL_TEXT, True, hits=(hit(whole("unicef")),)),
    GENERAL.question: Answer(REFUSAL_TEXT, True),
}
CASES = [COUNT, CONFLICT, ABSENT, GENERAL]


def test_a_grounded_assistant_scores_full_marks() -> None:
    report = run_eval(fake_chain(GOOD), FakeIndex(), CASES, k=5, progress=False)
    assert report.failed == []
    metrics = report.metrics
    for key in ("pass_rate", "recall_at_k", "mrr", "key_fact_recall", "citation_validity", "citation_support",
                "citation_recall", "citation_precision", "refusal_f1", "conflict_surfaced"):  # fmt: skip
        assert metrics[key] == 1.0, key
    assert metrics["latency_p95_ms"] is not None and metrics["latency_p95_ms"] >= 0
    assert set(report.by_kind) == {"fact", "conflict", "refuse_absent", "refuse_general"}
    assert report.by_kind["refuse_absent"]["key_fact_recall"] is None


def test_each_kind_of_mistake_shows_up_in_metrics_and_failures() -> None:
    forged = answer_of(("unicef", S_COUNT))
    forged_citation = dataclasses.replace(forged.citations[0], quote=S_COUNT.replace("1.2", "9.9"))
    answers = {
        COUNT.question: dataclasses.replace(forged, citations=(forged_citation,)),
        CONFLICT.question: answer_of(("regs", S_50)),  # one figure, no note
        ABSENT.question: answer_of(("unicef", S_COUNT)),  # answered a must-refuse
        GENERAL.question: Answer(REFUSAL_TEXT, True),
    }
    report = run_eval(fake_chain(answers), FakeIndex(), CASES, k=5, progress=False)
    by_id = {c.id: c for c in report.cases}
    assert any("invalid citation [1]" in f for f in by_id["count"].failures)
    assert "missing fact: 60" in by_id["signatories"].failures
    assert any("conflict not surfaced" in f for f in by_id["signatories"].failures)
    assert any("privacy.txt not in the top 5" in f for f in by_id["signatories"].failures)
    assert "answered a question it should refuse" in by_id["bread"].failures
    assert by_id["capital"].passed
    m = report.metrics
    assert m["pass_rate"] == 0.25
    assert m["citation_validity"] == pytest.approx(2 / 3)  # 1 forged of 3 citations
    assert m["key_fact_recall"] == pytest.approx(2 / 3)
    assert m["recall_at_k"] == pytest.approx((1 + 0.5) / 2)
    assert (m["refusal_precision"], m["refusal_recall"]) == (1.0, 0.5)
    assert m["conflict_surfaced"] == 0.0


def test_wrong_refusal_lowers_refusal_precision() -> None:
    answers = dict(GOOD)
    answers[COUNT.question] = Answer(REFUSAL_TEXT, True, hits=(hit(whole("unicef")),))
    report = run_eval(fake_chain(answers), FakeIndex(), CASES, progress=False)
    assert "refused an answerable question" in report.cases[0].failures
    assert report.metrics["refusal_precision"] == pytest.approx(2 / 3)
    assert report.metrics["refusal_recall"] == 1.0
    assert report.metrics["key_fact_recall"] == pytest.approx(2 / 3)


def test_a_case_that_raises_is_recorded_and_the_run_continues() -> None:
    def boom(question: Question) -> Answer:
        raise RuntimeError("store went away")

    answers = {**GOOD, COUNT.question: boom}
    report = run_eval(fake_chain(answers), FakeIndex(), CASES, progress=False)
    count = report.cases[0]
    assert count.error == "RuntimeError: store went away"
    assert count.failures[0] == "error: RuntimeError: store went away"
    assert [c.passed for c in report.cases[1:]] == [True, True, True]


def test_history_reaches_the_chain() -> None:
    follow = Case("fu", "follow_up", "Which office?", history=("How many children?",),
                  facts=(Fact("n", ("1.2 million",)),), sources=("unicef.txt",))  # fmt: skip
    seen: list[Question] = []

    def record(question: Question) -> Answer:
        seen.append(question)
        return answer_of(("unicef", S_COUNT))

    run_eval(fake_chain({follow.question: record}), FakeIndex(), [follow], progress=False)
    assert seen == [Question("Which office?", ("How many children?",))]


def test_retrieval_only_uses_the_retriever_and_never_answers() -> None:
    retriever = FakeRetriever({COUNT.question: [hit(whole("regs")), hit(whole("unicef"))]})
    chain = fake_chain({}, retriever)  # any answer call would raise KeyError
    report = run_eval(chain, FakeIndex(), [COUNT, ABSENT], k=1, retrieval_only=True, progress=False)
    assert retriever.calls == 3  # one untimed warm-up, then one per case
    assert report.metrics["recall_at_k"] == 0.0 and report.metrics["mrr"] == 0.5
    assert report.metrics["key_fact_recall"] is None and report.metrics["refusal_f1"] is None
    assert report.cases[0].answer is None and not report.cases[0].passed
    assert report.cases[1].passed


def test_retrieval_only_without_a_retriever_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="retriever"):
        run_eval(fake_chain(GOOD), FakeIndex(), CASES, retrieval_only=True, progress=False)


def test_sources_missing_from_the_store_are_warned_about() -> None:
    typo = dataclasses.replace(COUNT, sources=("unicef.text",))
    report = run_eval(fake_chain(GOOD), FakeIndex(), [typo], progress=False)
    assert any("unicef.text" in w for w in report.warnings)
    empty = run_eval(fake_chain(GOOD), FakeIndex({}), [COUNT], progress=False)
    assert any("store is empty" in w for w in empty.warnings)


def test_latency_leaves_out_the_cold_first_call() -> None:
    calls = 0

    def slow_first(question: Question) -> Answer:
        nonlocal calls
        calls += 1
        if calls == 1:
            time.sleep(0.5)  # what loading the models costs the first call (seconds, for real)
        return Answer(REFUSAL_TEXT, True)

    chain = fake_chain(dict.fromkeys((ABSENT.question, GENERAL.question, WARM_UP_QUESTION), slow_first))
    report = run_eval(chain, FakeIndex(), [ABSENT, GENERAL], progress=False)
    assert calls == 3  # the warm-up is not a case: two results
    assert [c.id for c in report.cases] == ["bread", "capital"]
    p95 = report.metrics["latency_p95_ms"]
    assert p95 is not None and p95 < 250
