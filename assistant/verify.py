"""Citation verification for LLM answers: every kept sentence is backed by a verbatim quote.

An LLM answer is split into sentences (sentencex). A sentence survives only if it carries at
least one ``[n]`` marker, n names one of the numbered sources, and the cited chunk supports
it: every number and proper name in the sentence occurs in the chunk, and its content
words overlap the chunk enough (alone, or together with a high embedding cosine against
the chunk's best sentence for paraphrases). The best supporting sentence of the chunk
becomes the citation's quote, with offsets into the stored document text. Survivors are
renumbered densely [1], [2], ... in order of first appearance.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from assistant.retrieval import stem
from assistant.sentences import sentence_spans as split_spans
from assistant.sentences import sentences
from assistant.types import REFUSAL_TEXT, Chunk, Citation

log = logging.getLogger(__name__)

# --- calibrated thresholds ------------------------------------------------------------------
# Calibrated with the bundled all-MiniLM-L6-v2 on 26 hand-written answer sentences about the
# shipped corpus, each cited against one corpus paragraph (the cases live in
# tests/assistant/test_verify.py, which re-checks them with the real model). Observed:
#   good, near-verbatim restatement:  lexical 1.00,        cosine 0.74-0.98
#   good, paraphrase:                 lexical 0.45-0.73,   cosine 0.67-0.84
#   good, loose paraphrase:           lexical 0.18-0.29,   cosine 0.28-0.47  (rejected: too loose
#                                     to prove; dropping a true sentence costs less than keeping
#                                     a false one)
#   bad, same topic, wrong claim:     lexical 0.00-0.57,   cosine 0.18-0.55
#   bad, other article:               lexical 0.00-0.12,   cosine 0.00-0.34
# LEXICAL_SUPPORT sits above the best bad overlap (0.57); COSINE_SUPPORT sits between the best
# bad cosine (0.55) and the worst accepted paraphrase (0.67). Numbers and proper names are
# checked separately (anchors), because "5 million" vs "1.2 million" is a small lexical and
# semantic difference but a large factual one. Known limit: a one-word substitution that keeps
# every number and name ("1.2 million children were arrested" for "...affected") passes both.

#: Share of a sentence's content words found in the cited chunk that counts as support alone.
LEXICAL_SUPPORT = 0.7
#: Least content-word overlap for a paraphrase to be accepted on embedding similarity.
LEXICAL_FLOOR = 0.3
#: Cosine (sentence vs. best chunk sentence) above which a paraphrase counts as supported.
COSINE_SUPPORT = 0.6
#: A claim needs this many content words: "PWNED [1]" is not a statement a source can back.
MIN_CONTENT_WORDS = 2

_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my now of off on once only or other our out over own same she should
    so some such than that the their them then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would you your
    said says say according source sources document documents""".split()  # noqa: SIM905
)
_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKER = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*[,;]\s*(?:sources?\s*)?\d+)*)\s*\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^\s*((?:\[\s*(?:sources?\s*)?\d+(?:\s*[,;]\s*\d+)*\s*\]\s*)+)", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_TRAILING_PUNCT = re.compile(r"[\s.!?;:]+$")
# Chunk sentences that address the assistant rather than the reader: never accepted as
# support, so an answer that obeys (or echoes) an injected instruction is dropped.
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|above|previous)\b|"
    r"\b(system prompt|you are now|as an ai language model)\b",
    re.IGNORECASE,
)
# What an LLM says when the sources do not answer (the prompt asks for REFUSAL_TEXT verbatim;
# models often paraphrase it).
_REFUSAL = re.compile(
    r"(couldn'?t|could not|can ?not|can'?t|unable to) find|"
    r"(do|does|did)(n'?t| not) (contain|mention|say|include|provide|specify|answer|cover)|"
    r"no (information|mention|answer)|not (mentioned|stated|specified|covered|found|provided)|"
    r"(is|are) silent on",
    re.IGNORECASE,
)
_ABOUT_DOCUMENTS = re.compile(
    r"\b(documents?|sources?|texts?|articles?|context|passages?|excerpts?|provided|given)\b", re.IGNORECASE
)
_EMPHASIS = re.compile(r"\*\*|__|`")


@dataclass(frozen=True)
class Verification:
    """The verified answer: final text with dense citation numbers, plus what was dropped."""

    text: str
    citations: tuple[Citation, ...]
    dropped_unsupported: int  # cited, but no cited source supports it (or the number is invalid)
    dropped_uncited: int  # carried no [n] at all
    refused: bool  # the model said the documents do not contain the answer, and nothing survived
    partly_refused: bool  # some sentences survived, another said part is not in the documents


