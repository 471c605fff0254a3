"""What every `citeline` command shares at the edge: Settings from flags + environment, clear failures, logging."""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from assistant.config import Settings

#: Exit code for bad input from the user (a bad question, setting, case file): like a usage error.
EXIT_BAD_INPUT = 2

#: Loggers of citeline itself; at the default level only their warnings reach the terminal.
_OWN_LOGGERS = ("assistant", "ingest", "evals", "ui")
_LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: message` in red on stderr and exit with `code` (no traceback)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


# --------------------------------------------------------------------------------- settings
def _bounds(name: str) -> str:
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    parts = []
    for constraint in Settings.model_fields[name].metadata:
        for attr, word in words.items():
            limit = getattr(constraint, attr, None)
            if limit is not None:
                parts.append(f"{word} {limit:g}")
    return " and ".join(parts)


def _expected(error: Mapping[str, Any]) -> str:
    """What a setting must be, in words ("a whole number greater than 0")."""
    name = str(error["loc"][0]) if error.get("loc") else ""
    kind = str(error.get("type", ""))
    annotation = Settings.model_fields[name].annotation if name in Settings.model_fields else None
    if kind == "literal_error":
        return f"expected {error.get('ctx', {}).get('expected', error['msg'])}"
    words: dict[Any, str] = {int: "a whole number", float: "a number", bool: "true or false"}
    base = words.get(annotation)
    if base is not None:
        bounds = _bounds(name)
        return f"expected {base}" + (f" {bounds}" if bounds else "")
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if message.startswith("Input should be "):
        return "expected " + message.removeprefix("Input should be ")
    return message


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_settings_error(exc: Exception, flags: Mapping[str, Any]) -> str:
    """One line naming each bad setting's environment variable (or flag) and what it must be ("; " between)."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return f"invalid setting: {exc}"
    source = " (from the environment or .env)" if Path(".env").is_file() else ""
    lines = []
    for error in errors():
        name = str(error["loc"][0]) if error.get("loc") else ""
        value = "" if "key" in name else f"={_shown(error.get('input'))}"
        if name in flags:
            where = f"--{name.replace('_', '-')} {_shown(flags[name])}"
        elif name:
            where = f"setting CITELINE_{name.upper()}{value}{source}"
        else:
            where = "settings"
        lines.append(f"invalid {where}: {_expected(error)}")
    return "; ".join(lines) or f"invalid setting: {exc}"


def settings_from(data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with the command's flags (those not None) on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)
    except Exception as exc:  # pydantic.ValidationError: a bad CITELINE_* value or flag
        fail(describe_settings_error(exc, values), EXIT_BAD_INPUT)


# --------------------------------------------------------------------------------- output paths
def writable_dir_problem(folder: Path) -> str | None:
    """Why files cannot be written in `folder` (created if missing), or None; creates nothing."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if not candidate.is_dir():
                return f"{candidate} is a file, not a folder"
            if not os.access(candidate, os.W_OK | os.X_OK):
                return f"permission denied: cannot write in {candidate}"
            return None
    return None


def describe_os_error(exc: OSError) -> str:
    """Why a path could not be written or read, in words a user can act on."""
    path = Path(exc.filename) if exc.filename else None
    if path is not None and exc.errno in (errno.ENOTDIR, errno.EEXIST):
        for candidate in (path, *path.parents):
            if candidate.exists():
                if not candidate.is_dir():
                    return f"{candidate} is a file, not a folder"
                break
    if path is not None and exc.errno == errno.EISDIR:
        return f"{path} is a folder, not a file"
    if path is not None and exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied for {path}"
    reason = exc.strerror or str(exc)
    return f"{reason}: {path}" if path is not None else reason


# --------------------------------------------------------------------------------- logging
class _CurrentStderr(logging.StreamHandler):
    """A handler writing to whatever sys.stderr is when a record comes (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _own_or_error(record: logging.LogRecord) -> bool:
    # Libraries' warnings (pypdf's "invalid pdf header") say again, less clearly, what the
    # summary's skip reason says; they are shown with -v.
    return record.levelno >= logging.ERROR or record.name.split(".")[0] in _OWN_LOGGERS


def configure_logging(verbose: bool) -> None:
    """Log to stderr: citeline's warnings and every error; with `verbose`, every INFO record too."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _CurrentStderr)]:
        root.removeHandler(handler)
    level = logging.INFO if verbose else logging.WARNING
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    # On the handler too: some libraries (bm25s) set DEBUG on their own loggers.
    handler.setLevel(level)
    if not verbose:
        handler.addFilter(_own_or_error)
    root.addHandler(handler)
    root.setLevel(level)


def _verbose_flag(value: bool) -> bool:
    if value:  # False leaves what `citeline -v` set
        configure_logging(verbose=True)
    return value


#: `-v` / `--verbose`, accepted by `citeline` itself and by every command (`citeline ask -v ...`).
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log what citeline is doing.", callback=_verbose_flag, is_eager=True),
]
