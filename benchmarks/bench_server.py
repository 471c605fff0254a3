"""Server latency under concurrent sessions: POST /api/ask at 1, 4 and 16 sessions.

    python benchmarks/bench_server.py                    # ingest corpus/ to a temp dir, start a server
    python benchmarks/bench_server.py --url http://127.0.0.1:7860   # target a running server

Each session is a thread with its own HTTP client asking the eval set's questions one after
another (with the session's earlier questions as history); within a level no question repeats,
and each level gets a fresh server (unless --url), so query caches do not flatter the figures. Loopback only; every
level is bounded in request count and time. Prints p50/p95 latency and errors per level.
Target: 16 sessions, p95 <= 1 s, 0 errors.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
#: Warm-up questions (not timed, not in the timed pool): the first requests build the BM25 index.
WARMUP = ("What is this collection of documents about?", "Who wrote the joint statement?")


def load_questions() -> list[str]:
    """The eval set's distinct questions, in a fixed shuffled order: a realistic mix of facts,
    paraphrases, follow-ups and questions that must be refused."""
    import json
    import random

    seen: dict[str, None] = {}
    for path in sorted((REPO / "evals" / "cases").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.setdefault(json.loads(line)["question"], None)
    questions = list(seen)
    random.Random(0).shuffle(questions)
    return questions


QUESTIONS = load_questions()
TARGET_P95_S = 1.0


@dataclass
class LevelResult:
    """Latencies (seconds) and error count for one concurrency level."""

    sessions: int
    latencies: list[float]
    errors: int
    wall_s: float

    @property
    def p50(self) -> float:
        return _percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        return _percentile(self.latencies, 95)

    def line(self) -> str:
        rps = len(self.latencies) / self.wall_s if self.wall_s else 0.0
        return (
            f"{self.sessions:>8} {len(self.latencies):>8} {self.p50 * 1000:>9.0f} {self.p95 * 1000:>9.0f} "
            f"{rps:>8.1f} {self.errors:>7}"
        )


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing to load-test {url}: only loopback servers (127.0.0.1, localhost) are allowed")


def run_level(url: str, sessions: int, per_session: int, time_limit_s: float, think_s: float = 0.0) -> LevelResult:
    """`sessions` threads each ask up to `per_session` questions; stops early at `time_limit_s`.

    `think_s` is a pause between a session's questions (a person reading the answer);
    0 makes every session fire back-to-back, the worst case.
    """
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit_s

    def session(idx: int) -> None:
        nonlocal errors
        history: list[str] = []
        with httpx.Client(base_url=url, timeout=30.0) as client:
            for j in range(per_session):
                if time.monotonic() > deadline:
                    return
                # Distinct questions across the whole level while sessions * per_session <= pool.
                q = QUESTIONS[(idx * per_session + j) % len(QUESTIONS)]
                t0 = time.perf_counter()
                try:
                    r = client.post("/api/ask", json={"question": q, "history": history[-6:]})
                    ok = r.status_code == 200 and "answer" in r.json()
                except (httpx.HTTPError, ValueError):
                    ok = False
                dt = time.perf_counter() - t0
                with lock:
                    if ok:
                        latencies.append(dt)
                    else:
                        errors += 1
                history.append(q)
                if think_s:
                    time.sleep(think_s)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=time_limit_s + 35)
    return LevelResult(sessions, latencies, errors, time.perf_counter() - t0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def started_server(corpus: Path) -> Iterator[str]:
    """Ingest `corpus` into a temp data dir and run `citeline serve` on a free loopback port."""
    tmp = Path(tempfile.mkdtemp(prefix="citeline-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITELINE_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(REPO))
    cli = [sys.executable, "-m", "ui.cli"]
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [*cli, "ingest", str(corpus), "--data-dir", str(tmp), "--quiet"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        port = _free_port()
        log = (tmp / "server.log").open("wb")
        proc = subprocess.Popen(
            [*cli, "serve", "--data-dir", str(tmp), "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early; see {tmp / 'server.log'}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("server did not become healthy within 180 s")
        yield url
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(
    url: str, levels: Sequence[int], per_session: int, time_limit_s: float, think_s: float = 0.0
) -> list[LevelResult]:
    """Warm up once, then run each concurrency level against `url`."""
    _check_loopback(url)
    with httpx.Client(base_url=url, timeout=60.0) as client:  # warm-up, untimed
        for q in WARMUP:
            client.post("/api/ask", json={"question": q, "history": []})
    return [run_level(url, n, per_session, time_limit_s, think_s) for n in levels]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print a table, and return the figures (for benchmarks/run_all.py)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running server on loopback (default: start one).")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus", help="Folder to ingest when starting one.")
    parser.add_argument("--levels", default="1,4,16", help="Comma-separated session counts.")
    parser.add_argument("--per-session", type=int, default=6, help="Questions each session asks.")
    parser.add_argument("--time-limit", type=float, default=90.0, help="Seconds per level at most.")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="Seconds a session pauses between questions (0: back-to-back).",
    )
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]

    if args.url:
        results = bench(args.url.rstrip("/"), levels, args.per_session, args.time_limit, args.think)
    else:
        # A fresh server per level: no level is answered from caches an earlier level filled.
        results = []
        for level in levels:
            with started_server(args.corpus) as url:
                results += bench(url, [level], args.per_session, args.time_limit, args.think)

    out = sys.stdout
    pause = f"{args.think:g} s think time" if args.think else "back-to-back, no think time"
    if not args.url:
        pause += "; a fresh server per level, every timed question distinct within its level"
    out.write(f"server: POST /api/ask latency by concurrent sessions ({pause})\n")
    out.write(f"{'sessions':>8} {'requests':>8} {'p50 ms':>9} {'p95 ms':>9} {'req/s':>8} {'errors':>7}\n")
    for r in results:
        out.write(r.line() + "\n")
    top = results[-1]
    verdict = "meets" if top.p95 <= TARGET_P95_S and top.errors == 0 else "MISSES"
    out.write(
        f"{top.sessions} sessions {verdict} the target (p95 <= {TARGET_P95_S * 1000:.0f} ms, 0 errors): "
        f"p95 {top.p95 * 1000:.0f} ms, {top.errors} errors\n"
    )
    return {
        "levels": [
            {
                "sessions": r.sessions,
                "requests": len(r.latencies),
                "p50_ms": r.p50 * 1000,
                "p95_ms": r.p95 * 1000,
                "errors": r.errors,
            }
            for r in results
        ],
        "target_met": verdict == "meets",
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    result = main()
    sys.exit(0 if result["target_met"] else 1)
