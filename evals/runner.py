"""Run eval cases through the answering chain and score them.

`run_eval` asks every case's question (with its history) through the chain, scores the
answer with `evals.metrics`, and returns an `EvalReport`: per-case results with what failed,
metrics overall and by case kind. `evals.report` renders and compares reports; `gate`
checks them against thresholds.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from tqdm import tqdm

from assistant.types import Answer, ChunkIndex, Hit, Question
from evals import metrics as m
from evals.dataset import Case, CaseFileError, default_case_paths, load_cases

__all__ = [
    "METRICS",
    "Case",
    "CaseFileError",
    "CaseResult",
    "EvalReport",
    "aggregate",
    "default_case_paths",
    "load_cases",
    "run_eval",
    "score_case",
]

log = logging.getLogger(__name__)

#: Reported metrics in display order: key -> label. Keys ending in "_ms" are lower-is-better.
METRICS: dict[str, str] = {
    "pass_rate": "cases passed",
    "recall_at_k": "recall@k (supporting docs)",
    "mrr": "MRR",
    "key_fact_recall": "key-fact recall",
    "citation_validity": "citation validity",
    "citation_support": "citation support",
    "citation_recall": "citation recall (ALCE, lexical)",
    "citation_precision": "citation precision (ALCE, lexical)",
    "refusal_precision": "refusal precision",
    "refusal_recall": "refusal recall",
    "refusal_f1": "refusal F1",
    "conflict_surfaced": "conflict surfaced",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
}


@dataclass
class CaseResult:
    """One case's outcome: the answer, the counts metrics are built from, and what failed."""

    id: str
    kind: str
    question: str
    history: list[str]
    must_refuse: bool
    expect_conflict: bool
    answer: str | None = None
    refused: bool | None = None
    citations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)  # sources of the hits, best first
    latency_ms: float | None = None
    recall_at_k: float | None = None
    reciprocal_rank: float | None = None
    facts: dict[str, bool] = field(default_factory=dict)  # fact name -> stated
    citations_valid: int = 0
    citations_total: int = 0
    support_ok: int = 0
    support_total: int = 0
    alce_sentences: int = 0
    alce_supported: int = 0
    alce_citations: int = 0
    alce_precise: int = 0
    conflict_ok: bool | None = None
    error: str | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data


@dataclass
class EvalReport:
    """The result of one eval run (JSON via `to_json`)."""

    created: str
    k: int
    retrieval_only: bool
    metrics: dict[str, float | None]
    by_kind: dict[str, dict[str, float | None]]
    cases: list[CaseResult]
    warnings: list[str] = field(default_factory=list)
    label: str = ""  # e.g. the answerer, shown in the report title

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "label": self.label,
            "k": self.k,
            "retrieval_only": self.retrieval_only,
            "metrics": self.metrics,
            "by_kind": self.by_kind,
            "warnings": self.warnings,
            "cases": [c.to_json() for c in self.cases],
        }


def _blank(case: Case, latency_ms: float | None = None) -> CaseResult:
    return CaseResult(
        case.id,
        case.kind,
        case.question,
        list(case.history),
        case.must_refuse,
        case.expect_conflict,
        latency_ms=latency_ms,
    )


def _retrieval(result: CaseResult, case: Case, hits: Sequence[Hit], k: int) -> None:
    result.retrieved = [h.chunk.source for h in hits]
    result.recall_at_k = m.recall_at_k(result.retrieved, case.sources, k)
    result.reciprocal_rank = m.reciprocal_rank(result.retrieved, case.sources)
    missed = [s for s in case.sources if s not in result.retrieved[:k]]
    if missed:
        result.failures.append(f"retrieval: {', '.join(missed)} not in the top {k}")


