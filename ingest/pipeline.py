"""Incremental, idempotent ingest of a folder into the store: load -> clean -> chunk -> embed -> write.

The folder is the source of truth: after `ingest_folder` the store holds exactly the folder's
readable documents. Per file:

* unchanged (same hash of raw bytes and `EXTRACTOR_VERSION`; the chunker is fixed per store)
  -> nothing embedded or written;
* new or edited -> re-chunked; chunks already stored under the same content-hash id are not
  re-embedded, stale chunk ids are deleted, new chunks are embedded and written in batches,
  and the document record is written LAST (so an interrupted ingest redoes that file); a chunk
  text that repeats one embedded earlier in the run (a help site's pages share code samples and
  lists) reuses its vector;
* gone from the folder -> its chunks and record are deleted;
* unreadable or bad now -> reported as skipped, and its previously stored version is KEPT.

Chunks left behind by a crash (no document record, file gone) are deleted on the next run.
Entry points: `run_ingest` (what the CLI calls) and `ingest_folder` (takes a built store).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from assistant.config import Settings
from assistant.store import ChromaStore, open_store
from assistant.types import Chunk, Document, Removal, Skipped
from ingest.chunking import chunk_document, chunker_signature
from ingest.loaders import SUPPORTED_EXTENSIONS, RawFile, doc_id_for, find_files, parse, read_file

log = logging.getLogger(__name__)

_REPORT_TEXT_CHARS = 100

_Prepared = tuple[Document | Skipped, list[Chunk]]


#: Without a terminal (a log file, CI), progress is a plain line at most this often (seconds).
PROGRESS_LINE_SECONDS = 15.0


class LineProgress:
    """The progress bar's interface (``update``, ``set_postfix``) for a stderr that is no terminal.

    A bar redrawn with carriage returns is unreadable in a log; instead a line such as
    "Ingesting: 120/214 documents, 3,456 chunks stored, 95 s" is written now and then.
    """

    def __init__(self, total: int, desc: str, interval: float | None = None, stream: TextIO | None = None) -> None:
        self.total, self.desc = total, desc
        self.interval = PROGRESS_LINE_SECONDS if interval is None else interval
        self.stream = stream if stream is not None else sys.stderr
        self.n = self.chunks = 0
        self.started = self.last = time.monotonic()
        self.printed: tuple[int, int] | None = None  # (documents, chunks) of the last line written

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        # A log that showed progress ends with where it got to, not with a line minutes old.
        if self.printed is not None and self.printed != (self.n, self.chunks):
            self._print(time.monotonic())

    def update(self, n: int = 1) -> None:
        self.n += n
        self._maybe_print()

    def set_postfix(self, refresh: bool = True, **values: int) -> None:
        self.chunks = values.get("chunks", self.chunks)
        self._maybe_print()

    def _maybe_print(self) -> None:
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        self._print(now)

    def _print(self, now: float) -> None:
        self.printed = (self.n, self.chunks)
        print(
            f"{self.desc}: {self.n}/{self.total} documents, {self.chunks:,} chunks stored, {now - self.started:.0f} s",
            file=self.stream,
            flush=True,
        )


class IngestError(RuntimeError):
    """An ingest that cannot run or did not finish; the message says what to do."""


@dataclass
class IngestReport:
    """What one ingest did. `summary_lines()` and `report_lines()` render it for people."""

    folder: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # skipped now, previous stored version kept
    chunks_written: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    embedding_calls: int = 0
    #: Chunks whose text repeated one embedded earlier in the run: its vector was reused.
    chunks_repeated: int = 0
    seconds: float = 0.0
    removals: dict[str, tuple[Removal, ...]] = field(default_factory=dict)  # by source, all stored docs

    @property
    def changed(self) -> bool:
        """True when the store's content changed."""
        return bool(self.added or self.updated or self.removed or self.chunks_written or self.chunks_deleted)

    def summary_lines(self) -> list[str]:
        """A short human summary: counts, then one line per skipped file with its reason."""
        lines = [
            f"Ingested {self.folder}: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.removed)} removed, {len(self.unchanged)} unchanged, {len(self.skipped)} skipped.",
            f"Chunks: {self.chunks_written} written, {self.chunks_deleted} deleted, "
            f"{self.chunks_total} stored; {self.embedding_calls} embedding calls; {self.seconds:.1f} s.",
        ]
        if self.chunks_repeated:
            lines[1] = lines[1].removesuffix(".") + f"; {self.chunks_repeated} repeated chunk texts embedded once."
        kept = set(self.kept)
        for skip in sorted(self.skipped, key=lambda s: s.source):
            note = " (previous version kept)" if skip.source in kept else ""
            lines.append(f"Skipped {skip.source}: {skip.reason}{note}")
        return lines

    def report_lines(self) -> list[str]:
        """Per-document lines for `ingest --report`: what the cleaner removed from each document."""
        lines: list[str] = []
        for source in sorted(self.removals):
            removed = self.removals[source]
            count = len(removed)
            what = "nothing" if not count else f"{count} piece{'' if count == 1 else 's'} of boilerplate"
            lines.append(f"{source}: {what} removed")
            for item in removed:
                text = " / ".join(item.text.split("\n"))
                if len(text) > _REPORT_TEXT_CHARS:
                    text = text[: _REPORT_TEXT_CHARS - 1] + "…"
                lines.append(f"  - {item.kind}: {text}")
        return lines


