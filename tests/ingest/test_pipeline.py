"""Incremental ingest into real Chroma (tmp_path) with the keyword fake embedder."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.store import ChromaStore, StoreMismatchError, open_store
from ingest import loaders, pipeline
from ingest.chunking import chunker_signature
from ingest.pipeline import IngestError, IngestReport, run_ingest
from tests.fakes import KeywordEmbeddings
from tests.ingest.test_clean import NOISE


class FailingEmbeddings(KeywordEmbeddings):
    """Raises on the (fail_on)-th embed_documents call, like a crash mid-ingest."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.document_calls + 1 == self.fail_on:
            self.document_calls += 1
            raise RuntimeError("simulated crash")
        return super().embed_documents(texts)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", embed_batch_size=4, chunk_max_tokens=60)


def _ingest(folder: Path, settings: Settings, emb: KeywordEmbeddings, rebuild: bool = False) -> IngestReport:
    return run_ingest(folder, settings, emb, rebuild=rebuild, progress=False)


def _store(settings: Settings, emb: KeywordEmbeddings) -> ChromaStore:
    return open_store(settings, emb, create=False)


def _snapshot(store: ChromaStore) -> tuple[set[str], dict[str, str]]:
    docs = store.list_documents()
    return {c.chunk_id for c in store.all_chunks()}, {s: r.content_hash for s, r in docs.items()}


