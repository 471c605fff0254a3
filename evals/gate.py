"""The eval gate: thresholds in evals/thresholds.json, checked against a report.

Thresholds are {"metric": number}: minimums, except keys ending in `_ms` (latency), which
are maximums. Keys starting with "_" are comments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

from evals.report import fmt, label
from evals.runner import METRICS, EvalReport

log = logging.getLogger(__name__)

#: The gate's thresholds shipped with citeline.
DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.json"


def load_thresholds(path: Path = DEFAULT_THRESHOLDS) -> dict[str, float]:
    """Read thresholds: {"metric": number}; minimums, except `*_ms` keys, which are maximums.

    Raises FileNotFoundError for a missing file and ValueError for anything else wrong with it:
    not readable, not UTF-8, not JSON, a value that is no number, or a key naming no metric
    (so a typo fails before an eval runs, not after).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
        data = json.loads(text)
    except FileNotFoundError:
        raise FileNotFoundError(f"thresholds file not found: {path}") from None
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder, not a thresholds file") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the thresholds file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (bad byte at position {exc.start}); save it as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object of metric -> number")
    thresholds: dict[str, float] = {}
    unknown: list[str] = []
    for key, value in data.items():
        if key.startswith("_"):
            continue  # "_comment" and similar
        if key not in METRICS:
            unknown.append(key)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{path}: threshold {key!r} must be a number, got {value!r}")
        thresholds[key] = float(value)
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise ValueError(f"{path}: unknown metric(s) {names}; known: {', '.join(METRICS)}")
    return thresholds


def gate(report: EvalReport, thresholds: Mapping[str, float]) -> list[str]:
    """Failures of `report` against `thresholds`; empty means the gate passes.

    A metric the run did not measure (None: e.g. no conflict cases, or a retrieval-only run)
    is skipped; a threshold naming no known metric is a failure, so a typo cannot pass silently.
    """
    failures: list[str] = []
    for key, limit in thresholds.items():
        if key not in METRICS:
            failures.append(f"unknown metric in thresholds: {key!r} (known: {', '.join(METRICS)})")
            continue
        value = report.metrics.get(key)
        if value is None:
            log.info("gate: %s not measured in this run; skipped", key)
            continue
        name = label(key, report.k)
        if key.endswith("_ms"):
            if value > limit:
                failures.append(f"{name} is {fmt(key, value)}, above the limit {fmt(key, limit)}")
        elif value < limit:
            failures.append(f"{name} is {fmt(key, value)}, below the threshold {fmt(key, limit)}")
    return failures
