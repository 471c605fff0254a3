"""Eval reports: summary lines, JSON / Markdown / self-contained HTML, regressions, the gate.

`write_reports` writes `<reports_dir>/<timestamp>/report.{json,md,html}` and copies them to
`<reports_dir>/latest/` (retrieval-only runs use `latest-retrieval/`, so a quick tuning run
never becomes the baseline of a full one). Before writing, the previous `latest` report is
loaded and compared: a metric that dropped by more than `EPSILON`, or a case that passed
before and fails now, is a regression. Metrics are compared only when both runs ran the same
cases (averages over other cases measure something else); cases both ran are always compared.
"""

from __future__ import annotations

import html
import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.runner import METRICS, CaseResult, EvalReport

log = logging.getLogger(__name__)

#: A metric must drop by more than this to count as a regression (absorbs float noise).
EPSILON = 0.005

_CHART_METRICS = {
    "pass_rate": "cases passed",
    "recall_at_k": "recall@k",
    "key_fact_recall": "key facts",
    "citation_validity": "valid citations",
}
_CHART_COLOURS = ("#3b6ea5", "#5a9e6f", "#d08c2f", "#8a5aa5")


@dataclass
class Comparison:
    """How a report differs from the previous one."""

    previous_created: str
    deltas: dict[str, float] = field(default_factory=dict)  # metric -> current - previous
    dropped: list[str] = field(default_factory=list)  # regression messages for metrics
    newly_failing: list[str] = field(default_factory=list)  # case ids
    newly_passing: list[str] = field(default_factory=list)
    #: Set when the previous report ran other cases: its metrics measured something else.
    different_cases: str | None = None

    @property
    def regressed(self) -> bool:
        return bool(self.dropped or self.newly_failing)


@dataclass(frozen=True)
class ReportPaths:
    """Where `write_reports` put things."""

    directory: Path
    json: Path
    markdown: Path
    html: Path
    latest: Path


def fmt(key: str, value: float | None) -> str:
    """A metric value for display: 3 decimals, or 1 for milliseconds; n/a when not measured."""
    if value is None:
        return "n/a"
    return f"{value:.1f}" if key.endswith("_ms") else f"{value:.3f}"


def label(key: str, k: int) -> str:
    """The display label of metric `key` (recall@k shows the actual k)."""
    return METRICS.get(key, key).replace("@k", f"@{k}")


# --- comparison ------------------------------------------------------------------------------


def compare(report: EvalReport, previous: Mapping[str, Any], epsilon: float = EPSILON) -> Comparison:
    """Compare `report` with a previous report's JSON; latency is shown but never a regression."""
    result = Comparison(str(previous.get("created", "?")))
    before: Mapping[str, Any] = previous.get("metrics", {})
    ids_before = {c["id"] for c in previous.get("cases", []) if "id" in c}
    ids_now = {c.id for c in report.cases}
    if ids_before != ids_now:
        # Another case file (or an edited one): averages over other cases are not comparable.
        # Cases both runs have are still compared one by one.
        result.different_cases = (
            f"the previous report ({result.previous_created}) ran other cases "
            f"({len(ids_before & ids_now)} of these {len(ids_now)} in common): metrics not compared"
        )
        before = {}
    for key, now in report.metrics.items():
        then = before.get(key)
        if now is None or not isinstance(then, int | float):
            continue
        result.deltas[key] = now - then
        if not key.endswith("_ms") and then - now > epsilon:
            result.dropped.append(f"{label(key, report.k)} dropped {fmt(key, then)} -> {fmt(key, now)}")
    if bool(previous.get("retrieval_only")) == report.retrieval_only:
        passed_before = {c["id"]: bool(c.get("passed")) for c in previous.get("cases", []) if "id" in c}
        for case in report.cases:
            if case.id not in passed_before:
                continue
            if passed_before[case.id] and not case.passed:
                result.newly_failing.append(case.id)
            elif not passed_before[case.id] and case.passed:
                result.newly_passing.append(case.id)
    return result


# --- text renderings ------------------------------------------------------------------------


