"""Core benchmark: ingest and ask, measured side by side in one run.

For each corpus (the seed corpus, and a real help site: the Python 3.11 HTML docs from
Debian's python3.11-doc, installed when absent and we are root) it prints:

- pipeline ingest throughput (load + clean + chunk + embed + write, chunks/s) divided by the
  raw encoder's throughput on the very same chunk texts (target >= 0.9); a help site is ingested
  in slices, each followed by the encoder on a share of its chunks, so drifting machine load
  hits both alike (the range of the per-slice ratios is printed too);
- unchanged re-ingest: seconds and embedding calls (target 0 calls);
- warm ask latency p50 / p95 over the eval questions (target p95 <= 50 ms on the seed corpus),
  and the same for a new question whose retrieved sentences were never embedded before;
- cold `citeline ask` wall time (a new process: imports, model load, store open, answer).

Ratios, not absolute seconds, are the figures to compare: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from langchain_core.embeddings import Embeddings

REPO = Path(__file__).resolve().parent.parent
PYDOCS = Path("/usr/share/doc/python3.11/html")


class CountingEmbeddings(Embeddings):
    """Delegates to the real embedder and counts embed_documents calls and texts."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.info = inner.info
        self.calls = 0
        self.texts = 0

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed_documents(texts)  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)  # type: ignore[no-any-return]


