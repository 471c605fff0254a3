"""Where the ingest prepares files, measured side by side: worker thread, child process, short GIL switch.

The ingest parses, cleans and chunks files one file ahead of the encoder. This compares three
ways of doing it on a fixed random sample of help-site pages (the Python 3.11 HTML docs,
`_sources/` excluded as in bench_core.py), each ingested into a fresh store, the modes
alternated round by round:

- ``thread``: the worker thread with Python's default 5 ms GIL switch interval (the pipeline
  before ``INGEST_SWITCH_INTERVAL``);
- ``process``: a child process (``spawn``; defined here, the pipeline does not do this), with
  its own token counter: the bundled embedder's, which reads the model's tokenizer file only;
- ``switch``: the worker thread with a shorter GIL switch interval during the ingest (``--switch``;
  the pipeline's default now, ``ingest.pipeline.INGEST_SWITCH_INTERVAL``).

After every ingest the raw encoder (``SentenceTransformer.encode``, same batch size, same
process) encodes a fixed share of the same chunk texts, so each run's ratio
(pipeline chunks/s over encoder chunks/s, as in bench_core.py) is timed under the same load.
Wall seconds are the target's figure; CPU seconds include the child processes (their
``RUSAGE_CHILDREN`` after the pool has shut down).

    .venv/bin/python benchmarks/bench_prepare.py --pages 90 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PYDOCS = Path("/usr/share/doc/python3.11/html")
EXCLUDE = ["_sources", "_sources/*"]
MODES = ("thread", "process", "switch")


_child_count_tokens: Callable[[str], int] | None = None


def _init_child() -> None:
    """A child process: Ctrl-C is the parent's to handle; tokens counted by the bundled embedder's
    own counter (its tokenizer file, never the model)."""
    global _child_count_tokens
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from assistant.embeddings import BundledMiniLM

    _child_count_tokens = BundledMiniLM().count_tokens


def _prepare_in_child(raw: Any, max_tokens: int, overlap: int) -> Any:
    """ingest.pipeline._prepare with the child's counter (imports kept light: no store in the child)."""
    from ingest.pipeline import _prepare

    assert _child_count_tokens is not None
    return _prepare(raw, _child_count_tokens, max_tokens, overlap)


def prepared_in_process(
    raws: Sequence[Any], count_tokens: Callable[[str], int], max_tokens: int, overlap: int
) -> Iterator[tuple[Any, Any]]:
    """ingest.pipeline._prepared_in_order with a child process in place of the worker thread."""
    import multiprocessing

    from ingest.pipeline import prepared_ahead

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_init_child)
    return prepared_ahead(pool, raws, lambda raw: pool.submit(_prepare_in_child, raw, max_tokens, overlap))


def sample_pages(n: int, seed: int) -> Path:
    """A temp folder holding `n` pages of the help site picked with `seed` (same pages every run)."""
    from ingest.pipeline import supported_files

    files = sorted(supported_files(PYDOCS, EXCLUDE))
    files = [f for f in files if f.suffix == ".html"]
    picked = random.Random(seed).sample(files, n)
    folder = Path(tempfile.mkdtemp(prefix="citeline-bench-prepare-"))
    for path in picked:
        target = folder / path.relative_to(PYDOCS)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return folder


def cpu_seconds() -> tuple[float, float]:
    """(this process, all threads; finished child processes)"""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime


