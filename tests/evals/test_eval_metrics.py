"""Every eval metric on hand-built answers, including the ways an answer can go wrong."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.types import CONFLICT_NOTE, REFUSAL_TEXT, Answer
from evals import metrics as m
from tests.evals.helpers import TEXTS, answer_of, chunk, cite, hit, whole

S_COUNT = "UNICEF research estimates 1.2 million children were affected last year."
S_OFFICE = "The project was led by the Office of Strategy and Evidence Innocenti."
S_50 = "More than 50 data protection authorities signed the declaration."
S_60 = "Almost 60 privacy and data protection authorities joined the call."


def test_recall_at_k_counts_supporting_documents_in_the_top_k() -> None:
    ranked = ["a.txt", "b.txt", "a.txt", "c.txt"]
    assert m.recall_at_k(ranked, ["a.txt", "c.txt"], k=3) == 0.5
    assert m.recall_at_k(ranked, ["a.txt", "c.txt"], k=4) == 1.0
    assert m.recall_at_k(ranked, ["z.txt"], k=4) == 0.0
    assert m.recall_at_k(ranked, [], k=4) is None


def test_reciprocal_rank_is_one_over_first_relevant_rank() -> None:
    assert m.reciprocal_rank(["b.txt", "c.txt", "a.txt"], ["a.txt"]) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(["a.txt"], ["a.txt", "b.txt"]) == 1.0
    assert m.reciprocal_rank(["b.txt"], ["a.txt"]) == 0.0
    assert m.reciprocal_rank([], []) is None


def test_facts_match_case_insensitively_across_whitespace_and_markers() -> None:
    assert m.fact_found(["1.2  MILLION"], "estimates 1.2\nmillion children [1]")
    assert m.fact_found(["February 23"], "released February [2] 23.") is True
    assert not m.fact_found(["1.3 million"], "estimates 1.2 million children")


def test_a_refusal_states_no_fact_even_if_the_text_contains_it() -> None:
    refusal = Answer(REFUSAL_TEXT + " 1.2 million", True)
    assert m.facts_found([["1.2 million"]], refusal) == [False]
    assert m.facts_found([["1.2 million"], ["Innocenti"]], answer_of(("unicef", S_COUNT))) == [True, False]


def test_verbatim_citation_inside_a_retrieved_chunk_is_valid() -> None:
    answer = answer_of(("unicef", S_COUNT), ("regs", S_50))
    assert m.citation_problems(answer, TEXTS) == {}


def test_forged_quote_fails_validity() -> None:
    real = cite(1, "unicef", S_COUNT)
    forged = dataclasses.replace(real, quote=S_COUNT.replace("1.2", "2.4"))
    answer = Answer(f"{forged.quote} [1]", False, (forged,), hits=(hit(whole("unicef")),))
    problems = m.citation_problems(answer, TEXTS)
    assert list(problems) == [1] and "not the document text" in problems[1]


def test_citation_from_a_chunk_that_was_not_retrieved_fails_validity() -> None:
    c = cite(1, "unicef", S_OFFICE)
    first_sentence_only = chunk("unicef", 0, len(S_COUNT))
    answer = Answer(f"{S_OFFICE} [1]", False, (c,), hits=(hit(first_sentence_only), hit(whole("regs"))))
    problems = m.citation_problems(answer, TEXTS)
    assert "not inside any retrieved chunk" in problems[1]


def test_citation_of_unknown_document_or_bad_offsets_fails_validity() -> None:
    c = cite(1, "unicef", S_COUNT)
    assert "unknown document" in (m.citation_problem(c, None, [hit(whole("unicef"))]) or "")
    shifted = dataclasses.replace(c, start=10_000, end=10_050)
    assert "outside the document" in (m.citation_problem(shifted, TEXTS["unicef"], [hit(whole("unicef"))]) or "")


def test_split_claims_attaches_markers_to_the_sentence_before_them() -> None:
    claims = m.split_claims("First uncited. Second cited [1]. Third [2][3] Trailing words.")
    assert claims == [
        m.Claim("First uncited.", ()),
        m.Claim("Second cited", (1,)),
        m.Claim("Third", (2, 3)),
        m.Claim("Trailing words.", ()),
    ]


def test_alce_verbatim_answer_is_fully_supported_and_precise() -> None:
    counts = m.alce_counts(answer_of(("unicef", S_COUNT), ("unicef", S_OFFICE)))
    assert (counts.sentences, counts.supported_sentences) == (2, 2)
    assert (counts.citations, counts.precise_citations) == (2, 2)


def test_alce_sentence_citing_an_unrelated_quote_is_unsupported_and_imprecise() -> None:
    c = cite(1, "regs", S_50)
    answer = Answer(f"{S_COUNT} [1]", False, (c,), hits=(hit(whole("regs")),))
    counts = m.alce_counts(answer)
    assert counts.supported_sentences == 0 and counts.unsupported == (S_COUNT,)
    assert counts.precise_citations == 0 and counts.imprecise == (1,)


def test_alce_uncited_sentence_counts_against_recall() -> None:
    good = answer_of(("unicef", S_COUNT))
    answer = dataclasses.replace(good, text=good.text + " Also the sky is green.")
    counts = m.alce_counts(answer)
    assert (counts.sentences, counts.supported_sentences) == (2, 1)


def test_alce_redundant_extra_citation_is_imprecise() -> None:
    c1, c2 = cite(1, "unicef", S_COUNT), cite(2, "regs", S_50)
    answer = Answer(f"{S_COUNT} [1][2]", False, (c1, c2), hits=(hit(whole("unicef")), hit(whole("regs"))))
    counts = m.alce_counts(answer)
    assert counts.supported_sentences == 1
    assert (counts.citations, counts.precise_citations, counts.imprecise) == (2, 1, (2,))


def test_entailment_keeps_negation_as_content() -> None:
    assert m.entails("The office led the project.", "The office led the project.")
    assert not m.entails("The office led the project.", "The office did not lead any project at all.")


def test_citation_support_fails_a_fact_cited_from_a_document_outside_the_case_sources() -> None:
    answer = answer_of(("unicef", S_COUNT), ("regs", S_50))
    facts = [["1.2 million"], ["More than 50"]]
    assert m.citation_support(answer, facts, ["unicef.txt", "regs.txt"])[:2] == (2, 2)
    supported, total, problems = m.citation_support(answer, facts, ["unicef.txt"])
    assert (supported, total) == (1, 2)
    assert "regs.txt" in problems[0]


def test_refusal_f1_counts_wrong_answers_and_wrong_refusals() -> None:
    perfect = m.refusal_scores([(True, True), (True, True), (False, False)])
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    # one wrong refusal (refused an answerable) and one wrong answer (answered a must-refuse)
    mixed = m.refusal_scores([(True, True), (True, False), (False, True), (False, False)])
    assert (mixed.tp, mixed.fp, mixed.fn, mixed.tn) == (1, 1, 1, 1)
    assert (mixed.precision, mixed.recall, mixed.f1) == (0.5, 0.5, 0.5)
    only_wrong_refusal = m.refusal_scores([(True, True), (False, True)])
    assert only_wrong_refusal.precision == 0.5 and only_wrong_refusal.recall == 1.0
    assert only_wrong_refusal.f1 == pytest.approx(2 / 3)
    assert m.refusal_scores([(False, False)]).f1 is None


def test_conflict_surfaced_needs_the_note_and_both_figures() -> None:
    facts = [["More than 50"], ["almost 60"]]
    both = answer_of(("regs", S_50), ("privacy", S_60), notes=(CONFLICT_NOTE,))
    assert m.conflict_surfaced(both, facts)
    assert not m.conflict_surfaced(dataclasses.replace(both, notes=()), facts)
    assert not m.conflict_surfaced(answer_of(("regs", S_50), notes=(CONFLICT_NOTE,)), facts)


def test_percentile_interpolates_and_handles_small_samples() -> None:
    assert m.percentile([], 50) is None
    assert m.percentile([7.0], 95) == 7.0
    assert m.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert m.percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)