def score_case(
    case: Case, answer: Answer, docs: Mapping[str, str | None], *, k: int, latency_ms: float | None = None
) -> CaseResult:
    """Score one answered case: retrieval, refusal, facts, citations, conflict; list what failed."""
    result = _blank(case, latency_ms)
    result.answer = answer.text
    result.refused = answer.refused
    result.citations = [c.to_json() for c in answer.citations]
    result.notes = list(answer.notes)
    _retrieval(result, case, answer.hits, k)
    fail = result.failures
    if case.must_refuse and not answer.refused:
        fail.append("answered a question it should refuse")
    elif answer.refused and not case.must_refuse:
        fail.append("refused an answerable question")

    alternatives = [f.any for f in case.facts]
    found = m.facts_found(alternatives, answer)
    result.facts = {f.name: ok for f, ok in zip(case.facts, found, strict=True)}
    if not answer.refused:
        fail.extend(f"missing fact: {f.name}" for f, ok in zip(case.facts, found, strict=True) if not ok)

    problems = m.citation_problems(answer, docs)
    result.citations_total = len(answer.citations)
    result.citations_valid = result.citations_total - len(problems)
    fail.extend(f"invalid citation {p}" for p in problems.values())

    result.support_ok, result.support_total, support_problems = m.citation_support(answer, alternatives, case.sources)
    fail.extend(f"citation support: {p}" for p in support_problems)

    alce = m.alce_counts(answer)
    result.alce_sentences, result.alce_supported = alce.sentences, alce.supported_sentences
    result.alce_citations, result.alce_precise = alce.citations, alce.precise_citations
    fail.extend(f"sentence not supported by its citations: {s[:80]!r}" for s in alce.unsupported)

    if case.expect_conflict:
        result.conflict_ok = m.conflict_surfaced(answer, alternatives)
        if not result.conflict_ok:
            fail.append("conflict not surfaced (note and both figures expected)")
    return result


def aggregate(results: Sequence[CaseResult], *, retrieval_only: bool = False) -> dict[str, float | None]:
    """Metrics over `results`: recall@k and MRR averaged per case, the rest pooled (micro)."""
    recalls = [r.recall_at_k for r in results if r.recall_at_k is not None]
    ranks = [r.reciprocal_rank for r in results if r.reciprocal_rank is not None]
    out: dict[str, float | None] = dict.fromkeys(METRICS)
    out["pass_rate"] = m.ratio(sum(r.passed for r in results), len(results))
    out["recall_at_k"] = sum(recalls) / len(recalls) if recalls else None
    out["mrr"] = sum(ranks) / len(ranks) if ranks else None
    latencies = [r.latency_ms for r in results if r.latency_ms is not None]
    out["latency_p50_ms"] = m.percentile(latencies, 50)
    out["latency_p95_ms"] = m.percentile(latencies, 95)
    if retrieval_only:
        return out
    answerable = [r for r in results if not r.must_refuse]
    out["key_fact_recall"] = m.ratio(
        sum(sum(r.facts.values()) for r in answerable), sum(len(r.facts) for r in answerable)
    )
    out["citation_validity"] = m.ratio(sum(r.citations_valid for r in results), sum(r.citations_total for r in results))
    out["citation_support"] = m.ratio(sum(r.support_ok for r in results), sum(r.support_total for r in results))
    out["citation_recall"] = m.ratio(sum(r.alce_supported for r in results), sum(r.alce_sentences for r in results))
    out["citation_precision"] = m.ratio(sum(r.alce_precise for r in results), sum(r.alce_citations for r in results))
    refusals = m.refusal_scores((r.must_refuse, bool(r.refused)) for r in results)
    out["refusal_precision"] = refusals.precision
    out["refusal_recall"] = refusals.recall
    out["refusal_f1"] = refusals.f1
    conflicts = [r.conflict_ok for r in results if r.conflict_ok is not None]
    out["conflict_surfaced"] = m.ratio(sum(conflicts), len(conflicts))
    return out


def _by_kind(results: Sequence[CaseResult], retrieval_only: bool) -> dict[str, dict[str, float | None]]:
    kinds: dict[str, list[CaseResult]] = {}
    for r in results:
        kinds.setdefault(r.kind, []).append(r)
    return {kind: aggregate(rs, retrieval_only=retrieval_only) for kind, rs in kinds.items()}


def _source_warnings(index: ChunkIndex, cases: Iterable[Case]) -> list[str]:
    stored = {c.source for c in index.all_chunks()}
    if not stored:
        return ["the store is empty: ingest documents before running the eval"]
    unknown = sorted({s for case in cases for s in case.sources} - stored)
    if unknown:
        return [f"case sources not in the store (check names, relative to the ingested folder): {', '.join(unknown)}"]
    return []