def ingest_once(mode: str, folder: Path, embedder: Any, switch: float) -> dict[str, Any]:
    from assistant.config import Settings
    from assistant.store import open_store
    from ingest import pipeline
    from ingest.chunking import chunker_signature

    data_dir = Path(tempfile.mkdtemp(prefix="citeline-bench-prepare-store-"))
    settings = Settings(data_dir=data_dir)
    chunker = chunker_signature(settings.chunk_max_tokens, settings.chunk_overlap_sentences)
    in_order, interval = pipeline._prepared_in_order, sys.getswitchinterval()
    ingest_switch = pipeline.INGEST_SWITCH_INTERVAL
    try:
        store = open_store(settings, embedder, create=True, chunker=chunker)
        if mode == "process":
            pipeline._prepared_in_order = prepared_in_process  # type: ignore[assignment]
        # The pipeline sets the interval itself during the ingest (never above the current one).
        pipeline.INGEST_SWITCH_INTERVAL = switch if mode == "switch" else interval
        (cpu0, child0), t0 = cpu_seconds(), time.perf_counter()
        report = pipeline.ingest_folder(
            folder,
            store,
            embedder,
            max_file_bytes=settings.max_file_bytes,
            chunk_max_tokens=settings.chunk_max_tokens,
            overlap=settings.chunk_overlap_sentences,
            batch_size=settings.embed_batch_size,
            exclude=EXCLUDE,
        )
        wall = time.perf_counter() - t0
        cpu1, child1 = cpu_seconds()
        chunks = sorted((c.source, c.index, c.start, c.end, c.chunk_id) for c in store.all_chunks())
        return {
            "mode": mode,
            "wall_s": wall,
            "cpu_s": cpu1 - cpu0,
            "child_cpu_s": child1 - child0,
            "chunks": report.chunks_written,
            "texts": sorted({c.text for c in store.all_chunks()}),
            "layout": chunks,
            "skipped": sorted((s.source, s.reason) for s in report.skipped),
            "embedding_calls": report.embedding_calls,
        }
    finally:
        pipeline._prepared_in_order = in_order  # type: ignore[assignment]
        pipeline.INGEST_SWITCH_INTERVAL = ingest_switch
        sys.setswitchinterval(interval)
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=90)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--share", type=float, default=0.5, help="Share of the chunks the raw encoder times.")
    parser.add_argument("--switch", type=float, default=0.0005, help="GIL switch interval (s) of mode 'switch'.")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "prepare.json")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")

    from assistant.config import Settings
    from assistant.embeddings import build_embeddings

    embedder = build_embeddings(batch_size=Settings().embed_batch_size)
    embedder.embed_query("warm up")  # the model loads before anything is timed
    client = embedder._impl._client
    folder = sample_pages(args.pages, args.seed)
    runs: list[dict[str, Any]] = []
    reference: dict[str, Any] | None = None
    sample: list[str] = []
    try:
        for r in range(args.rounds):
            order = modes[r % len(modes) :] + modes[: r % len(modes)]  # each mode runs first once
            for mode in order:
                run = ingest_once(mode, folder, embedder, args.switch)
                if reference is None:
                    reference = {k: run[k] for k in ("layout", "skipped", "texts")}
                    sample = random.Random(0).sample(run["texts"], max(1, round(len(run["texts"]) * args.share)))
                same = all(run[k] == reference[k] for k in ("layout", "skipped", "texts"))
                (c0, _), t0 = cpu_seconds(), time.perf_counter()
                client.encode(sample, batch_size=embedder.batch_size, normalize_embeddings=True)
                raw_wall, raw_cpu = time.perf_counter() - t0, time.process_time() - c0
                n = len(run["layout"])
                run.update(
                    round=r + 1,
                    raw_wall_s=raw_wall,
                    raw_cpu_s=raw_cpu,
                    ratio=(n / run["wall_s"]) / (len(sample) / raw_wall),
                    ratio_cpu=(n / (run["cpu_s"] + run["child_cpu_s"])) / (len(sample) / raw_cpu),
                    same_as_first=same,
                    load=os.getloadavg()[0],
                )
                del run["texts"], run["layout"]
                runs.append(run)
                cores = (run["cpu_s"] + run["child_cpu_s"]) / run["wall_s"]
                print(
                    f"round {r + 1} {mode:<7} ingest {run['wall_s']:6.1f} s wall, {run['cpu_s']:6.1f} + "
                    f"{run['child_cpu_s']:4.1f} child CPU s ({cores:.2f} cores), "
                    f"{n} chunks; encoder {raw_wall:5.1f} s on "
                    f"{len(sample)}; ratio {run['ratio']:.3f} (CPU {run['ratio_cpu']:.3f}); same {same}; "
                    f"load {run['load']:.1f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = {}
    for mode in modes:
        ratios = [r["ratio"] for r in runs if r["mode"] == mode]
        cpu = [r["ratio_cpu"] for r in runs if r["mode"] == mode]
        summary[mode] = {"ratios": ratios, "median": statistics.median(ratios), "cpu_ratios": cpu}
        print(
            f"{mode:<7} ratio median {statistics.median(ratios):.3f}, range {min(ratios):.3f}-{max(ratios):.3f}; "
            f"CPU ratio median {statistics.median(cpu):.3f}, range {min(cpu):.3f}-{max(cpu):.3f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs, "summary": summary}
    args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