def supported_files(folder: Path, exclude: Sequence[str] = ()) -> list[Path]:
    """Files under `folder` not matching `exclude`; IngestError when it is missing or holds no document."""
    if not folder.exists():
        raise IngestError(f"Folder not found: {folder}. Pass the folder of documents to ingest.")
    if not folder.is_dir():
        raise IngestError(f"{folder} is a file, not a folder. Pass the folder that contains it.")
    files = find_files(folder, exclude)
    if not any(f.suffix.lower() in SUPPORTED_EXTENSIONS for f in files):
        kinds = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise IngestError(f"No documents to ingest in {folder}: citeline reads {kinds} files.")
    return files


def _token_counter(embeddings: Embeddings) -> Callable[[str], int]:
    counter = getattr(embeddings, "count_tokens", None)
    if not callable(counter):
        raise IngestError(
            f"{type(embeddings).__name__} has no count_tokens(text); the chunker needs the embedder's tokenizer"
        )
    return counter  # type: ignore[no-any-return]


#: Document records are written in groups of this many (one Chroma upsert per record is slow).
_RECORD_BATCH = 32
#: Vectors of this many recent chunk texts are kept (float32, ~1.5 kB each: ~30 MB at most), so
#: a text repeated within them is not embedded again.
_REMEMBERED_VECTORS = 20_000


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class _Writer:
    """Embeds and writes chunks in bounded batches; writes each document record after its last chunk.

    A batch is written to the store on a writer thread while the next batch is embedded (at most
    one write in flight, so memory stays bounded). A record is written only once all its chunks
    are stored, so an interrupted ingest redoes that file next time (its stored chunks are found
    by id, not embedded again). Records wait in a small buffer and are written together.
    """

    def __init__(
        self,
        store: ChromaStore,
        embeddings: Embeddings,
        batch_size: int,
        report: IngestReport,
        bar: tqdm | LineProgress,
    ) -> None:
        self.store, self.embeddings, self.batch_size = store, embeddings, batch_size
        self.report, self.bar = report, bar
        self.pending: list[Chunk] = []
        self.waiting: list[tuple[Document, int]] = []  # (document, its chunk count), chunks not all stored
        self.ready: list[tuple[Document, int]] = []  # all chunks stored, record not yet written
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citeline-write")
        self._in_flight: tuple[list[Chunk], Future[None]] | None = None
        self._vectors: OrderedDict[bytes, np.ndarray] = OrderedDict()  # recent texts' vectors

    def add(self, doc: Document, new_chunks: Sequence[Chunk], chunk_count: int) -> None:
        self.pending.extend(new_chunks)
        self.waiting.append((doc, chunk_count))
        while len(self.pending) >= self.batch_size:
            self._flush(self.batch_size)
        if not self.pending:
            self._collect_ready()

    def finish(self) -> None:
        while self.pending:
            self._flush(self.batch_size)
        self._settle()
        self._collect_ready()
        self._write_records()

    def close(self) -> None:
        """Wait for a write still in flight (after an error, too) and stop the writer thread."""
        self._pool.shutdown(wait=True)

    def _flush(self, size: int) -> None:
        batch, self.pending = self.pending[:size], self.pending[size:]
        try:
            vectors = self._embed([c.text for c in batch])
        except Exception as exc:
            self.pending = batch + self.pending  # not stored: their documents are not finished
            self._settle()
            self._collect_ready()
            self._write_records()  # documents finished before the failure are not redone
            raise IngestError(
                f"Embedding failed after {self.report.chunks_written} chunks were saved ({exc}). "
                "Fix the cause and run the same ingest again: it resumes where it stopped."
            ) from exc
        self._settle()
        self._in_flight = (batch, self._pool.submit(self.store.put_chunks, batch, vectors))
        self._collect_ready()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors for `texts`; each distinct text not seen recently in this run is embedded once."""
        keys = [_text_key(t) for t in texts]
        known = {k: self._vectors[k] for k in keys if k in self._vectors}
        for key in known:
            self._vectors.move_to_end(key)  # least recently used is forgotten first
        new = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
        if new:
            self.report.embedding_calls += 1
            fresh = self.embeddings.embed_documents(list(new.values()))
            for key, vec in zip(new, fresh, strict=True):
                known[key] = self._vectors[key] = np.asarray(vec, dtype=np.float32)
            while len(self._vectors) > _REMEMBERED_VECTORS:
                self._vectors.popitem(last=False)
        self.report.chunks_repeated += len(texts) - len(new)
        return [known[k].tolist() for k in keys]

    def _settle(self) -> None:
        """Wait for the write in flight; its chunks count as stored only once it succeeded."""
        if self._in_flight is None:
            return
        batch, future = self._in_flight
        self._in_flight = None
        future.result()  # a store error surfaces here, as it would have from a direct write
        self.report.chunks_written += len(batch)
        self.bar.set_postfix(chunks=self.report.chunks_written, refresh=False)

    def _collect_ready(self) -> None:
        unstored = {c.doc_id for c in self.pending}
        if self._in_flight is not None:
            unstored |= {c.doc_id for c in self._in_flight[0]}
        still: list[tuple[Document, int]] = []
        for doc, count in self.waiting:
            if doc.doc_id in unstored:
                still.append((doc, count))
            else:
                self.ready.append((doc, count))
                self.bar.update(1)
        self.waiting = still
        if len(self.ready) >= _RECORD_BATCH:
            self._write_records()

    def _write_records(self) -> None:
        if self.ready:
            self.store.put_documents(self.ready)
            self.ready = []


#: Documents parsed and chunked ahead of the embedder, on a worker thread.
_PREPARE_AHEAD = 8


#: Python's GIL switch interval (seconds) while an ingest runs. The encoder's thread needs the GIL
#: between torch calls (which release it); at the default 5 ms it may wait that long for the worker
#: thread preparing the next files. benchmarks/bench_prepare.py measures it against the default: a
#: small edge at the median (README, Benchmarks), less than the spread between runs.
INGEST_SWITCH_INTERVAL = 0.0005

_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def _short_gil_switch() -> Iterator[None]:
    """`INGEST_SWITCH_INTERVAL` while any ingest in this process runs; the previous interval after the last."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, INGEST_SWITCH_INTERVAL))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def _prepare(raw: RawFile, count_tokens: Callable[[str], int], max_tokens: int, overlap: int) -> _Prepared:
    """Parse, clean and chunk one file (runs on the worker thread)."""
    loaded = parse(raw)
    if isinstance(loaded, Skipped):
        return loaded, []
    return loaded, chunk_document(loaded, count_tokens, max_tokens, overlap)