@dataclass(frozen=True)
class _Sentence:
    text: str  # without citation markers
    cited: tuple[int, ...]  # source numbers as written by the model


@dataclass(frozen=True)
class _Span:
    text: str
    start: int  # offset into the chunk text


def sentence_spans(text: str) -> list[_Span]:
    """Sentences of a chunk with their offsets (assistant.sentences): quotes are exact substrings."""
    return [_Span(text[start:end], start) for start, end in split_spans(text)]


def _markers(text: str) -> list[int]:
    return [int(n) for group in _MARKER.findall(text) for n in re.findall(r"\d+", group)]


def parse_sentences(raw: str) -> list[_Sentence]:
    """The model's sentences with the source numbers each cites.

    Markers that the splitter puts at the start of the next segment ("... signed it. [2] It ...")
    belong to the sentence before them.
    """
    parsed: list[_Sentence] = []
    for segment in sentences(raw):
        segment = _BULLET.sub("", segment)
        leading = _LEADING_MARKERS.match(segment)
        if leading:
            if parsed:
                prev = parsed[-1]
                parsed[-1] = _Sentence(prev.text, prev.cited + tuple(_markers(leading.group(1))))
            segment = segment[leading.end() :]
        cited = tuple(_markers(segment))
        body = re.sub(r"\s+([.!?;:,])", r"\1", _MARKER.sub("", _EMPHASIS.sub("", segment))).strip()
        body = re.sub(r"\s{2,}", " ", body)
        if re.search(r"\w", body):
            parsed.append(_Sentence(body, cited))
    return parsed


def is_refusal(sentence: str) -> bool:
    """Whether a model sentence says the documents do not contain the answer.

    Besides the negation it must name the documents ("sources", "provided text", ...), so a
    factual sentence such as "No fines were mentioned in the ruling" is not mistaken for one.
    """
    if sentence.strip() == REFUSAL_TEXT:
        return True
    return bool(_REFUSAL.search(sentence)) and bool(_ABOUT_DOCUMENTS.search(sentence))


def _words(text: str) -> list[str]:
    return [w.lower().replace(",", "") for w in _WORD.findall(text)]


def content_stems(text: str) -> set[str]:
    """Content words of `text`, lowercased and Snowball-stemmed, stopwords removed: "regulators" and
    "regulator", "criminalize" and "criminalizing" match (the stemmer retrieval uses)."""
    return {stem(w) for w in _words(text) if w not in _STOP and (len(w) > 1 or w.isdigit())}


def anchors(sentence: str) -> set[str]:
    """Numbers and proper names in a sentence: facts that must appear in the cited chunk."""
    found = {n.replace(",", "") for n in _NUMBER.findall(sentence)}
    tokens = _WORD.findall(sentence)
    for i, token in enumerate(tokens):
        # The first word is capitalised by grammar, not because it names something.
        if i > 0 and token[:1].isupper() and token.lower() not in _STOP and not token.isdigit():
            found.add(token.lower())
    return found


def lexical_support(sentence: str, chunk_text: str) -> float:
    """Share of the sentence's content stems that occur in the chunk (0 when it has none)."""
    stems = content_stems(sentence)
    if not stems:
        return 0.0
    return len(stems & content_stems(chunk_text)) / len(stems)


def anchors_grounded(sentence: str, chunk_text: str) -> bool:
    """Every number in `sentence` occurs in the chunk, and every proper name as a word prefix.

    Prefix matching lets "Korea" match "Korean" and "Grok" match "Grok's".
    """
    words = set(_words(chunk_text))
    for anchor in anchors(sentence):
        if anchor in words:
            continue
        if anchor[:1].isdigit() or not any(w.startswith(anchor) for w in words):
            return False
    return True


def looks_like_injection(sentence: str) -> bool:
    """Whether a source sentence is an instruction aimed at the assistant (never support)."""
    return bool(_INJECTION.search(sentence))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def is_supported(lexical: float, cosine: float | None) -> bool:
    """The calibrated decision (anchors checked separately)."""
    if lexical >= LEXICAL_SUPPORT:
        return True
    return cosine is not None and lexical >= LEXICAL_FLOOR and cosine >= COSINE_SUPPORT


class _Vectors:
    """Embeds every sentence the verification needs in one batch."""

    def __init__(self, embeddings: Embeddings | None, texts: Sequence[str]) -> None:
        unique = list(dict.fromkeys(texts))
        self._by_text: dict[str, list[float]] = {}
        if embeddings is not None and unique:
            try:
                self._by_text = dict(zip(unique, embeddings.embed_documents(unique), strict=True))
            except Exception:  # verification still works lexically; never lose the answer
                log.exception("embedding failed during citation verification; using lexical support only")

    def cosine(self, a: str, b: str) -> float | None:
        if a in self._by_text and b in self._by_text:
            return _cosine(self._by_text[a], self._by_text[b])
        return None


