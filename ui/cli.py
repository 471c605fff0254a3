"""The `citeline` command line: thin — parse, build, call, print.

citeline ingest [PATH]       sync the store with a folder (default corpus/)
citeline ask QUESTION        a cited answer (--json for machines, `--json -` for JSON lines)
citeline serve               the chat, the widget and the HTTP API in one server
citeline eval                run the eval set, write a report, optionally gate
citeline eval-promote        thumbs-down feedback -> eval cases to fill in
citeline settings            every setting, its value and what it does
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from assistant.config import Settings
from ui.cli_support import EXIT_BAD_INPUT, Verbose, configure_logging, fail, settings_from
from ui.eval_cmd import eval_command, promote_feedback_command

if TYPE_CHECKING:
    from assistant.types import Answer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

app = typer.Typer(
    name="citeline",
    help="Answers questions about a folder of documents; every sentence cites a verbatim quote.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option("--data-dir", help="Store location (default .citeline/, env CITELINE_DATA_DIR)."),
]


def _load_chain(settings: Settings) -> Any:
    """Build the answering chain, turning store problems into one clear line."""
    from assistant.chain import load_chain

    try:
        return load_chain(settings)
    except Exception as exc:
        if type(exc).__name__ in {"StoreNotFoundError", "StoreMismatchError", "StoreLocationError", "LLMConfigError"}:
            fail(str(exc))
        raise


# --------------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    path: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="Folder to ingest (default: corpus/, env CITELINE_CORPUS_DIR)."),
    ] = None,
    data_dir: DataDir = None,
    report: Annotated[bool, typer.Option("--report", help="Show, per document, what cleaning removed.")] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the store and ingest from scratch (e.g. new model).")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Allow syncing a store built from another folder (its documents go)."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    exclude: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--exclude", help="Glob of paths to leave out, e.g. '_sources/*' (repeatable)."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Sync the store with a folder: add new files, re-embed edited ones, drop deleted ones."""
    from assistant.embeddings import build_embeddings
    from assistant.store import StoreError, StoreLocationError
    from ingest.pipeline import IngestError, run_ingest

    settings = settings_from(data_dir)
    folder = path or settings.corpus_dir
    embeddings = build_embeddings(settings.embed_batch_size)
    try:
        result = run_ingest(
            folder, settings, embeddings, rebuild=rebuild, progress=not quiet, exclude=exclude or (), replace=replace
        )
    except IngestError as exc:
        fail(str(exc))
    except StoreLocationError as exc:  # --data-dir is a file, or not writable
        fail(str(exc), code=EXIT_BAD_INPUT)
    except StoreError as exc:
        fail(str(exc))
    if report:
        for line in result.report_lines():
            typer.echo(line)
    for line in result.summary_lines():
        typer.echo(line)


# --------------------------------------------------------------------------------- ask
def _print_answer(answer: Answer) -> None:
    color = typer.colors.YELLOW if answer.refused else None
    typer.secho(answer.text, fg=color)
    for note in answer.notes:
        if note in answer.warnings:
            typer.secho(f"warning: {note}", fg=typer.colors.YELLOW)
        else:
            typer.secho(f"note: {note}", fg=typer.colors.CYAN)
    if answer.citations:
        typer.echo("\nSources:")
    for c in answer.citations:
        where = c.url or c.source
        typer.echo(f"  [{c.n}] {c.title} ({where}, chars {c.start}-{c.end})")
        typer.secho(f'      "{c.quote}"', dim=True)


#: Line breaks that JSON leaves raw but str.splitlines() splits on: escaped, so one answer is one line.
_RAW_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line(obj: dict[str, Any]) -> str:
    """`obj` as one line of JSON, whatever its text holds."""
    return json.dumps(obj, ensure_ascii=False).translate(_RAW_LINE_BREAKS)


