"""`make bench`: every benchmark in one run, side by side on the same machine.

1. bench_core: ingest vs the raw encoder, unchanged re-ingest, warm and cold ask, on the seed
   corpus and on the Python 3.11 docs as a help site (installed from Debian when absent).
2. bench_server: POST /api/ask latency at 1, 4 and 16 concurrent sessions against a real server.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_core
import bench_server


def main() -> None:
    print("== core: ingest and ask ==", flush=True)
    bench_core.main(sys.argv[1:])
    print("\n== server: concurrent sessions ==", flush=True)
    bench_server.main([])


if __name__ == "__main__":
    main()
