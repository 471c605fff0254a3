"""Eval metrics: pure functions over plain values (answers, hits, facts, document texts).

No LLM judge. Where ALCE (Gao et al., 2023) uses an NLI model to decide whether cited
quotes entail an answer sentence, citeline uses a lexical stand-in, `entails`: the share of
the sentence's content tokens (lower-cased word tokens minus English stopwords and citation
markers) that occur in the premise must be at least `ENTAILMENT_THRESHOLD`. A verbatim
extractive sentence scores 1.0 against its own quote; a paraphrase that keeps the key terms
passes; a sentence whose facts the quotes do not contain fails.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bm25s.stopwords import STOPWORDS_EN_PLUS

from assistant.sentences import sentences
from assistant.types import CONFLICT_NOTE, Answer, Citation, Hit

#: Share of a sentence's content tokens its cited quotes must contain to count as entailed.
ENTAILMENT_THRESHOLD = 0.8

_MARKER_GROUP = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_MARKER_NUMBER = re.compile(r"\d+")
_TOKEN = re.compile(r"\w+", re.UNICODE)
# Negations stay content words: "not" must not vanish from what a quote has to support.
_STOP = frozenset(STOPWORDS_EN_PLUS) - {"no", "not", "nor"}
_LEADING_PUNCT = re.compile(r"^[\s.,;:!?)\]]+")


# --- text helpers ---------------------------------------------------------------------------


def strip_markers(text: str) -> str:
    """`text` without inline citation markers like ``[1]`` or ``[1, 2]``."""
    return _MARKER_GROUP.sub("", text)


def normalise(text: str) -> str:
    """Lower-case, markers removed, whitespace collapsed: the form facts are matched in."""
    return " ".join(strip_markers(text).lower().split())


def content_tokens(text: str) -> set[str]:
    """Lower-cased word tokens of `text` without stopwords and citation markers."""
    return {t for t in _TOKEN.findall(strip_markers(text).lower()) if t not in _STOP}


# --- retrieval ------------------------------------------------------------------------------


def recall_at_k(retrieved_sources: Sequence[str], relevant: Sequence[str], k: int) -> float | None:
    """Share of the `relevant` documents among the first `k` retrieved (None if none is relevant)."""
    if not relevant:
        return None
    top = set(retrieved_sources[:k])
    wanted = set(relevant)
    return len(wanted & top) / len(wanted)


def reciprocal_rank(retrieved_sources: Sequence[str], relevant: Sequence[str]) -> float | None:
    """1/rank of the first retrieved hit from a relevant document, 0.0 if none (None if none relevant)."""
    if not relevant:
        return None
    wanted = set(relevant)
    for rank, source in enumerate(retrieved_sources, 1):
        if source in wanted:
            return 1.0 / rank
    return 0.0


# --- key facts ------------------------------------------------------------------------------


def fact_found(alternatives: Iterable[str], answer_text: str) -> bool:
    """Whether any alternative occurs in the answer (case-insensitive, whitespace-normalised)."""
    text = normalise(answer_text)
    return any(normalise(alt) in text for alt in alternatives)


def facts_found(facts: Sequence[Sequence[str]], answer: Answer) -> list[bool]:
    """For each fact (its accepted alternatives), whether the answer states it; a refusal states none."""
    if answer.refused:
        return [False] * len(facts)
    return [fact_found(alts, answer.text) for alts in facts]


# --- citations: validity and support --------------------------------------------------------


def citation_problem(citation: Citation, doc_text: str | None, hits: Sequence[Hit]) -> str | None:
    """Why `citation` is invalid, or None when it is valid.

    Valid means: the quote equals the stored document text at [start:end], and the span lies
    inside one of the answer's retrieved chunks (same document, offsets within the chunk), so
    the answer quoted what it was given rather than something it made up or remembered.
    """
    if doc_text is None:
        return f"[{citation.n}] cites unknown document {citation.doc_id!r}"
    if not 0 <= citation.start < citation.end <= len(doc_text):
        return f"[{citation.n}] offsets {citation.start}:{citation.end} are outside the document"
    if doc_text[citation.start : citation.end] != citation.quote:
        return f"[{citation.n}] quote is not the document text at {citation.start}:{citation.end}"
    inside = any(
        h.chunk.doc_id == citation.doc_id and h.chunk.start <= citation.start and citation.end <= h.chunk.end
        for h in hits
    )
    if not inside:
        return f"[{citation.n}] quote is not inside any retrieved chunk"
    return None


def citation_problems(answer: Answer, docs: Mapping[str, str | None]) -> dict[int, str]:
    """Invalid citations of `answer` by number, with the reason; `docs` maps doc_id to stored text."""
    problems: dict[int, str] = {}
    for c in answer.citations:
        problem = citation_problem(c, docs.get(c.doc_id), answer.hits)
        if problem:
            problems[c.n] = problem
    return problems


@dataclass(frozen=True)
class Claim:
    """An answer sentence and the citation numbers attached to it."""

    text: str
    cited: tuple[int, ...]


def split_claims(answer_text: str) -> list[Claim]:
    """Split an answer into sentences with their trailing ``[n]`` markers.

    Markers cite the sentence they follow; when the text before a marker holds several
    sentences, only the last carries the citation and the others are uncited claims.
    """
    claims: list[Claim] = []
    position = 0

    def add_uncited_and_last(segment: str, cited: tuple[int, ...]) -> None:
        segment = _LEADING_PUNCT.sub("", segment).strip()
        if not segment:
            return
        parts = sentences(segment)
        for s in parts[:-1]:
            claims.append(Claim(s, ()))
        claims.append(Claim(parts[-1], cited))

    for match in _MARKER_GROUP.finditer(answer_text):
        cited = tuple(int(n) for n in _MARKER_NUMBER.findall(match.group()))
        add_uncited_and_last(answer_text[position : match.start()], cited)
        position = match.end()
    tail = _LEADING_PUNCT.sub("", answer_text[position:]).strip()
    if tail:
        claims.extend(Claim(s, ()) for s in sentences(tail))
    return claims


def entails(premise: str, hypothesis: str, threshold: float = ENTAILMENT_THRESHOLD) -> bool:
    """Lexical entailment stand-in: enough of the hypothesis's content tokens occur in the premise."""
    wanted = content_tokens(hypothesis)
    if not wanted:
        return True  # nothing to support (e.g. a bare "Yes.")
    return len(wanted & content_tokens(premise)) / len(wanted) >= threshold