def _json_lines(stream: Iterator[bytes]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Parse `ask --json -` input: yields (line number, request dict or error message) per non-blank line."""
    for lineno, raw_bytes in enumerate(stream, 1):
        try:
            raw = raw_bytes.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            bad = f"0x{raw_bytes[exc.start]:02x} at column {exc.start + 1}"
            yield lineno, f"line {lineno}: not UTF-8 text (bad byte {bad}); send the questions as UTF-8"
            continue
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield lineno, f"line {lineno}: not valid JSON ({exc.msg})"
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            yield lineno, f'line {lineno}: expected an object like {{"question": "...", "history": []}}'
            continue
        history = obj.get("history", [])
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            yield lineno, f"line {lineno}: history must be a list of earlier questions (strings)"
            continue
        yield lineno, obj


def _stdin_lines() -> Iterator[bytes]:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        yield from buffer
    else:  # a text-only stdin (some embedders): its lines, re-encoded
        for line in sys.stdin:
            yield line.encode("utf-8", "surrogatepass")


def _answer_json_lines(chain: Any, settings: Settings) -> int:
    """`ask --json -`: one output line per non-blank input line, in order; returns the exit code."""
    from assistant.chain import InvalidQuestion, validate_question
    from assistant.types import Question

    bad_lines = failed = 0
    for lineno, item in _json_lines(_stdin_lines()):
        if isinstance(item, str):
            bad_lines += 1
            typer.echo(_json_line({"error": item}))
            continue
        try:
            q = validate_question(item["question"], settings.max_question_chars)
            answer = chain.invoke(Question(q, tuple(item.get("history", []))))
        except InvalidQuestion as exc:
            bad_lines += 1
            typer.echo(_json_line({"error": f"line {lineno}: {exc}"}))
            continue
        except Exception as exc:  # one failed answer must not end the stream or shift the lines after it
            failed += 1
            typer.echo(_json_line({"error": f"line {lineno}: could not answer ({type(exc).__name__}: {exc})"}))
            continue
        typer.echo(_json_line(answer.to_json()))
    return 1 if failed else EXIT_BAD_INPUT if bad_lines else 0


@app.command()
def ask(
    question: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="The question; '-' with --json reads JSON lines from stdin; none: interactive."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per answer.")] = False,
    history: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--history", help="An earlier question (repeat, oldest first) for follow-ups."),
    ] = None,
    data_dir: DataDir = None,
    answerer: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="extractive (default) or llm; overrides CITELINE_ANSWERER."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Answer a question from the ingested documents, citing a verbatim quote for every sentence.

    With `--json -`, each non-blank line of stdin is one JSON request and gets exactly one line
    of output, in order: the answer, or {"error": "line N: ..."}. Blank lines are skipped.
    """
    if question == "-" and not as_json:  # before anything slow: the model takes seconds to load
        fail("reading questions from stdin needs --json: citeline ask --json -", code=EXIT_BAD_INPUT)
    settings = settings_from(data_dir, answerer=answerer)

    from assistant.chain import InvalidQuestion, validate_question
    from assistant.types import Question

    if question is not None and question != "-":
        try:
            question = validate_question(question, settings.max_question_chars)
        except InvalidQuestion as exc:
            fail(str(exc), code=EXIT_BAD_INPUT)
    chain = _load_chain(settings)

    if question == "-":
        raise typer.Exit(_answer_json_lines(chain, settings))

    if question is None:
        _interactive(chain, settings)
        return

    answer = chain.invoke(Question(question, tuple(history or ())))
    if as_json:
        typer.echo(_json_line(answer.to_json()))
    else:
        _print_answer(answer)


def _interactive(chain: Any, settings: Settings) -> None:
    """A terminal chat: questions typed at a prompt, follow-ups use the earlier questions."""
    from assistant.chain import InvalidQuestion, validate_question
    from assistant.types import Question

    typer.echo("Ask about the documents (empty line or Ctrl-D to quit).")
    asked: list[str] = []
    while True:
        try:
            raw = input("\n? ")
        except (EOFError, KeyboardInterrupt):
            typer.echo()
            return
        if not raw.strip():
            return
        try:
            q = validate_question(raw, settings.max_question_chars)
        except InvalidQuestion as exc:
            typer.secho(str(exc), fg=typer.colors.RED)
            continue
        _print_answer(chain.invoke(Question(q, tuple(asked[-settings.max_history :]))))
        asked.append(q)


# --------------------------------------------------------------------------------- serve
@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address (default 127.0.0.1).")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="Port (default 7860).")] = None,  # noqa: UP045
    data_dir: DataDir = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the chat in a browser.")] = False,
    verbose: Verbose = False,
) -> None:
    """Start the chat (/chat), the help-site widget (/widget.js, /example) and the API (/api)."""
    from ui.server import serve as run_server

    settings = settings_from(data_dir, host=host, port=port)
    base = f"http://{settings.host}:{settings.port}"
    typer.echo(f"citeline: loading the model and the store in {settings.data_dir} ...")
    typer.echo(f"  chat          {base}/chat/")
    typer.echo(f"  help page     {base}/example   (widget: {base}/widget.js)")
    typer.echo(f"  API           POST {base}/api/ask, {base}/api/ask/stream; GET {base}/api/health")
    try:
        run_server(settings, open_browser=open_browser)
    except Exception as exc:
        if type(exc).__name__ in {"StoreNotFoundError", "StoreMismatchError", "StoreLocationError", "LLMConfigError"}:
            fail(str(exc))
        raise


# --------------------------------------------------------------------------------- settings
@app.command("settings")
def showsettings_from(data_dir: DataDir = None, verbose: Verbose = False) -> None:
    """List every setting: its environment variable, current value and description."""
    settings = settings_from(data_dir)
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if "key" in name and value is not None:
            value = "********"
        typer.echo(f"CITELINE_{name.upper():<26} {value!s:<28} {field.description}")


@app.callback()
def _root(verbose: Verbose = False) -> None:
    configure_logging(verbose)


# `citeline eval` and `citeline eval-promote` live in ui/eval_cmd.py to keep this file thin.
app.command("eval")(eval_command)
app.command("eval-promote")(promote_feedback_command)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