def summary_lines(report: EvalReport, comparison: Comparison | None = None) -> list[str]:
    """A plain-text summary table for the terminal (one string per line)."""
    title = "citeline eval" + (f" ({report.label})" if report.label else "")
    mode = "retrieval only" if report.retrieval_only else "answers"
    lines = [f"{title}: {len(report.cases)} cases, {mode}, k={report.k}, {report.created}"]
    width = max(len(label(key, report.k)) for key in METRICS)
    for key, value in report.metrics.items():
        if value is None:
            continue
        delta = ""
        if comparison is not None and key in comparison.deltas and abs(comparison.deltas[key]) > 1e-9:
            delta = f"  ({comparison.deltas[key]:+.3f})" if not key.endswith("_ms") else ""
        lines.append(f"  {label(key, report.k):<{width}}  {fmt(key, value):>8}{delta}")
    failed = report.failed
    lines.append(f"  failed cases: {len(failed)}" + (": " + ", ".join(c.id for c in failed[:12]) if failed else ""))
    if len(failed) > 12:
        lines[-1] += f", ... (+{len(failed) - 12})"
    lines.extend(f"  warning: {w}" for w in report.warnings)
    if comparison is not None:
        for message in comparison.dropped:
            lines.append(f"  REGRESSION: {message}")
        if comparison.newly_failing:
            lines.append(f"  REGRESSION: now failing: {', '.join(comparison.newly_failing)}")
        if comparison.different_cases:
            lines.append(f"  note: {comparison.different_cases}")
        if not comparison.regressed:
            lines.append(f"  no regressions against {comparison.previous_created}")
    return lines


def _md(text: str) -> str:
    """Markdown table cell: HTML-escaped (document text is data), pipes and newlines neutralised."""
    return html.escape(" ".join(text.split())).replace("|", "\\|")


def render_markdown(report: EvalReport, comparison: Comparison | None = None) -> str:
    """The report as Markdown: metrics, metrics by kind, regressions, failed cases."""
    out = [
        f"# citeline eval {_md(report.label)}".rstrip(),
        "",
        f"{report.created} · {len(report.cases)} cases · "
        f"{'retrieval only' if report.retrieval_only else 'answers'} · k={report.k}",
        "",
    ]
    out += ["| metric | value |", "|---|---|"]
    out += [f"| {label(k, report.k)} | {fmt(k, v)} |" for k, v in report.metrics.items() if v is not None]
    kinds = sorted(report.by_kind)
    shown = [k for k in METRICS if any(report.by_kind[kind].get(k) is not None for kind in kinds)]
    out += [
        "",
        "## By kind",
        "",
        "| kind | cases | " + " | ".join(label(k, report.k) for k in shown) + " |",
        "|---|---|" + "---|" * len(shown),
    ]
    counts = {kind: sum(1 for c in report.cases if c.kind == kind) for kind in kinds}
    for kind in kinds:
        cells = " | ".join(fmt(k, report.by_kind[kind].get(k)) for k in shown)
        out.append(f"| {_md(kind)} | {counts[kind]} | {cells} |")
    if comparison is not None:
        out += ["", f"## Compared with {_md(comparison.previous_created)}", ""]
        out += [f"- REGRESSION: {_md(msg)}" for msg in comparison.dropped]
        out += [f"- REGRESSION: now failing: {_md(cid)}" for cid in comparison.newly_failing]
        out += [f"- fixed: {_md(cid)}" for cid in comparison.newly_passing]
        out += [f"- note: {_md(comparison.different_cases)}"] if comparison.different_cases else []
        if not comparison.regressed:
            out.append("- no regressions")
    if report.warnings:
        out += ["", "## Warnings", ""] + [f"- {_md(w)}" for w in report.warnings]
    out += ["", "## Failed cases", ""]
    if not report.failed:
        out.append("None.")
    else:
        out += ["| case | kind | question | answer | what failed |", "|---|---|---|---|---|"]
        for c in report.failed:
            out.append(
                f"| {_md(c.id)} | {_md(c.kind)} | {_md(c.question)} | {_md(c.answer or '')} | "
                f"{_md('; '.join(c.failures))} |"
            )
    return "\n".join(out) + "\n"


