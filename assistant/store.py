"""The Chroma store: the only module that imports chromadb.

Two collections per store (name prefix = settings.collection):

* ``<prefix>-chunks``: one record per `Chunk` (id = chunk_id, document = chunk text,
  metadata = doc_id/source/title/start/end/index, embedding = the embedder's vector), cosine
  space. Its collection metadata records the embedding model, its dimension and the chunker
  signature (checked on open) and a ``revision`` token rewritten on every chunk write/delete.
* ``<prefix>-docs``: one record per document (id = doc_id, document = the full cleaned text
  that citation offsets index into, metadata = source/title/content_hash/...). It is never
  searched, so every record carries the same 1-dimensional placeholder embedding.

Chroma never embeds anything here: vectors are computed by the caller's LangChain
`Embeddings` (passed in) and handed to Chroma, so its default embedding function (which would
download a model) is never built.

Write protocol for incremental ingest (see ingest.pipeline): delete a document's stale chunk
ids, `put_chunks` its new chunks in bounded batches, then `put_documents` LAST; a document
record therefore exists only when all its chunks are stored, so an interrupted ingest is
redone on the next run.

Chroma is thread-safe but not process-safe: use one writer process per store (do not run
two `citeline ingest` at once against the same data dir).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from langchain_core.embeddings import Embeddings

from assistant.config import Settings
from assistant.types import Chunk, Document, Hit, Removal, StoredDocument

log = logging.getLogger(__name__)

#: Largest single write; Chroma rejects batches over its max (5,461 for the embedded client).
DEFAULT_WRITE_BATCH = 5000
_PAGE = 5000
_PLACEHOLDER = [1.0]
REBUILD_COMMAND = "citeline ingest --rebuild"


class StoreError(RuntimeError):
    """Base class for store problems a user can act on."""


class StoreNotFoundError(StoreError):
    """No store exists yet where the settings point (or its Chroma server cannot be reached)."""


class StoreMismatchError(StoreError):
    """The store was built with another embedding model, dimension or chunker."""


class StoreLocationError(StoreError):
    """The store's folder cannot be created where the settings point (a file is in the way, no permission)."""


@dataclass(frozen=True)
class DocumentRecord:
    """What the store knows about a stored document, without its text (drives incremental ingest)."""

    doc_id: str
    source: str
    title: str
    content_hash: str
    chunk_count: int
    removed: tuple[Removal, ...] = ()


@dataclass(frozen=True)
class StoreSpec:
    """The identity a store is built with; a store opened with a different spec is refused."""

    embedding_model: str
    embedding_dim: int
    chunker: str | None  # None: a reader that does not chunk, so it does not check


