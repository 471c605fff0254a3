"""Sentence-aware chunks with exact character offsets, sized for the embedder's window.

The cleaned text is split into sentences with the product's one splitter
(assistant.sentences: sentencex, line by line, exact offsets); whole sentences are packed up to
`max_tokens` (counted with the embedder's own tokenizer), with `overlap` sentences repeated
between neighbouring chunks. A sentence longer than `max_tokens` is split at word boundaries.
Invariant, asserted for every chunk: ``document.text[chunk.start:chunk.end] == chunk.text``
and ``count_tokens(chunk.text) <= max_tokens <= EMBEDDER_MAX_TOKENS``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from assistant.config import EMBEDDER_MAX_TOKENS
from assistant.sentences import sentence_spans
from assistant.types import Chunk, Document

#: Bump when chunk boundaries would change for the same text (forces `ingest --rebuild`).
CHUNKER_VERSION = "sentences-v2"  # v2: sentencex replaced pysbd

TokenCounter = Callable[[str], int]

_WORD = re.compile(r"\S+")


def chunker_signature(max_tokens: int, overlap: int) -> str:
    """What the store records: the chunker version plus the settings that shape chunks."""
    return f"{CHUNKER_VERSION};max_tokens={max_tokens};overlap={overlap}"


def _split_long(text: str, start: int, end: int, count: TokenCounter, max_tokens: int) -> list[tuple[int, int]]:
    """Split one over-long sentence at word boundaries (a giant 'word' at character boundaries)."""
    pieces: list[tuple[int, int]] = []
    words = [(m.start() + start, m.end() + start) for m in _WORD.finditer(text[start:end])]
    cur: tuple[int, int] | None = None
    for w_start, w_end in words:
        if cur is not None and count(text[cur[0] : w_end]) <= max_tokens:
            cur = (cur[0], w_end)
            continue
        if cur is not None:
            pieces.append(cur)
        if count(text[w_start:w_end]) <= max_tokens:
            cur = (w_start, w_end)
            continue
        # One word longer than the window (a URL, base64...): cut by characters.
        pos = w_start
        while pos < w_end:
            step = w_end - pos
            while step > 1 and count(text[pos : pos + step]) > max_tokens:
                step = max(1, step * 3 // 4)
            pieces.append((pos, pos + step))
            pos += step
        cur = None
    if cur is not None:
        pieces.append(cur)
    return pieces


def chunk_id_for(doc_id: str, start: int, end: int, text: str) -> str:
    """Content hash of a chunk: same document, offsets and text -> same id (enables skip-if-present)."""
    digest = hashlib.sha256(f"{doc_id}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()
    return digest[:32]


def chunk_document(doc: Document, count_tokens: TokenCounter, max_tokens: int, overlap: int = 1) -> list[Chunk]:
    """Pack `doc`'s sentences into chunks of at most `max_tokens` tokens with `overlap` shared sentences."""
    if not 0 < max_tokens <= EMBEDDER_MAX_TOKENS:
        raise ValueError(f"max_tokens must be in 1..{EMBEDDER_MAX_TOKENS}, got {max_tokens}")
    text = doc.text
    units: list[tuple[int, int]] = []
    sizes: list[int] = []  # tokens of each unit without the [CLS]/[SEP]-style overhead
    overhead = count_tokens("")
    for start, end in sentence_spans(text):
        tokens = count_tokens(text[start:end])
        pieces = [(start, end)] if tokens <= max_tokens else _split_long(text, start, end, count_tokens, max_tokens)
        for p_start, p_end in pieces:
            units.append((p_start, p_end))
            sizes.append((tokens if len(pieces) == 1 else count_tokens(text[p_start:p_end])) - overhead)
    prefix = [0]
    for size in sizes:
        prefix.append(prefix[-1] + size)

    def fits(first: int, last: int) -> bool:
        # The sum of sentence sizes is exact for word-level tokenizers (whitespace never makes a
        # token); the real count of the joined text is still checked below before a chunk is kept.
        return overhead + prefix[last + 1] - prefix[first] <= max_tokens

    # Real counts of joined spans, by (first unit, last unit): the chunk kept is one of them, and
    # its count is checked again below without tokenizing it a third time.
    counted: dict[tuple[int, int], int] = {(k, k): size + overhead for k, size in enumerate(sizes)}

    def real_fits(first: int, last: int) -> bool:
        if (first, last) not in counted:
            counted[(first, last)] = count_tokens(text[units[first][0] : units[last][1]])
        return counted[(first, last)] <= max_tokens

    spans: list[tuple[int, int]] = []  # (first unit, last unit) inclusive
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and fits(i, j + 1):
            j += 1
        while j > i and not real_fits(i, j):
            j -= 1
        spans.append((i, j))
        if j + 1 >= len(units):
            break
        # Next chunk repeats up to `overlap` trailing sentences, if they leave room to move forward.
        nxt = max(j + 1 - overlap, i + 1)
        while nxt <= j and not fits(nxt, j + 1):
            nxt += 1
        i = nxt

    chunks: list[Chunk] = []
    for index, (first, last) in enumerate(spans):
        start, end = units[first][0], units[last][1]
        chunk_text = text[start:end]
        tokens = counted[(first, last)] if (first, last) in counted else count_tokens(chunk_text)
        if tokens > max_tokens:  # a real check, not `assert`: it must survive `python -O`
            raise RuntimeError(f"chunk {index} of {doc.source} has {tokens} tokens, over {max_tokens}")
        chunks.append(
            Chunk(
                chunk_id=chunk_id_for(doc.doc_id, start, end, chunk_text),
                doc_id=doc.doc_id,
                source=doc.source,
                title=doc.title,
                text=chunk_text,
                start=start,
                end=end,
                index=index,
            )
        )
    return chunks