def _svg_chart(report: EvalReport) -> str:
    """Inline SVG: horizontal bars of the chart metrics for each case kind (no external assets)."""
    kinds = sorted(report.by_kind)
    metrics = [k for k in _CHART_METRICS if any(report.by_kind[kind].get(k) is not None for kind in kinds)]
    bar, gap, label_w, plot_w = 12, 10, 150, 360
    group_h = bar * max(len(metrics), 1) + gap
    height = group_h * len(kinds) + 40
    width = label_w + max(plot_w + 60, 115 * len(metrics))
    parts = [
        f'<svg role="img" aria-label="metrics by case kind" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, kind in enumerate(kinds):
        y0 = i * group_h
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + group_h / 2}" text-anchor="end" '
            f'dominant-baseline="middle">{html.escape(kind)}</text>'
        )
        for j, key in enumerate(metrics):
            value = report.by_kind[kind].get(key)
            y = y0 + j * bar
            if value is None:
                continue
            w = max(value, 0.0) * plot_w
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar - 2}" '
                f'fill="{_CHART_COLOURS[j % len(_CHART_COLOURS)]}">'
                f"<title>{html.escape(kind)}: {html.escape(label(key, report.k))} "
                f"{fmt(key, value)}</title></rect>"
            )
            parts.append(
                f'<text x="{label_w + w + 4:.1f}" y="{y + bar / 2}" class="v" '
                f'dominant-baseline="middle">{fmt(key, value)}</text>'
            )
    y = height - 20
    for j, key in enumerate(metrics):
        x = label_w + j * 115
        legend = _CHART_METRICS[key].replace("@k", f"@{report.k}")
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{_CHART_COLOURS[j]}"/>'
            f'<text x="{x + 14}" y="{y + 9}" class="v">{html.escape(legend)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1d2330;max-width:1200px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #d5d9e0;padding:.3rem .5rem;