def ensure_pydocs() -> Path | None:
    """The Python docs help site; installs Debian's python3.11-doc when absent and root."""
    if not PYDOCS.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        print("installing python3.11-doc (Debian) for the help-site benchmark ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3.11-doc"], check=False, capture_output=True)
    return PYDOCS if PYDOCS.exists() else None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def eval_questions() -> list[str]:
    questions = []
    for path in sorted((REPO / "evals" / "cases").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    return questions


#: The help site is ingested in this many slices of its files, each followed at once by the raw
#: encoder on (a share of) that slice's chunks, so both are timed under the same machine load:
#: on a shared machine, load drifts over the ~10 minutes of a whole-site ingest.
SLICES = 10
#: Share of each slice's chunks the raw encoder is timed on (throughput in chunks/s is compared;
#: encoding every chunk twice would double the benchmark's length).
ENCODER_SHARE = 0.25


#: A folder with fewer files (the seed corpus) is one slice, every chunk encoded.
MIN_FILES_TO_SLICE = 50


def interleaved_ingest(folder: Path, store: Any, counting: Any, embedder: Any, **kwargs: Any) -> dict[str, Any]:
    """Ingest `folder` slice by slice into a growing staging copy, timing the raw encoder on each
    slice's new chunks right after its ingest; ratios per slice show the run's spread."""
    from ingest.pipeline import ingest_folder, supported_files

    files = sorted(supported_files(folder, kwargs["exclude"]))
    slices, share = (SLICES, ENCODER_SHARE) if len(files) >= MIN_FILES_TO_SLICE else (1, 1.0)
    staging = Path(tempfile.mkdtemp(prefix="citeline-bench-site-"))
    client = embedder._impl._client
    rng = random.Random(0)
    known: set[str] = set()
    texts_before = counting.texts
    ingest_s = raw_s = ingest_cpu = raw_cpu = 0.0
    chunks = encoded = 0
    ratios = []
    last = None
    try:
        for i in range(slices):
            part = files[i * len(files) // slices : (i + 1) * len(files) // slices]
            if not part:
                continue
            for path in part:  # copied outside the timed region
                target = staging / path.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
            t0, c0 = time.perf_counter(), time.process_time()
            report = ingest_folder(staging, store, counting, **kwargs)
            took, took_cpu = time.perf_counter() - t0, time.process_time() - c0
            last = report  # each run reports every file of the growing copy it skipped
            stored = store.all_chunks()
            new = [c.text for c in stored if c.chunk_id not in known]
            known.update(c.chunk_id for c in stored)
            sample = rng.sample(new, max(1, round(len(new) * share))) if new else []
            t0, c0 = time.perf_counter(), time.process_time()
            if sample:
                client.encode(sample, batch_size=kwargs["batch_size"], normalize_embeddings=True)
            raw, raw_c = time.perf_counter() - t0, time.process_time() - c0
            ingest_s, raw_s, chunks, encoded = ingest_s + took, raw_s + raw, chunks + len(new), encoded + len(sample)
            ingest_cpu, raw_cpu = ingest_cpu + took_cpu, raw_cpu + raw_c
            if new and raw > 0:
                ratios.append((len(new) / took) / (len(sample) / raw))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {
        "chunks": chunks,
        "encoder_chunks_per_s": encoded / raw_s if raw_s else 0.0,
        "encoder_sample": encoded,
        "ingest_chunks_per_s": chunks / ingest_s if ingest_s else 0.0,
        # The same ratio in CPU seconds of this process (all threads): less sensitive to other
        # tenants' load on a shared machine than wall time, which is the figure the target names.
        "ingest_over_encoder_cpu": (chunks / ingest_cpu) / (encoded / raw_cpu) if ingest_cpu and raw_cpu else 0.0,
        "ingest_over_encoder": (chunks / ingest_s) / (encoded / raw_s) if ingest_s and raw_s else 0.0,
        "slice_ratios": ratios,
        # Texts the pipeline sent to the encoder: a chunk text repeated in the run is embedded once.
        "texts_embedded": counting.texts - texts_before,
        "skipped": len(last.skipped) if last else 0,
    }


def bench_corpus(
    name: str, folder: Path, embedder: Any, questions: list[str], rounds: int, exclude: list[str]
) -> dict[str, Any]:
    from assistant.chain import build_chain
    from assistant.config import Settings
    from assistant.store import open_store
    from ingest.chunking import chunker_signature
    from ingest.pipeline import ingest_folder

    data_dir = Path(tempfile.mkdtemp(prefix=f"citeline-bench-{name}-"))
    settings = Settings(data_dir=data_dir)
    counting = CountingEmbeddings(embedder)
    chunker = chunker_signature(settings.chunk_max_tokens, settings.chunk_overlap_sentences)
    kwargs = dict(
        max_file_bytes=settings.max_file_bytes,
        chunk_max_tokens=settings.chunk_max_tokens,
        overlap=settings.chunk_overlap_sentences,
        batch_size=settings.embed_batch_size,
        progress=sys.stderr.isatty(),
        exclude=exclude,
    )
    try:
        store = open_store(settings, counting, create=True, chunker=chunker)
        measured = interleaved_ingest(folder, store, counting, embedder, **kwargs)
        n = measured["chunks"]

        calls_before = counting.calls
        t0 = time.perf_counter()
        again = ingest_folder(folder, store, counting, **kwargs)  # type: ignore[arg-type]
        reingest_s = time.perf_counter() - t0
        reingest_calls = counting.calls - calls_before

        chain = build_chain(settings, store, embedder)
        for q in questions:  # warm-up: BM25 index, caches
            chain.invoke({"question": q, "history": []})
        latencies = [ms for _ in range(rounds) for ms in timed_asks(chain, embedder, questions)]
        # A new question: none of its retrieved sentences embedded before, as for most questions
        # a help site's visitors ask.
        fresh = timed_asks(chain, embedder, questions, new_sentences=True)

        cold = cold_ask(data_dir, questions[0])
        return {
            "corpus": name,
            "documents": len(store.list_documents()),
            "skipped": measured["skipped"],
            "chunks": n,
            "ingest_chunks_per_s": measured["ingest_chunks_per_s"],
            "encoder_chunks_per_s": measured["encoder_chunks_per_s"],
            "encoder_sample": measured["encoder_sample"],
            "ingest_over_encoder": measured["ingest_over_encoder"],
            "ingest_over_encoder_cpu": measured["ingest_over_encoder_cpu"],
            "texts_embedded": measured["texts_embedded"],
            # The same ratio per text actually embedded: what the pipeline costs beyond the encoder
            # when no repeated text is saved.
            "ingest_over_encoder_per_text": measured["ingest_over_encoder"] * measured["texts_embedded"] / n
            if n
            else 0.0,
            "slice_ratio_min": min(measured["slice_ratios"]),
            "slice_ratio_max": max(measured["slice_ratios"]),
            "slices": len(measured["slice_ratios"]),
            "reingest_s": reingest_s,
            "reingest_embedding_calls": reingest_calls,
            "reingest_written": again.chunks_written,
            "ask_p50_ms": statistics.median(latencies),
            "ask_p95_ms": percentile(latencies, 0.95),
            "asks": len(latencies),
            "new_question_p50_ms": statistics.median(fresh),
            "new_question_p95_ms": percentile(fresh, 0.95),
            "cold_ask_s": cold,
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def timed_asks(chain: Any, embedder: Any, questions: list[str], new_sentences: bool = False) -> list[float]:
    """Milliseconds per question. Each is embedded afresh (a cached query vector would flatter the
    figure); with `new_sentences`, the answerer's sentence cache is emptied before each, too."""
    cache = getattr(chain.answerer, "_cache", None) if new_sentences else None
    timings = []
    for q in questions:
        if cache is not None:
            cache.clear()
        embedder._query_vector.cache_clear()
        t0 = time.perf_counter()
        chain.invoke({"question": q, "history": []})
        timings.append((time.perf_counter() - t0) * 1000)
    return timings


def cold_ask(data_dir: Path, question: str) -> float:
    exe = Path(sys.executable).with_name("citeline")
    cmd = [str(exe), "ask", "--json", "--data-dir", str(data_dir), question]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return time.perf_counter() - t0


def render(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'corpus':<10} {'docs':>5} {'chunks':>7} {'ingest/encoder':>15} {'reingest s':>11} "
        f"{'reingest calls':>15} {'ask p50 ms':>11} {'ask p95 ms':>11} {'cold ask s':>11}"
    ]
    for r in results:
        lines.append(
            f"{r['corpus']:<10} {r['documents']:>5} {r['chunks']:>7} {r['ingest_over_encoder']:>15.2f} "
            f"{r['reingest_s']:>11.2f} {r['reingest_embedding_calls']:>15} {r['ask_p50_ms']:>11.1f} "
            f"{r['ask_p95_ms']:>11.1f} {r['cold_ask_s']:>11.1f}"
        )
    for r in results:
        lines.append(
            f"{r['corpus']}: a new question (no sentence embedded before) p50 {r['new_question_p50_ms']:.0f} ms, "
            f"p95 {r['new_question_p95_ms']:.0f} ms"
        )
    for r in results:
        if r["slices"] > 1:
            lines.append(
                f"{r['corpus']}: ingest/encoder per slice {r['slice_ratio_min']:.2f}-{r['slice_ratio_max']:.2f} "
                f"over {r['slices']} slices; encoder timed on {r['encoder_sample']} of {r['chunks']} chunks; "
                f"in CPU seconds {r['ingest_over_encoder_cpu']:.2f}"
            )
    for r in results:
        if r["texts_embedded"] < r["chunks"]:
            lines.append(
                f"{r['corpus']}: the pipeline embedded {r['texts_embedded']} texts for {r['chunks']} chunks "
                f"(repeated chunk texts reuse their vector); ingest/encoder per text embedded "
                f"{r['ingest_over_encoder_per_text']:.2f}"
            )
    lines.append("targets: ingest/encoder >= 0.9; reingest calls = 0; seed ask p95 <= 50 ms")
    return lines


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-only", action="store_true", help="Skip the Python docs help site.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed passes over the eval questions.")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "core.json")
    args = parser.parse_args(argv)

    from assistant.embeddings import build_embeddings

    embedder = build_embeddings()
    embedder.embed_query("warm up")  # load the model before anything is timed
    questions = eval_questions()
    corpora: list[tuple[str, Path, list[str]]] = [("seed", REPO / "corpus", [])]
    if not args.seed_only and (docs := ensure_pydocs()) is not None:
        # The HTML pages only: _sources/ holds Sphinx's .txt copy of every page.
        corpora.append(("pydocs", docs, ["_sources", "_sources/*"]))
    results = []
    for name, folder, exclude in corpora:
        print(f"benchmarking {name}: {folder}", flush=True)
        results.append(bench_corpus(name, folder, embedder, questions, args.rounds, exclude))
    for line in render(results):
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