def test_corpus_ingest_stores_clean_chunks_that_match_their_document(corpus_copy: Path, settings: Settings) -> None:
    emb = KeywordEmbeddings()
    report = _ingest(corpus_copy, settings, emb)
    assert sorted(report.added) == sorted(p.name for p in corpus_copy.iterdir())
    store = _store(settings, emb)
    chunks = store.all_chunks()
    assert report.chunks_total == len(chunks) == report.chunks_written > 3
    for chunk in chunks:
        for noise in NOISE:
            assert noise not in chunk.text, f"{noise!r} in a stored chunk of {chunk.source}"
        doc = store.get_document(chunk.doc_id)
        assert doc is not None and doc.text[chunk.start : chunk.end] == chunk.text
    assert emb.documents_embedded == len(chunks)
    assert report.embedding_calls == emb.document_calls == -(-len(chunks) // settings.embed_batch_size)
    per_doc = "\n".join(report.report_lines())
    assert "unicef-ai-child-deepfakes.txt" in per_doc and "teaser-list" in per_doc and "promo" in per_doc
    assert "privacy-regulators-unite-against-ai-imagery.txt: nothing removed" in per_doc
    assert "regulators-joint-statement-on-ai-imagery.txt: 1 piece of boilerplate removed" in per_doc


def test_without_a_terminal_progress_is_plain_lines(
    corpus_copy: Path, settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PROGRESS_LINE_SECONDS", 0.0)  # a line at every step
    run_ingest(corpus_copy, settings, KeywordEmbeddings(), progress=True)
    lines = capsys.readouterr().err.splitlines()
    # A log file gets readable lines (no carriage-return redraws), ending with every document done.
    assert lines and all("\r" not in line for line in lines)
    assert lines[-1].startswith("Ingesting: 3/3 documents, ") and " chunks stored, " in lines[-1]


def test_a_progress_log_ends_with_where_the_ingest_got_to() -> None:
    out = io.StringIO()
    with pipeline.LineProgress(4, "Ingesting", interval=0.0, stream=out) as bar:
        bar.set_postfix(chunks=128)  # a line now ...
        bar.interval = 3600.0  # ... and none until the end
        bar.update(4)
        bar.set_postfix(chunks=197)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Ingesting: 0/4 documents, 128 chunks stored, ")
    assert lines[-1].startswith("Ingesting: 4/4 documents, 197 chunks stored, ") and len(lines) == 2
    quiet = io.StringIO()
    with pipeline.LineProgress(4, "Ingesting", interval=3600.0, stream=quiet) as bar:
        bar.update(4)
    assert quiet.getvalue() == ""  # a short ingest prints only its summary


def test_unchanged_reingest_embeds_and_writes_nothing(corpus_copy: Path, settings: Settings) -> None:
    _ingest(corpus_copy, settings, KeywordEmbeddings())
    emb = KeywordEmbeddings()
    before = _store(settings, emb).revision()
    report = _ingest(corpus_copy, settings, emb)
    assert emb.document_calls == 0 and report.embedding_calls == 0
    assert len(report.unchanged) == 3 and not (report.added or report.updated or report.removed)
    assert report.chunks_written == 0 and report.chunks_deleted == 0
    assert _store(settings, emb).revision() == before
    assert "3 unchanged" in report.summary_lines()[0]


def test_a_new_extractor_version_rereads_unchanged_files_without_reembedding(
    corpus_copy: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(corpus_copy, settings, KeywordEmbeddings())
    monkeypatch.setattr(loaders, "EXTRACTOR_VERSION", loaders.EXTRACTOR_VERSION + 1)
    emb = KeywordEmbeddings()
    report = _ingest(corpus_copy, settings, emb)
    # After an upgrade that extracts text differently, the next ingest re-reads every file ...
    assert len(report.updated) == 3 and not report.unchanged
    # ... and the chunks whose text did not change keep their vectors.
    assert emb.document_calls == 0 and report.chunks_written == 0 and report.chunks_deleted == 0
    again = _ingest(corpus_copy, settings, KeywordEmbeddings())
    assert len(again.unchanged) == 3


def test_a_page_whose_title_alone_changed_keeps_its_vectors_and_shows_the_new_title(
    tmp_path: Path, settings: Settings
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = "<html><head><title>{}</title></head><body><main><p>{}</p></main></body></html>"
    body = "To reset your password, open Settings and choose Reset. A link arrives by email within a minute."
    (site / "reset.html").write_text(page.format("Reset your password", body))
    _ingest(site, settings, KeywordEmbeddings())
    (site / "reset.html").write_text(page.format("Resetting a password", body))
    emb = KeywordEmbeddings()
    report = _ingest(site, settings, emb)
    assert report.updated == ["reset.html"] and emb.document_calls == 0 and report.chunks_written == 0
    chunks = _store(settings, emb).all_chunks()
    assert chunks and {c.title for c in chunks} == {"Resetting a password"}


def test_edits_and_deletions_propagate(corpus_copy: Path, settings: Settings) -> None:
    emb = KeywordEmbeddings()
    _ingest(corpus_copy, settings, emb)
    first_run = emb.documents_embedded
    edited = corpus_copy / "privacy-regulators-unite-against-ai-imagery.txt"
    edited.write_text(
        edited.read_text().replace("almost 60 privacy", "almost 70 privacy")
        + "\nA brand new closing sentence about zebras.\n"
    )
    (corpus_copy / "regulators-joint-statement-on-ai-imagery.txt").unlink()
    report = _ingest(corpus_copy, settings, emb)
    assert report.updated == [edited.name]
    assert report.removed == ["regulators-joint-statement-on-ai-imagery.txt"]
    store = _store(settings, emb)
    texts = " ".join(c.text for c in store.all_chunks())
    assert "almost 70 privacy" in texts and "almost 60 privacy" not in texts
    top = store.dense_search("A brand new closing sentence about zebras.", 1)[0]
    assert "zebras" in top.chunk.text and top.chunk.source == edited.name
    assert {c.source for c in store.all_chunks()} == {edited.name, "unicef-ai-child-deepfakes.txt"}
    assert set(store.list_documents()) == {edited.name, "unicef-ai-child-deepfakes.txt"}
    # Only the edited chunks were embedded again: untouched chunks (same content hash) were kept.
    edited_chunks = [c for c in store.all_chunks() if c.source == edited.name]
    assert report.chunks_written == emb.documents_embedded - first_run
    assert 0 < report.chunks_written < len(edited_chunks)


def test_a_repeated_chunk_text_is_embedded_once(corpus_copy: Path, settings: Settings) -> None:
    # Help sites repeat text across pages (a copied page, shared code samples): each distinct
    # chunk text costs one embedding, and every document still gets all its chunks.
    source = corpus_copy / "unicef-ai-child-deepfakes.txt"
    (corpus_copy / "copy-of-unicef.txt").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    emb = KeywordEmbeddings()
    report = _ingest(corpus_copy, settings, emb)
    store = _store(settings, emb)
    chunks = store.all_chunks()
    copies = [c for c in chunks if c.source == "copy-of-unicef.txt"]
    originals = [c for c in chunks if c.source == source.name]
    assert len(copies) == len(originals) > 1 and {c.text for c in copies} == {c.text for c in originals}
    assert emb.documents_embedded == len({c.text for c in chunks}) == len(chunks) - len(copies)
    assert report.chunks_repeated == len(copies) and report.chunks_written == len(chunks)
    assert f"{len(copies)} repeated chunk texts embedded once" in report.summary_lines()[1]
    # The copy is found by its own vector, the same as the original's.
    hits = store.dense_search(originals[0].text, 2)
    assert {h.chunk.source for h in hits} == {source.name, "copy-of-unicef.txt"}


def test_bad_files_are_skipped_and_the_rest_ingests(corpus_copy: Path, settings: Settings) -> None:
    (corpus_copy / "empty.txt").write_bytes(b"")
    (corpus_copy / "photo.txt").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    (corpus_copy / "old.txt").write_bytes("Résumé".encode("cp1252"))
    (corpus_copy / "deck.pptx").write_bytes(b"PK\x03\x04")
    (corpus_copy / "huge.md").write_text("Long text here. " * 10_000)
    (corpus_copy / "link.txt").symlink_to(corpus_copy / "missing-target.txt")
    os.mkfifo(corpus_copy / "pipe.txt")  # reading it would wait for a writer forever
    emb = KeywordEmbeddings()
    report = _ingest(corpus_copy, settings.model_copy(update={"max_file_bytes": 50_000}), emb)
    reasons = {s.source: s.reason for s in report.skipped}
    assert set(reasons) == {"empty.txt", "photo.txt", "old.txt", "deck.pptx", "huge.md", "link.txt", "pipe.txt"}
    assert "not a regular file" in reasons["pipe.txt"]
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["photo.txt"]
    assert "UTF-8" in reasons["old.txt"] and "unsupported" in reasons["deck.pptx"]
    assert "limit" in reasons["huge.md"] and "broken symbolic link" in reasons["link.txt"]
    assert len(report.added) == 3
    assert any(line.startswith("Skipped photo.txt: ") for line in report.summary_lines())


def test_a_file_that_turns_bad_keeps_its_stored_version(corpus_copy: Path, settings: Settings) -> None:
    emb = KeywordEmbeddings()
    _ingest(corpus_copy, settings, emb)
    before = _snapshot(_store(settings, emb))
    (corpus_copy / "unicef-ai-child-deepfakes.txt").write_bytes(b"\x00\x01 corrupted")
    report = _ingest(corpus_copy, settings, emb)
    assert report.kept == ["unicef-ai-child-deepfakes.txt"]
    assert any("previous version kept" in line for line in report.summary_lines())
    assert _snapshot(_store(settings, emb)) == before


def test_interrupted_ingest_converges_on_rerun(corpus_copy: Path, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="run the same ingest again"):
        _ingest(corpus_copy, settings, FailingEmbeddings(fail_on=3))
    partial = _store(settings, KeywordEmbeddings())
    written_before_crash = len(partial.all_chunks())
    assert written_before_crash == 2 * settings.embed_batch_size
    resumed = KeywordEmbeddings()
    report = _ingest(corpus_copy, settings, resumed)

    reference = settings.model_copy(update={"data_dir": tmp_path / "reference"})
    _ingest(corpus_copy, reference, KeywordEmbeddings())
    assert _snapshot(_store(settings, resumed)) == _snapshot(_store(reference, KeywordEmbeddings()))
    # Chunks saved before the crash were not embedded again.
    assert resumed.documents_embedded == report.chunks_written == report.chunks_total - written_before_crash


def test_a_failed_store_write_loses_nothing_and_a_rerun_converges(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Writes run on a writer thread while the next batch is embedded. Forty one-chunk files in
    # batches of 4: document records are written 32 at a time, just as the 8th write is in
    # flight. That write fails: its four documents must not be recorded as done.
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(40):
        (folder / f"note-{i:02}.txt").write_text(
            f"Note {i}\n\nThe depot on street {i} opens at {i % 12 + 1} o'clock.\n"
        )
    real_put = ChromaStore.put_chunks
    calls = {"n": 0}

    def flaky_put(self: ChromaStore, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 8:
            raise RuntimeError("disk full")
        real_put(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ChromaStore, "put_chunks", flaky_put)
    with pytest.raises(RuntimeError, match="disk full"):
        _ingest(folder, settings, KeywordEmbeddings())
    monkeypatch.setattr(ChromaStore, "put_chunks", real_put)
    _ingest(folder, settings, KeywordEmbeddings())
    reference = settings.model_copy(update={"data_dir": tmp_path / "reference"})
    _ingest(folder, reference, KeywordEmbeddings())
    assert _snapshot(_store(settings, KeywordEmbeddings())) == _snapshot(_store(reference, KeywordEmbeddings()))


def test_crash_while_rewriting_an_edited_file_converges(corpus_copy: Path, settings: Settings, tmp_path: Path) -> None:
    _ingest(corpus_copy, settings, KeywordEmbeddings())
    for path in corpus_copy.iterdir():
        path.write_text(path.read_text().replace("regulators", "watchdogs"))
    with pytest.raises(IngestError):
        _ingest(corpus_copy, settings, FailingEmbeddings(fail_on=2))
    (corpus_copy / "unicef-ai-child-deepfakes.txt").unlink()
    _ingest(corpus_copy, settings, KeywordEmbeddings())
    reference = settings.model_copy(update={"data_dir": tmp_path / "reference"})
    _ingest(corpus_copy, reference, KeywordEmbeddings())
    assert _snapshot(_store(settings, KeywordEmbeddings())) == _snapshot(_store(reference, KeywordEmbeddings()))


def test_missing_or_empty_folder_is_a_clear_error_and_loses_nothing(
    corpus_copy: Path, settings: Settings, tmp_path: Path
) -> None:
    emb = KeywordEmbeddings()
    _ingest(corpus_copy, settings, emb)
    before = _snapshot(_store(settings, emb))
    with pytest.raises(IngestError, match="Folder not found"):
        _ingest(tmp_path / "nope", settings, emb, rebuild=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.docx").write_bytes(b"PK")
    with pytest.raises(IngestError, match=r"No documents to ingest.*\.txt"):
        _ingest(empty, settings, emb)
    assert _snapshot(_store(settings, emb)) == before


def test_changed_chunk_settings_refuse_until_rebuild(corpus_copy: Path, settings: Settings) -> None:
    emb = KeywordEmbeddings()
    _ingest(corpus_copy, settings, emb)
    smaller = settings.model_copy(update={"chunk_max_tokens": 40})
    with pytest.raises(StoreMismatchError, match=f"citeline ingest --rebuild {corpus_copy.resolve()}"):
        _ingest(corpus_copy, smaller, emb)
    report = _ingest(corpus_copy, smaller, emb, rebuild=True)
    assert len(report.added) == 3 and report.chunks_written == report.chunks_total
    assert open_store(smaller, emb, create=True, chunker=chunker_signature(40, 1)).count_chunks() > 0


def test_html_and_pdf_files_in_a_folder_are_ingested(tmp_path: Path, settings: Settings) -> None:
    from tests.ingest.test_loaders import HELP_PAGE, _pdf_bytes

    folder = tmp_path / "site"
    (folder / "help").mkdir(parents=True)
    (folder / "help" / "reset.html").write_text(HELP_PAGE)
    (folder / "refunds.pdf").write_bytes(_pdf_bytes(["Refunds are paid within 14 days."], "Refund Policy"))
    emb = KeywordEmbeddings()
    report = _ingest(folder, settings, emb)
    assert sorted(report.added) == ["help/reset.html", "refunds.pdf"]
    store = _store(settings, emb)
    titles = {c.source: c.title for c in store.all_chunks()}
    assert titles["refunds.pdf"] == "Refund Policy"
    assert "Billing FAQ" not in " ".join(c.text for c in store.all_chunks())


@pytest.mark.model
def test_real_corpus_chunks_fit_the_minilm_window(corpus_copy: Path, tmp_path: Path) -> None:
    from assistant.embeddings import BundledMiniLM

    emb = BundledMiniLM()
    settings = Settings(data_dir=tmp_path / "data")
    report = run_ingest(corpus_copy, settings, emb, progress=False)
    chunks = open_store(settings, emb, create=False).all_chunks()
    assert len(chunks) == report.chunks_total > 0
    assert max(emb.count_tokens(c.text) for c in chunks) <= min(settings.chunk_max_tokens, 256)
    hit = open_store(settings, emb, create=False).dense_search("How many children had images manipulated?", 3)
    assert any("1.2 million children" in h.chunk.text for h in hit)


def test_excluded_files_are_left_out_and_removed_if_stored(corpus_copy: Path, settings: Settings) -> None:
    emb = KeywordEmbeddings()
    (corpus_copy / "_sources").mkdir()
    (corpus_copy / "_sources" / "copy.txt").write_text((corpus_copy / "unicef-ai-child-deepfakes.txt").read_text())
    first = _ingest(corpus_copy, settings, emb)
    assert len(first.added) == 4

    excluding = settings.model_copy(update={"ingest_exclude": ["_sources/*"]})
    again = _ingest(corpus_copy, excluding, emb)
    assert again.removed == ["_sources/copy.txt"] and not again.added
    assert "_sources/copy.txt" not in _store(settings, emb).list_documents()


def test_syncing_a_store_with_another_folder_keeps_its_documents_unless_replaced(
    corpus_copy: Path, settings: Settings, tmp_path: Path
) -> None:
    emb = KeywordEmbeddings()
    _ingest(corpus_copy, settings, emb)
    before = _snapshot(_store(settings, emb))
    other = tmp_path / "help-site"
    other.mkdir()
    (other / "faq.md").write_text("# FAQ\n\nReset your password from the account page.\n")
    # Pointing the same data dir at another folder would have removed the three articles silently.
    with pytest.raises(IngestError, match=r"holds 3 documents ingested from .*remove 3 of them.*--replace"):
        _ingest(other, settings, emb)
    assert _snapshot(_store(settings, emb)) == before
    # The same folder, with one file deleted, still syncs as before; --replace takes the new folder.
    (corpus_copy / sorted(before[1])[0]).unlink()
    assert len(_ingest(corpus_copy, settings, emb).removed) == 1
    report = run_ingest(other, settings, emb, progress=False, replace=True)
    assert report.added == ["faq.md"] and len(report.removed) == 2


class SwitchWatchingEmbeddings(FailingEmbeddings):
    """Notes the GIL switch interval each embedding call ran under."""

    def __init__(self, fail_on: int = 0) -> None:
        super().__init__(fail_on)
        self.intervals: list[float] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.intervals.append(sys.getswitchinterval())
        return super().embed_documents(texts)


def test_the_encoder_waits_less_for_the_gil_during_an_ingest_only(corpus_copy: Path, settings: Settings) -> None:
    before = sys.getswitchinterval()
    emb = SwitchWatchingEmbeddings()
    _ingest(corpus_copy, settings, emb)
    assert emb.intervals and set(emb.intervals) == {pipeline.INGEST_SWITCH_INTERVAL} != {before}
    assert sys.getswitchinterval() == before  # the caller's process is left as it was

    crashing = SwitchWatchingEmbeddings(fail_on=1)
    with pytest.raises(IngestError):
        _ingest(corpus_copy, settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"}), crashing)
    assert crashing.intervals == [pipeline.INGEST_SWITCH_INTERVAL]
    assert sys.getswitchinterval() == before  # restored after a failed ingest too
