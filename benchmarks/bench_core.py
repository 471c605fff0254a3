"""Core benchmark: ingest and ask, measured side by side in one run.

For each corpus (the seed corpus, and a real help site: the Python 3.11 HTML docs from
Debian's python3.11-doc, installed when absent and we are root) it prints:

- pipeline ingest throughput (load + clean + chunk + embed + write, chunks/s) divided by the
  raw encoder's throughput on the very same chunk texts (target >= 0.9);
- unchanged re-ingest: seconds and embedding calls (target 0 calls);
- warm ask latency p50 / p95 over the eval questions (target p95 <= 50 ms on the seed corpus);
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


#: The raw encoder is timed on a fixed random sample of the stored chunks (up to this many):
#: throughput in chunks/s is compared, and a full second encode of a large site takes too long.
ENCODER_SAMPLE = 4000


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
        t0 = time.perf_counter()
        first = ingest_folder(folder, store, counting, **kwargs)  # type: ignore[arg-type]
        ingest_s = time.perf_counter() - t0
        texts = [c.text for c in store.all_chunks()]
        n = len(texts)

        # The raw encoder on the stored chunk texts (a fixed sample of them on a large site),
        # same batch size, same process, right after the pipeline.
        sample = random.Random(0).sample(texts, min(n, ENCODER_SAMPLE))
        client = embedder._impl._client
        t0 = time.perf_counter()
        client.encode(sample, batch_size=settings.embed_batch_size, normalize_embeddings=True)
        raw_s = time.perf_counter() - t0

        calls_before = counting.calls
        t0 = time.perf_counter()
        again = ingest_folder(folder, store, counting, **kwargs)  # type: ignore[arg-type]
        reingest_s = time.perf_counter() - t0
        reingest_calls = counting.calls - calls_before

        chain = build_chain(settings, store, embedder)
        for q in questions:  # warm-up: BM25 index, caches
            chain.invoke({"question": q, "history": []})
        latencies = []
        for _ in range(rounds):
            for q in questions:
                # Each timed question is embedded afresh: a cached query vector would flatter the figure.
                embedder._query_vector.cache_clear()
                t0 = time.perf_counter()
                chain.invoke({"question": q, "history": []})
                latencies.append((time.perf_counter() - t0) * 1000)

        cold = cold_ask(data_dir, questions[0])
        return {
            "corpus": name,
            "documents": len(store.list_documents()),
            "skipped": len(first.skipped),
            "chunks": n,
            "ingest_chunks_per_s": n / ingest_s,
            "encoder_chunks_per_s": len(sample) / raw_s,
            "encoder_sample": len(sample),
            "ingest_over_encoder": (n / ingest_s) / (len(sample) / raw_s),
            "reingest_s": reingest_s,
            "reingest_embedding_calls": reingest_calls,
            "reingest_written": again.chunks_written,
            "ask_p50_ms": statistics.median(latencies),
            "ask_p95_ms": percentile(latencies, 0.95),
            "asks": len(latencies),
            "cold_ask_s": cold,
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


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
