"""What every `citeline` command shares at the edge: Settings from flags + environment, clear failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer

from assistant.config import Settings

#: Exit code for bad input from the user (a bad question, setting, case file): like a usage error.
EXIT_BAD_INPUT = 2


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: message` in red on stderr and exit with `code` (no traceback)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings_from(data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, with the command's flags (those not None) on top."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)
    except Exception as exc:  # pydantic.ValidationError: a bad CITELINE_* value or flag
        fail(f"invalid setting: {exc}", EXIT_BAD_INPUT)