def embedding_identity(embeddings: Embeddings) -> tuple[str, int]:
    """(model name, dimension) of an embedder: from its `info` when it has one, else by probing it."""
    info = getattr(embeddings, "info", None)
    if info is not None:
        return str(info.name), int(info.dimension)
    return type(embeddings).__name__, len(embeddings.embed_query("dimension probe"))


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most `size` items."""
    if size <= 0:
        raise ValueError("batch size must be positive")
    for i in range(0, len(items), size):
        yield items[i : i + size]


class ChromaStore:
    """Chunks and documents in Chroma; implements `assistant.types.ChunkIndex` plus the write side.

    Build it with `open_store`. Thread-safe, not process-safe (one writer process per store).
    """

    def __init__(
        self,
        client: Any,
        prefix: str,
        embeddings: Embeddings,
        spec: StoreSpec,
        where: str,
        write_batch: int = DEFAULT_WRITE_BATCH,
    ) -> None:
        self._client = client
        self._chunks_name = f"{prefix}-chunks"
        self._docs_name = f"{prefix}-docs"
        self._embeddings = embeddings
        self.spec = spec
        self.where = where
        max_batch = int(client.get_max_batch_size()) if hasattr(client, "get_max_batch_size") else write_batch
        self.write_batch = max(1, min(write_batch, max_batch))
        self._chunks: Any = None
        self._docs: Any = None

    # --- lifecycle ---------------------------------------------------------------------------

    def _collection_metadata(self, revision: str, folder: str | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "embedding_model": self.spec.embedding_model,
            "embedding_dim": self.spec.embedding_dim,
            "chunker": self.spec.chunker or "",
            "revision": revision,
        }
        if folder:
            meta["folder"] = folder
        return meta

    def _attach(self) -> bool:
        """Bind existing collections; False when either is missing."""
        try:
            self._chunks = self._client.get_collection(self._chunks_name, embedding_function=None)
            self._docs = self._client.get_collection(self._docs_name, embedding_function=None)
        except (NotFoundError, ValueError):
            return False
        return True

    def _create(self) -> None:
        self._chunks = self._client.get_or_create_collection(
            self._chunks_name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=self._collection_metadata(uuid.uuid4().hex),
            embedding_function=None,
        )
        self._docs = self._client.get_or_create_collection(
            self._docs_name, metadata={"kind": "documents"}, embedding_function=None
        )

    def _check_spec(self) -> None:
        meta = dict(self._chunks.metadata or {})
        differences: list[str] = []
        if meta.get("embedding_model") != self.spec.embedding_model:
            differences.append(f"embedding model {meta.get('embedding_model')!r} (now {self.spec.embedding_model!r})")
        if int(meta.get("embedding_dim", -1)) != self.spec.embedding_dim:
            differences.append(f"dimension {meta.get('embedding_dim')} (now {self.spec.embedding_dim})")
        # An empty recorded chunker means the store was created by a reader: nothing chunked yet.
        if self.spec.chunker is not None and meta.get("chunker") not in ("", self.spec.chunker):
            differences.append(f"chunker {meta.get('chunker')!r} (now {self.spec.chunker!r})")
        if differences:
            folder = meta.get("folder") or "[PATH]"
            raise StoreMismatchError(
                f"The document store at {self.where} was built with " + "; ".join(differences) + ". "
                f"Rebuild it from your documents with: {REBUILD_COMMAND} {folder}"
            )
        if self.spec.chunker and not meta.get("chunker"):
            meta["chunker"] = self.spec.chunker
            self._chunks.modify(metadata=meta)

    def reset(self) -> None:
        """Drop both collections and create them empty with the current spec (`ingest --rebuild`)."""
        for name in (self._chunks_name, self._docs_name):
            with contextlib.suppress(NotFoundError, ValueError):
                self._client.delete_collection(name)
        self._create()
        log.info("store at %s reset", self.where)

    # --- read side (ChunkIndex) ----------------------------------------------------------------

    def dense_search(self, query: str, k: int) -> list[Hit]:
        """The k chunks nearest to `query` by cosine similarity, best first."""
        if k <= 0:
            return []
        vector = self._embeddings.embed_query(query)
        # Chroma returns fewer than n_results when the collection holds fewer (none when empty).
        result = self._chunks.query(
            query_embeddings=[vector],
            n_results=k,
            include=["documents", "metadatas", "distances"],
        )
        hits: list[Hit] = []
        rows = zip(
            result["ids"][0],
            result["documents"][0],
            result["metadatas"][0],
            result["distances"][0],
            strict=True,
        )
        for rank, (chunk_id, text, meta, distance) in enumerate(rows, start=1):
            similarity = 1.0 - float(distance)  # Chroma's cosine distance is 1 - cosine similarity
            chunk = _chunk_from(chunk_id, text, meta)
            hits.append(Hit(chunk=chunk, score=similarity, dense_rank=rank, dense_score=similarity))
        return hits

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk, ordered by (source, index); pages through Chroma so memory stays flat."""
        chunks: list[Chunk] = []
        offset = 0
        while True:
            page = self._chunks.get(limit=_PAGE, offset=offset, include=["documents", "metadatas"])
            ids = page["ids"]
            chunks.extend(
                _chunk_from(i, t, m) for i, t, m in zip(ids, page["documents"], page["metadatas"], strict=True)
            )
            if len(ids) < _PAGE:
                break
            offset += _PAGE
        chunks.sort(key=lambda c: (c.source, c.index, c.chunk_id))
        return chunks

    def get_document(self, doc_id: str) -> StoredDocument | None:
        """The stored, cleaned text of a document (citation offsets index into it)."""
        got = self._docs.get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0]
        return StoredDocument(
            doc_id=doc_id,
            source=str(meta["source"]),
            title=str(meta["title"]),
            text=got["documents"][0],
            content_hash=str(meta["content_hash"]),
        )

    def revision(self) -> str:
        """Token that changes whenever chunks change (re-read, so other processes' writes show)."""
        collection = self._client.get_collection(self._chunks_name, embedding_function=None)
        return f"{(collection.metadata or {}).get('revision', '')}:{collection.count()}"

    def count_chunks(self) -> int:
        """How many chunks are stored."""
        return int(self._chunks.count())

    # --- write side (used by ingest.pipeline) --------------------------------------------------

    def list_documents(self) -> dict[str, DocumentRecord]:
        """Every stored document record, by source."""
        records: dict[str, DocumentRecord] = {}
        offset = 0
        while True:
            page = self._docs.get(limit=_PAGE, offset=offset, include=["metadatas"])
            for doc_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                removed = tuple(Removal(k, t) for k, t in json.loads(str(meta.get("removed", "[]"))))
                records[str(meta["source"])] = DocumentRecord(
                    doc_id=doc_id,
                    source=str(meta["source"]),
                    title=str(meta["title"]),
                    content_hash=str(meta["content_hash"]),
                    chunk_count=int(meta.get("chunk_count", 0)),
                    removed=removed,
                )
            if len(page["ids"]) < _PAGE:
                break
            offset += _PAGE
        return records

    def chunk_ids_by_document(self) -> dict[str, set[str]]:
        """Stored chunk ids grouped by doc_id (includes orphans of documents with no record)."""
        grouped: dict[str, set[str]] = {}
        offset = 0
        while True:
            page = self._chunks.get(limit=_PAGE, offset=offset, include=["metadatas"])
            for chunk_id, meta in zip(page["ids"], page["metadatas"], strict=True):
                grouped.setdefault(str(meta["doc_id"]), set()).add(chunk_id)
            if len(page["ids"]) < _PAGE:
                break
            offset += _PAGE
        return grouped

    def _bump(self) -> None:
        meta = dict(self._chunks.metadata or {})
        meta["revision"] = uuid.uuid4().hex
        self._chunks.modify(metadata=meta)

    def put_chunks(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Upsert chunks with their precomputed vectors, in batches Chroma accepts."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if not chunks:
            return
        for dim in {len(v) for v in vectors}:
            if dim != self.spec.embedding_dim:
                raise StoreMismatchError(
                    f"got {dim}-dimensional vectors for a store of dimension {self.spec.embedding_dim}"
                )
        for start in range(0, len(chunks), self.write_batch):
            part = chunks[start : start + self.write_batch]
            self._chunks.upsert(
                ids=[c.chunk_id for c in part],
                embeddings=[list(v) for v in vectors[start : start + self.write_batch]],
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(c) for c in part],
            )
        self._bump()

    def delete_chunks(self, chunk_ids: Iterable[str]) -> int:
        """Delete chunks by id (in bounded batches); returns how many ids were asked for."""
        ids = sorted(set(chunk_ids))
        for part in batched(ids, self.write_batch):
            self._chunks.delete(ids=list(part))
        if ids:
            self._bump()
        return len(ids)

    def retitle_chunks(self, chunk_ids: Sequence[str], title: str) -> int:
        """Give stored chunks their document's current title, keeping their vectors; returns how
        many had another one. (Chunk ids hash the text, not the title: a page whose <title>
        changed but whose text did not keeps its chunks, so nothing is embedded again.)"""
        changed = 0
        for part in batched(list(chunk_ids), self.write_batch):
            found = self._chunks.get(ids=list(part), include=["metadatas"])
            pairs = zip(found["ids"], found["metadatas"], strict=True)
            stale = [(cid, meta) for cid, meta in pairs if meta["title"] != title]
            if stale:
                self._chunks.update(ids=[cid for cid, _ in stale], metadatas=[{**m, "title": title} for _, m in stale])
                changed += len(stale)
        if changed:
            self._bump()
        return changed

    def put_documents(self, records: Sequence[tuple[Document, int]]) -> None:
        """Write document records, each after all its chunks are stored, in few upserts.

        One upsert per record cost ~50 ms on a 500-page site, whatever its size; batched, the
        same records take a tenth of the time.
        """
        for part in batched(records, self.write_batch):
            self._docs.upsert(
                ids=[doc.doc_id for doc, _ in part],
                embeddings=[_PLACEHOLDER for _ in part],
                documents=[doc.text for doc, _ in part],
                metadatas=[_document_metadata(doc, count) for doc, count in part],
            )

    def delete_document(self, doc_id: str) -> None:
        """Delete a document record and every chunk of it."""
        self._docs.delete(ids=[doc_id])
        self._chunks.delete(where={"doc_id": doc_id})
        self._bump()

    def ingested_folder(self) -> str | None:
        """The folder last ingested into this store (see `note_folder`), if any."""
        return (self._chunks.metadata or {}).get("folder") or None

    def note_folder(self, folder: Path) -> None:
        """Remember which folder was ingested, so a mismatch message can name it in the rebuild command."""
        meta = dict(self._chunks.metadata or {})
        if meta.get("folder") != str(folder):
            meta["folder"] = str(folder)
            self._chunks.modify(metadata=meta)