#: Asked once, untimed, before the cases. Not a case's question: answers are cached per question
#: (query embeddings), so warming up with a case would make that case look faster than it is.
WARM_UP_QUESTION = "citeline eval warm-up: what do the documents say?"


def _warm_up(chain: Any, retriever: Any) -> None:
    """One untimed call, so that no case's latency is the models' cold load (seconds)."""
    began = time.perf_counter()
    try:
        if retriever is not None:
            retriever.retrieve(Question(WARM_UP_QUESTION))
        else:
            chain.invoke(Question(WARM_UP_QUESTION))
    except Exception as exc:  # a chain that cannot answer shows it in the cases' own errors
        log.info("warm-up call raised %s: %s", type(exc).__name__, exc)
    log.info("warm-up: %.0f ms (not counted in latency)", (time.perf_counter() - began) * 1000)


def run_eval(
    chain: Any,
    index: ChunkIndex,
    cases: Sequence[Case],
    *,
    k: int = 5,
    retrieval_only: bool = False,
    progress: bool = True,
    label: str = "",
) -> EvalReport:
    """Ask every case through `chain` (a Runnable: Question -> Answer) and score it.

    `index` gives the stored document text for citation validity. With `retrieval_only`,
    nothing is answered: `chain.retriever.retrieve(Question)` is called and only retrieval
    metrics are computed (fast, for tuning). A case whose chain call raises is recorded as
    failed with the error, as if it answered nothing, and the run goes on.

    Before the cases, `WARM_UP_QUESTION` is asked once, untimed: the first call loads models
    (seconds), so latency p50/p95 measure warm answers, as a running server gives them.
    """
    if k <= 0:
        raise ValueError("k must be positive")
    retriever = getattr(chain, "retriever", None) if retrieval_only else None
    if retrieval_only and not callable(getattr(retriever, "retrieve", None)):
        raise ValueError("retrieval-only mode needs a chain with a `retriever.retrieve(Question)`")
    warnings = _source_warnings(index, cases)
    for w in warnings:
        log.info(w)  # the report (and so the summary) carries them: logged once more would print twice
    todo = [c.id for c in cases if c.todo]
    if todo:
        warnings.append(f"{len(todo)} case(s) still have a 'todo' note to fill in: {', '.join(todo[:10])}")

    doc_cache: dict[str, str | None] = {}

    def docs_for(answer: Answer) -> dict[str, str | None]:
        for c in answer.citations:
            if c.doc_id not in doc_cache:
                stored = index.get_document(c.doc_id)
                doc_cache[c.doc_id] = stored.text if stored is not None else None
        return doc_cache

    if cases:
        _warm_up(chain, retriever)
    results: list[CaseResult] = []
    for case in tqdm(cases, desc="eval", unit="case", disable=not progress, file=sys.stderr):
        question = Question(case.question, case.history)
        began = time.perf_counter()
        try:
            if retriever is not None:
                hits = retriever.retrieve(question)
                elapsed = (time.perf_counter() - began) * 1000
                result = _blank(case, elapsed)
                _retrieval(result, case, hits, k)
            else:
                answer = chain.invoke(question)
                elapsed = (time.perf_counter() - began) * 1000
                result = score_case(case, answer, docs_for(answer), k=k, latency_ms=elapsed)
        except Exception as exc:  # one broken case must not hide the other results
            log.warning("case %s raised %s: %s", case.id, type(exc).__name__, exc)
            if retriever is not None:
                result = _blank(case)
                _retrieval(result, case, [], k)
            else:
                result = score_case(case, Answer("", False), {}, k=k)
            result.error = f"{type(exc).__name__}: {exc}"
            result.failures.insert(0, f"error: {result.error}")
        results.append(result)

    return EvalReport(
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        k=k,
        retrieval_only=retrieval_only,
        metrics=aggregate(results, retrieval_only=retrieval_only),
        by_kind=_by_kind(results, retrieval_only),
        cases=results,
        warnings=warnings,
        label=label,
    )