vertical-align:top;text-align:left}th{background:#f1f3f6}.pass{color:#1d7a3a;font-weight:600}
.fail{color:#b02a2a;font-weight:600}.reg{color:#b02a2a}svg text{font-size:12px}svg .v{font-size:11px}
blockquote{margin:.2rem 0;padding-left:.5rem;border-left:3px solid #d5d9e0;color:#444}
ul{margin:.2rem 0;padding-left:1.1rem}.hist{color:#666;font-size:12px}"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _case_row(c: CaseResult) -> str:
    status = '<span class="pass">pass</span>' if c.passed else '<span class="fail">fail</span>'
    history = "".join(f'<div class="hist">earlier: {_e(h)}</div>' for h in c.history)
    cites = "".join(
        f"<li>[{_e(ct.get('n'))}] {_e(ct.get('source'))}<blockquote>{_e(ct.get('quote'))}</blockquote></li>"
        for ct in c.citations
    )
    notes = "".join(f"<div><em>{_e(n)}</em></div>" for n in c.notes)
    answer = _e(c.answer) if c.answer is not None else "<em>(not answered: retrieval only)</em>"
    failures = "".join(f"<li>{_e(f)}</li>" for f in c.failures)
    return (
        f"<tr><td>{_e(c.id)}<br><small>{_e(c.kind)}</small></td><td>{status}</td>"
        f"<td>{history}{_e(c.question)}</td><td>{answer}{notes}</td><td><ul>{cites}</ul></td>"
        f"<td><ul>{failures}</ul></td></tr>"
    )


def render_html(report: EvalReport, comparison: Comparison | None = None) -> str:
    """A self-contained HTML page: metrics, an inline SVG chart by kind, and every case.

    No scripts or external assets; every piece of document, question and answer text is escaped.
    """
    title = "citeline eval" + (f" — {report.label}" if report.label else "")
    rows = "".join(
        f"<tr><td>{_e(label(k, report.k))}</td><td>{fmt(k, v)}</td>"
        + (f"<td>{comparison.deltas[k]:+.3f}</td>" if comparison and k in comparison.deltas else "<td></td>")
        + "</tr>"
        for k, v in report.metrics.items()
        if v is not None
    )
    regressions = ""
    if comparison is not None:
        items = [f'<li class="reg">REGRESSION: {_e(msg)}</li>' for msg in comparison.dropped]
        items += [f'<li class="reg">REGRESSION: now failing: {_e(cid)}</li>' for cid in comparison.newly_failing]
        items += [f"<li>fixed: {_e(cid)}</li>" for cid in comparison.newly_passing]
        items += [f"<li>note: {_e(comparison.different_cases)}</li>"] if comparison.different_cases else []
        regressions = (
            f"<h2>Compared with {_e(comparison.previous_created)}</h2><ul>"
            + ("".join(items) or "<li>no regressions</li>")
            + "</ul>"
        )
    warnings = "".join(f"<li>{_e(w)}</li>" for w in report.warnings)
    cases = sorted(report.cases, key=lambda c: (c.passed, c.kind, c.id))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><p>{_e(report.created)} · {len(report.cases)} cases · "
        f"{'retrieval only' if report.retrieval_only else 'answers'} · k={report.k} · "
        f"{len(report.failed)} failed</p>"
        + (f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else "")
        + f"<h2>Metrics</h2><table><tr><th>metric</th><th>value</th><th>change</th></tr>{rows}</table>"
        + regressions
        + f"<h2>By case kind</h2>{_svg_chart(report)}"
        + "<h2>Cases</h2><table><tr><th>case</th><th>result</th><th>question</th><th>answer</th>"
        + f"<th>citations</th><th>what failed</th></tr>{''.join(_case_row(c) for c in cases)}</table>"
        + "</body></html>\n"
    )


# --- files ----------------------------------------------------------------------------------


def latest_dir(reports_dir: Path, retrieval_only: bool) -> Path:
    """The folder holding the newest report of this mode."""
    return reports_dir / ("latest-retrieval" if retrieval_only else "latest")


def load_previous(reports_dir: Path, retrieval_only: bool) -> dict[str, Any] | None:
    """The latest report's JSON of the same mode, or None (a corrupt one is ignored with a warning)."""
    path = latest_dir(reports_dir, retrieval_only) / "report.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("ignoring unreadable previous report %s: %s", path, exc)
        return None
    return data if isinstance(data, dict) else None


def write_reports(report: EvalReport, reports_dir: Path) -> tuple[ReportPaths, Comparison | None]:
    """Compare with the previous report, then write JSON, Markdown and HTML and refresh `latest`."""
    previous = load_previous(reports_dir, report.retrieval_only)
    comparison = compare(report, previous) if previous is not None else None
    stamp = report.created.replace("-", "").replace(":", "")
    directory = reports_dir / stamp
    n = 2
    while directory.exists():
        directory = reports_dir / f"{stamp}-{n}"
        n += 1
    directory.mkdir(parents=True)
    data = report.to_json()
    if comparison is not None:
        data["comparison"] = {
            "previous_created": comparison.previous_created,
            "deltas": comparison.deltas,
            "different_cases": comparison.different_cases,
            "dropped": comparison.dropped,
            "newly_failing": comparison.newly_failing,
            "newly_passing": comparison.newly_passing,
        }
    paths = ReportPaths(
        directory,
        directory / "report.json",
        directory / "report.md",
        directory / "report.html",
        latest_dir(reports_dir, report.retrieval_only),
    )
    paths.json.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths.markdown.write_text(render_markdown(report, comparison), encoding="utf-8")
    paths.html.write_text(render_html(report, comparison), encoding="utf-8")
    # A copy, not a symlink: works on every filesystem and survives deleting old runs.
    tmp = paths.latest.with_name(paths.latest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(directory, tmp)
    shutil.rmtree(paths.latest, ignore_errors=True)
    tmp.rename(paths.latest)
    return paths, comparison