def _prepared_in_order(
    raws: Sequence[RawFile], count_tokens: Callable[[str], int], max_tokens: int, overlap: int
) -> Iterator[tuple[RawFile, _Prepared]]:
    """(file, its parsed document and chunks) in order, prepared a few files ahead on a worker thread.

    Embedding keeps both cores busy in torch (which releases the GIL), so HTML extraction and
    chunking of the next files overlap with it instead of running before it.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citeline-ingest")
    return prepared_ahead(pool, raws, lambda raw: pool.submit(_prepare, raw, count_tokens, max_tokens, overlap))


def prepared_ahead(
    pool: Executor, raws: Sequence[RawFile], submit: Callable[[RawFile], Future[_Prepared]]
) -> Iterator[tuple[RawFile, _Prepared]]:
    """(file, what `submit` prepared of it) in order, `_PREPARE_AHEAD` files submitted ahead; `pool`
    is shut down at the end (after an error too). The benchmarks run it on a process pool as well."""
    try:
        window: deque[tuple[RawFile, Future[_Prepared]]] = deque()
        upcoming = iter(raws)
        for raw in upcoming:
            window.append((raw, submit(raw)))
            if len(window) >= _PREPARE_AHEAD:
                break
        while window:
            raw, future = window.popleft()
            following = next(upcoming, None)
            if following is not None:
                window.append((following, submit(following)))
            yield raw, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ingest_folder(
    folder: Path,
    store: ChromaStore,
    embeddings: Embeddings,
    *,
    max_file_bytes: int,
    chunk_max_tokens: int,
    overlap: int,
    batch_size: int,
    progress: bool = False,
    exclude: Sequence[str] = (),
    replace: bool = False,
) -> IngestReport:
    """Make `store` hold exactly the readable documents of `folder`, embedding only what changed.

    Files matching an `exclude` glob count as absent: if stored, they are removed. A store
    last synced with another folder is not emptied of that folder's documents unless `replace`:
    IngestError says how to keep them (another data dir) or replace them.

    Raises IngestError for a missing folder, a folder with no supported files, a store whose
    chunker differs from (chunk_max_tokens, overlap), or an embedding failure (re-running
    resumes). Bad files are skipped with a reason and never cause stored data to be lost.
    """
    started = time.perf_counter()
    folder = Path(folder)
    files = supported_files(folder, exclude)
    signature = chunker_signature(chunk_max_tokens, overlap)
    if store.spec.chunker and store.spec.chunker != signature:
        raise IngestError(f"store opened for chunker {store.spec.chunker!r} but asked to chunk with {signature!r}")
    count_tokens = _token_counter(embeddings)
    report = IngestReport(folder=str(folder))

    stored = store.list_documents()
    existing_ids = store.chunk_ids_by_document()
    keep_doc_ids: set[str] = set()  # documents whose stored chunks may stay for now
    changed: list[RawFile] = []  # new or edited files: parsed, chunked, embedded below
    seen: set[str] = set()

    def skip(skipped: Skipped) -> None:
        report.skipped.append(skipped)
        if skipped.source in stored:
            report.kept.append(skipped.source)
        if not skipped.reason.startswith("unsupported file type"):
            # INFO: the report lists every skip with its reason (the CLI prints it); -v shows these.
            log.info("skipped %s: %s", skipped.source, skipped.reason)

    for path in files:
        raw = read_file(path, folder, max_file_bytes)
        seen.add(raw.source)
        previous = stored.get(raw.source)
        if previous is not None:
            keep_doc_ids.add(previous.doc_id)  # unchanged, or kept if the new version is bad
        if isinstance(raw, Skipped):
            skip(raw)
        elif previous and previous.content_hash == raw.content_hash:
            report.unchanged.append(raw.source)
        else:
            changed.append(raw)
            keep_doc_ids.add(doc_id_for(raw.source))

    previous_folder = store.ingested_folder()
    here = str(folder.resolve())
    dropped = [source for source in stored if source not in seen]
    if dropped and previous_folder and previous_folder != here and not replace:
        raise IngestError(
            f"The store at {store.where} holds {len(stored)} documents ingested from {previous_folder}; "
            f"syncing it with {here} would remove {len(dropped)} of them. Keep them by ingesting into another "
            "store (--data-dir DIR, or CITELINE_DATA_DIR), or replace them: run the same ingest with --replace."
        )
    for source, record in sorted(stored.items()):
        if source not in seen:
            store.delete_document(record.doc_id)
            report.removed.append(source)
            report.chunks_deleted += len(existing_ids.get(record.doc_id, ()))
    # Chunks whose document is neither kept nor being written: leftovers of an interrupted run.
    removed_ids = {stored[source].doc_id for source in report.removed}
    report.chunks_deleted += store.delete_chunks(
        cid
        for doc_id, ids in existing_ids.items()
        if doc_id not in keep_doc_ids and doc_id not in removed_ids
        for cid in ids
    )

    bar: tqdm | LineProgress
    if progress and not sys.stderr.isatty():
        bar = LineProgress(len(changed), "Ingesting")
    else:
        bar = tqdm(total=len(changed), unit="doc", desc="Ingesting", file=sys.stderr, disable=not progress)
    with bar, _short_gil_switch():
        writer = _Writer(store, embeddings, batch_size, report, bar)
        try:
            for raw, (loaded, chunks) in _prepared_in_order(changed, count_tokens, chunk_max_tokens, overlap):
                have = existing_ids.get(doc_id_for(raw.source), set())
                if isinstance(loaded, Skipped):
                    skip(loaded)
                    if raw.source not in stored:  # nothing to keep: drop an interrupted run's leftovers
                        report.chunks_deleted += store.delete_chunks(have)
                    bar.update(1)
                    continue
                wanted = {c.chunk_id for c in chunks}
                report.chunks_deleted += store.delete_chunks(have - wanted)
                # Chunk ids hash the text, not the title: the chunks kept must carry the current one.
                # Compared with the chunks, not the record: a store written before this fix has
                # records with a page's new title over chunks with its old one.
                store.retitle_chunks(sorted(have & wanted), loaded.title)
                (report.updated if raw.source in stored else report.added).append(loaded.source)
                writer.add(loaded, [c for c in chunks if c.chunk_id not in have], len(chunks))
            writer.finish()
        finally:
            writer.close()

    store.note_folder(folder.resolve())
    records = store.list_documents()
    report.removals = {source: rec.removed for source, rec in records.items()}
    report.chunks_total = store.count_chunks()
    report.seconds = time.perf_counter() - started
    log.info("ingest of %s: %s", folder, report.summary_lines()[0])
    return report


def run_ingest(
    folder: Path,
    settings: Settings,
    embeddings: Embeddings,
    *,
    rebuild: bool = False,
    progress: bool = True,
    exclude: Sequence[str] = (),
    replace: bool = False,
) -> IngestReport:
    """What `citeline ingest [--rebuild] PATH` runs: open (or rebuild) the store, ingest `folder`.

    The folder is validated before anything is dropped, so `--rebuild` on a wrong path loses
    nothing. Raises IngestError (bad folder, failed embedding) and assistant.store.StoreError
    (StoreMismatchError names the rebuild command; unreachable Chroma server).
    """
    folder = Path(folder)
    exclude = [*settings.ingest_exclude, *exclude]
    supported_files(folder, exclude)
    store = open_store(
        settings,
        embeddings,
        create=True,
        chunker=chunker_signature(settings.chunk_max_tokens, settings.chunk_overlap_sentences),
        reset=rebuild,
    )
    return ingest_folder(
        folder,
        store,
        embeddings,
        max_file_bytes=settings.max_file_bytes,
        chunk_max_tokens=settings.chunk_max_tokens,
        overlap=settings.chunk_overlap_sentences,
        batch_size=settings.embed_batch_size,
        progress=progress,
        exclude=exclude,
        replace=replace,
    )