def _document_metadata(doc: Document, chunk_count: int) -> dict[str, Any]:
    return {
        "source": doc.source,
        "title": doc.title,
        "content_hash": doc.content_hash,
        "chunk_count": chunk_count,
        "removed": json.dumps([[r.kind, r.text] for r in doc.removed], ensure_ascii=False),
        **{f"meta_{k}": str(v) for k, v in doc.metadata.items()},
    }


def _chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    return {
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "title": chunk.title,
        "start": chunk.start,
        "end": chunk.end,
        "index": chunk.index,
    }


def _chunk_from(chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        source=str(meta["source"]),
        title=str(meta["title"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        index=int(meta["index"]),
    )


def _client_for(settings: Settings, create: bool) -> tuple[Any, str]:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_mode == "server":
        where = f"http://{settings.chroma_host}:{settings.chroma_port}"
        try:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
        except Exception as exc:  # chromadb raises several types for an unreachable server
            # StoreNotFoundError (not a new type): callers already turn it into one clear line.
            raise StoreNotFoundError(
                f"Cannot reach the Chroma server at {where} ({exc}). Start it (e.g. `chroma run "
                f"--port {settings.chroma_port}`) or set CITELINE_CHROMA_MODE=embedded."
            ) from exc
        return client, where
    path = settings.store_dir
    if not create and not path.exists():
        raise StoreNotFoundError(
            f"No document store at {path}. Run `citeline ingest [PATH]` first to ingest your documents."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreLocationError(
            f"Cannot create the document store at {path}: {_why_not_a_folder(path, exc)}. "
            "Pass a folder you can write to with --data-dir (or set CITELINE_DATA_DIR)."
        ) from exc
    # Chroma writes even to read (its SQLite file); a read-only store would fail deep inside it.
    read_only = [p for p in (path, path / "chroma.sqlite3") if p.exists() and not os.access(p, os.W_OK)]
    if read_only:
        which = "" if read_only[0] == path else f" (its {read_only[0].name})"
        raise StoreLocationError(
            f"The document store at {path} is read-only{which}: Chroma needs to write to it, even to answer. "
            "Make it writable, or pass another folder with --data-dir (or CITELINE_DATA_DIR)."
        )
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings), str(path)


def _why_not_a_folder(path: Path, exc: OSError) -> str:
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                return f"{candidate} is a file, not a folder"
            break
    if isinstance(exc, PermissionError):
        return f"permission denied ({exc.filename or path})"
    return exc.strerror or str(exc)


def open_store(
    settings: Settings,
    embeddings: Embeddings,
    *,
    create: bool,
    chunker: str | None = None,
    reset: bool = False,
) -> ChromaStore:
    """Open the store the settings point at (embedded PersistentClient or server HttpClient).

    create=False (readers: ask/serve/eval): a missing store raises `StoreNotFoundError`.
    create=True (ingest): missing collections are created.
    chunker: the ingest chunker's signature; checked (with model and dimension) against the
    store, so an incompatible store raises `StoreMismatchError` naming the rebuild command.
    Readers pass None (they cannot know it; assistant never imports ingest).
    reset=True drops and recreates the collections first (`citeline ingest --rebuild`).
    """
    name, dim = embedding_identity(embeddings)
    spec = StoreSpec(embedding_model=name, embedding_dim=dim, chunker=chunker)
    prefix = settings.collection
    if not (2 <= len(prefix) <= 500 and prefix.replace("-", "").replace("_", "").replace(".", "").isalnum()):
        raise StoreError(
            f"CITELINE_COLLECTION={prefix!r} is not a valid collection name: use 2-500 letters, digits, '-', '_'"
        )
    client, where = _client_for(settings, create or reset)
    store = ChromaStore(client, prefix, embeddings, spec, where)
    if reset:
        store.reset()
        return store
    if store._attach():
        store._check_spec()
        return store
    if not create:
        raise StoreNotFoundError(
            f"The document store at {where} is empty. Run `citeline ingest [PATH]` first to ingest your documents."
        )
    store._create()
    return store
