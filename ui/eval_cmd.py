"""`citeline eval` and `citeline eval-promote`: run the eval set, write reports, gate; promote feedback.

Thin: parse options, build Settings and the chain, call `evals`, print. Exit codes: 0 ok,
1 the gate failed or the assistant could not be loaded, 2 bad input (case or threshold files,
an output path that cannot be written), found before any case runs where it can be.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from assistant.config import Settings
from evals.dataset import DEFAULT_CASES_DIR, CaseFileError, default_case_paths, load_cases
from evals.feedback import promote_feedback
from evals.gate import DEFAULT_THRESHOLDS, load_thresholds
from evals.gate import gate as check_gate
from evals.report import summary_lines, write_reports
from evals.runner import run_eval
from ui.cli_support import EXIT_BAD_INPUT, Verbose, describe_os_error, fail, settings_from, writable_dir_problem

_CHAIN_ERRORS = {"StoreNotFoundError", "StoreMismatchError", "StoreLocationError", "LLMConfigError"}


class AnswererChoice(StrEnum):
    """Which answerer to evaluate (overrides CITELINE_ANSWERER)."""

    extractive = "extractive"
    llm = "llm"


def _settings(data_dir: Path | None, answerer: AnswererChoice | None) -> Settings:
    return settings_from(data_dir, answerer=answerer.value if answerer is not None else None)


def build_chain_and_index(settings: Settings) -> tuple[Any, Any]:
    """The answering chain (assistant.chain.load_chain) and the ChunkIndex it reads from."""
    from assistant.chain import load_chain

    chain = load_chain(settings)
    return chain, chain.index


#: Where `eval-promote` appends cases unless told otherwise: relative to the current folder (from
#: a checkout's root, the shipped cases' folder), never inside the installed package.
DEFAULT_PROMOTE_OUT = Path("evals") / "cases" / "feedback.jsonl"


def eval_command(
    cases: Annotated[
        Optional[list[Path]],  # noqa: UP045 - typer needs Optional here
        typer.Argument(
            help="Case files (*.jsonl), or folders whose *.jsonl files are all run. "
            f"Default: the cases shipped with citeline ({DEFAULT_CASES_DIR}{os.sep}*.jsonl).",
            show_default=False,
        ),
    ] = None,
    cases_option: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(
            "--cases",
            help="A case file or folder, as the argument takes them (repeat the option for more).",
            show_default=False,
        ),
    ] = None,
    k: Annotated[int, typer.Option(min=1, help="Retrieval recall is measured over the top k hits.")] = 5,
    retrieval_only: Annotated[
        bool, typer.Option("--retrieval-only", help="Only retrieve (no answers): quick retrieval metrics.")
    ] = False,
    answerer: Annotated[
        Optional[AnswererChoice],  # noqa: UP045
        typer.Option(help="Answerer to evaluate (default: CITELINE_ANSWERER, else extractive)."),
    ] = None,
    gate: Annotated[bool, typer.Option("--gate", help="Exit 1 when a metric misses its threshold.")] = False,
    thresholds: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            help="Gate thresholds (JSON: metric -> minimum; *_ms -> maximum), checked before any case runs. "
            f"Default: the thresholds shipped with citeline ({DEFAULT_THRESHOLDS}).",
            show_default=False,
        ),
    ] = None,
    report_dir: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--report-dir", help="Where reports go (default <data-dir>/reports)."),
    ] = None,
    data_dir: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--data-dir", help="Store location (default .citeline/, env CITELINE_DATA_DIR)."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the full report as JSON instead of the summary.")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    verbose: Verbose = False,
) -> None:
    """Run the eval set through the assistant, print a summary, write JSON/Markdown/HTML reports."""
    settings = _settings(data_dir, answerer)
    paths = [*(cases or []), *(cases_option or [])] or default_case_paths()
    if not paths:
        fail(f"no case files given and none in {DEFAULT_CASES_DIR}", EXIT_BAD_INPUT)
    try:
        loaded = load_cases(paths)
        # Checked up front, so a typo in a metric name costs no eval run.
        limits = load_thresholds(thresholds or DEFAULT_THRESHOLDS) if gate or thresholds else {}
    except (CaseFileError, FileNotFoundError, ValueError) as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if not loaded:
        fail("the case files hold no cases", EXIT_BAD_INPUT)
    reports = report_dir or settings.reports_dir
    problem = writable_dir_problem(reports)
    if problem:
        fail(f"cannot write the reports to {reports}: {problem}", EXIT_BAD_INPUT)

    try:
        chain, index = build_chain_and_index(settings)
    except Exception as exc:
        if type(exc).__name__ in _CHAIN_ERRORS or isinstance(exc, RuntimeError | FileNotFoundError):
            fail(f"could not load the assistant: {exc}", 1)
        raise
    try:
        report = run_eval(
            chain,
            index,
            loaded,
            k=k,
            retrieval_only=retrieval_only,
            progress=progress,
            label=settings.answerer,
        )
    except ValueError as exc:  # e.g. retrieval-only with a chain that has no retriever
        fail(str(exc), EXIT_BAD_INPUT)

    try:
        written, comparison = write_reports(report, reports)
    except OSError as exc:  # the folder checked above went away or filled up: keep the results
        for line in summary_lines(report, None):
            typer.echo(line, err=json_output)
        fail(f"cannot write the reports to {reports}: {describe_os_error(exc)}", EXIT_BAD_INPUT)
    if json_output:
        typer.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        for line in summary_lines(report, comparison):
            typer.echo(line)
    typer.echo(f"report: {written.html}", err=json_output)
    typer.echo(f"        {written.markdown}", err=json_output)
    typer.echo(f"        {written.json}", err=json_output)
    typer.echo(f"latest: {written.latest}", err=json_output)
    if gate:
        failures = check_gate(report, limits)
        for failure in failures:
            typer.secho(f"gate: FAIL {failure}", fg=typer.colors.RED, err=True)
        if failures:
            raise typer.Exit(1)
        typer.echo("gate: passed", err=json_output)


def _known_case_files(out: Path) -> list[Path]:
    """Case files whose questions are not promoted again: the shipped ones and those beside `out`."""
    beside = sorted(out.parent.glob("*.jsonl")) if out.parent.is_dir() else []
    unique = {p.resolve(): p for p in [*default_case_paths(), *beside] if p.resolve() != out.resolve()}
    return list(unique.values())


def promote_feedback_command(
    out: Annotated[
        Path,
        typer.Option(
            help="Cases file to append to, relative to the current folder; created, with its folders, if missing."
        ),
    ] = DEFAULT_PROMOTE_OUT,
    feedback: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Feedback file (default <data-dir>/feedback.jsonl)."),
    ] = None,
    data_dir: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--data-dir", help="Store location (default .citeline/, env CITELINE_DATA_DIR)."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Turn thumbs-down feedback into eval cases (kind "feedback", with a "todo" note to fill in)."""
    settings = _settings(data_dir, None)
    source = feedback or settings.feedback_path
    if out.is_dir():
        fail(f"--out {out} is a folder: pass the case file to append to, e.g. {out / 'feedback.jsonl'}", EXIT_BAD_INPUT)
    problem = writable_dir_problem(out.parent)
    if problem:
        fail(f"cannot write the cases to {out}: {problem}", EXIT_BAD_INPUT)
    try:
        result = promote_feedback(source, out, existing=_known_case_files(out))
    except OSError as exc:
        if exc.filename is None:  # promote_feedback's own "no feedback file at ..."
            fail(str(exc), EXIT_BAD_INPUT)
        if Path(exc.filename) == source:
            fail(f"cannot read the feedback file: {describe_os_error(exc)}", EXIT_BAD_INPUT)
        fail(f"cannot write the cases to {out}: {describe_os_error(exc)}", EXIT_BAD_INPUT)
    except UnicodeDecodeError as exc:
        fail(f"{source}: not UTF-8 text (bad byte at position {exc.start}); is it a feedback file?", EXIT_BAD_INPUT)
    withdrawn = f"; left out {result.withdrawn} thumbs-down(s) taken back" if result.withdrawn else ""
    typer.echo(f"added {len(result.added)} case(s) to {out}; skipped {result.duplicates} duplicate(s){withdrawn}")
    for problem in result.invalid:
        typer.echo(f"skipped feedback {problem}", err=True)
    if result.added:
        rerun = "citeline eval" if out.parent.resolve() == DEFAULT_CASES_DIR else f"citeline eval {out}"
        typer.echo(f"fill in each new case's facts/sources (see its 'todo'), then run `{rerun}`")