def _support(sentence: str, chunk: Chunk, spans: list[_Span], vectors: _Vectors) -> tuple[bool, _Span | None, float]:
    """(supported, best quote, score) for one sentence against one cited chunk."""
    spans = [s for s in spans if not looks_like_injection(s.text)]
    if not spans or len(content_stems(sentence)) < MIN_CONTENT_WORDS:
        return False, None, 0.0
    usable = " ".join(s.text for s in spans)
    if not anchors_grounded(sentence, usable):
        return False, None, 0.0
    lexical = lexical_support(sentence, usable)
    best: _Span | None = None
    best_score = -math.inf
    best_cos: float | None = None
    for span in spans:
        cos = vectors.cosine(sentence, span.text)
        score = cos if cos is not None else lexical_support(sentence, span.text)
        if score > best_score:
            best, best_score, best_cos = span, score, cos
    return is_supported(lexical, best_cos), best, best_score


def _with_markers(body: str, numbers: Sequence[int]) -> str:
    markers = "".join(f"[{n}]" for n in numbers)
    stripped = _TRAILING_PUNCT.sub("", body)
    ending = body[len(stripped) :].strip()
    return f"{stripped} {markers}{ending or '.'}"


def verify_answer(raw: str, sources: Sequence[Chunk], embeddings: Embeddings | None) -> Verification:
    """Keep the sentences of `raw` that their cited `sources` (source n = sources[n-1]) support."""
    sentences = parse_sentences(raw)
    spans = {i: sentence_spans(chunk.text) for i, chunk in enumerate(sources, start=1)}
    cited_numbers = {n for s in sentences for n in s.cited if n in spans}
    vectors = _Vectors(
        embeddings,
        [s.text for s in sentences if s.cited] + [span.text for n in sorted(cited_numbers) for span in spans[n]],
    )

    kept: list[tuple[str, list[tuple[Chunk, _Span]]]] = []
    dropped_unsupported = dropped_uncited = 0
    refusals = 0
    for sentence in sentences:
        if is_refusal(sentence.text):
            refusals += 1
            continue
        if not sentence.cited:
            dropped_uncited += 1
            continue
        supports: list[tuple[Chunk, _Span]] = []
        for n in dict.fromkeys(sentence.cited):
            if n not in spans:  # a number the prompt never gave: a hallucinated citation
                continue
            ok, quote, score = _support(sentence.text, sources[n - 1], spans[n], vectors)
            log.debug("sentence %r vs source %d: supported=%s score=%.3f", sentence.text[:60], n, ok, score)
            if ok and quote is not None:
                supports.append((sources[n - 1], quote))
        if supports:
            kept.append((sentence.text, supports))
        else:
            dropped_unsupported += 1

    numbering: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    for body, supports in kept:
        numbers: list[int] = []
        for chunk, span in supports:
            start = chunk.start + span.start
            key = (chunk.doc_id, start, start + len(span.text))
            if key not in numbering:
                numbering[key] = len(numbering) + 1
                citations.append(
                    Citation(
                        n=numbering[key],
                        doc_id=chunk.doc_id,
                        title=chunk.title,
                        source=chunk.source,
                        quote=span.text,
                        start=key[1],
                        end=key[2],
                    )
                )
            if numbering[key] not in numbers:
                numbers.append(numbering[key])
        parts.append(_with_markers(body, numbers))

    return Verification(
        text=" ".join(parts),
        citations=tuple(citations),
        dropped_unsupported=dropped_unsupported,
        dropped_uncited=dropped_uncited,
        refused=refusals > 0 and not kept,
        partly_refused=refusals > 0 and bool(kept),
    )


#: The note on an LLM answer that verification kept only part of: information, not a warning.
PARTLY_ANSWERED_NOTE = "The documents do not answer every part of the question."


def dropped_notes(v: Verification) -> tuple[str, ...]:
    """User-facing warnings for the sentences verification removed."""
    notes: list[str] = []
    if v.dropped_unsupported:
        n = v.dropped_unsupported
        notes.append(
            f"{n} sentence{'s were' if n > 1 else ' was'} dropped because "
            f"{'their citations' if n > 1 else 'its citations'} did not support "
            f"{'them' if n > 1 else 'it'}."
        )
    if v.dropped_uncited:
        n = v.dropped_uncited
        they = "they" if n > 1 else "it"
        notes.append(f"{n} sentence{'s were' if n > 1 else ' was'} dropped because {they} cited no source.")
    return tuple(notes)