@dataclass(frozen=True)
class AlceCounts:
    """ALCE-style counts for one answer: sentences entailed by their citations, precise citations."""

    sentences: int
    supported_sentences: int
    citations: int
    precise_citations: int
    unsupported: tuple[str, ...] = ()  # sentences not entailed by their cited quotes
    imprecise: tuple[int, ...] = ()  # citation numbers that neither support nor are needed


def alce_counts(answer: Answer, threshold: float = ENTAILMENT_THRESHOLD) -> AlceCounts:
    """Citation recall and precision counts in the manner of ALCE, with lexical entailment.

    Recall: a sentence is supported when the concatenation of its cited quotes entails it (an
    uncited sentence is unsupported). Precision: a citation of a sentence is precise when its
    quote alone entails the sentence, or when the sentence is entailed by all its citations
    but no longer without this one. A refusal has no sentences to score.
    """
    if answer.refused:
        return AlceCounts(0, 0, 0, 0)
    quotes = {c.n: c.quote for c in answer.citations}
    sentences = supported = n_cites = precise = 0
    unsupported: list[str] = []
    imprecise: list[int] = []
    for claim in split_claims(answer.text):
        sentences += 1
        cited = [n for n in dict.fromkeys(claim.cited)]  # dedupe, keep order
        joint = " ".join(quotes.get(n, "") for n in cited)
        is_supported = bool(cited) and entails(joint, claim.text, threshold)
        if is_supported:
            supported += 1
        else:
            unsupported.append(claim.text)
        for n in cited:
            n_cites += 1
            alone = entails(quotes.get(n, ""), claim.text, threshold)
            rest = " ".join(quotes.get(m, "") for m in cited if m != n)
            needed = is_supported and not entails(rest, claim.text, threshold)
            if alone or needed:
                precise += 1
            else:
                imprecise.append(n)
    return AlceCounts(sentences, supported, n_cites, precise, tuple(unsupported), tuple(imprecise))


def citation_support(
    answer: Answer, facts: Sequence[Sequence[str]], sources: Sequence[str]
) -> tuple[int, int, list[str]]:
    """Citations that carry a key fact and come from one of the case's `sources`.

    A citation carries a fact when the answer sentence it is attached to states the fact.
    Returns (supported, total fact-carrying citations, problems).
    """
    if answer.refused:
        return 0, 0, []
    by_n = {c.n: c for c in answer.citations}
    allowed = set(sources)
    supported = total = 0
    problems: list[str] = []
    for claim in split_claims(answer.text):
        carried = [alts for alts in facts if fact_found(alts, claim.text)]
        if not carried:
            continue
        for n in dict.fromkeys(claim.cited):
            citation = by_n.get(n)
            total += 1
            if citation is not None and citation.source in allowed:
                supported += 1
            else:
                source = citation.source if citation is not None else "a missing citation"
                problems.append(f"[{n}] carries {carried[0][0]!r} but cites {source}, not a case source")
    return supported, total, problems


# --- refusals, conflicts, latency -----------------------------------------------------------


@dataclass(frozen=True)
class RefusalScores:
    """Refusal as the positive class: tp refused a must-refuse, fp refused an answerable, fn answered."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        if self.tp + self.fp + self.fn == 0:
            return None
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float | None:
        if self.tp + self.fp + self.fn == 0:
            return None
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def refusal_scores(outcomes: Iterable[tuple[bool, bool]]) -> RefusalScores:
    """Score (must_refuse, refused) pairs; both wrong answers and wrong refusals count.

    All metrics are None when there was nothing to refuse and nothing was refused.
    """
    tp = fp = fn = tn = 0
    for must_refuse, refused in outcomes:
        if must_refuse and refused:
            tp += 1
        elif refused:
            fp += 1
        elif must_refuse:
            fn += 1
        else:
            tn += 1
    return RefusalScores(tp, fp, fn, tn)


def conflict_surfaced(answer: Answer, facts: Sequence[Sequence[str]]) -> bool:
    """The answer carries CONFLICT_NOTE and states every conflicting figure."""
    return CONFLICT_NOTE in answer.notes and all(facts_found(facts, answer))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator/denominator, None when there is nothing to count."""
    return numerator / denominator if denominator else None
