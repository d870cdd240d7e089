"""The ``riskpipe`` Typer app and what every command shares: console, options, config and path helpers.

Command modules import ``app`` from here and register on it; ``pipeline.cli`` imports them in
the order ``riskpipe --help`` lists them. Only typer, rich and the config/paths modules load at
start-up: each command imports its stage code (MLflow, LightGBM, Splink, pandas) when it runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler

from pipeline.core.config import ConfigError, Params, load_params
from pipeline.core.paths import ConfiguredFileMissing, missing_input_message, producing_command

app = typer.Typer(
    name="riskpipe",
    help=(
        "Reproducible predictive-risk pipeline for local authorities and NHS partners.\n\n"
        "Stages run in order: synth -> ingest -> pseudonymise -> link -> features -> train -> "
        "evaluate -> govern -> card -> score -> impact. `dvc repro` runs them all; each command here runs one."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals could hold identifiers or the key
)
console = Console(stderr=True)

ParamsOption = typer.Option(Path("params.yaml"), "--params", help="Parameters file (YAML).")
RootOption = typer.Option(Path("."), "--root", help="Project root holding data/, reports/, outputs/.")
ModelOption = typer.Option(..., "--model", help="Model name: models/specs/<name>.yaml, listed under models: "
                                               "in params.yaml.")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug messages.")) -> None:
    """Set up logging once for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
    )


def load_config(params: Path) -> Params:
    """``params.yaml`` as typed config; a configuration error ends the command with exit code 2."""
    try:
        return load_params(params)
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def under_root(root: Path, path: Path) -> Path:
    """A configured path, taken relative to the project root unless it is absolute."""
    return path if path.is_absolute() else root / path


def key_file_path(root: Path, key_file: Path) -> Path:
    """Where the pseudonymisation key file lies (pseudonymise.key_file, relative to the root)."""
    return under_root(root, key_file)


ErrorTypes = type[Exception] | tuple[type[Exception], ...]


@contextmanager
def exits_on(*cases: tuple[ErrorTypes, str, int] | tuple[ErrorTypes, str, int, bool]) -> Iterator[None]:
    """End the command on an expected error: print ``[red]<label>:[/red] <error>`` and exit with ``code``.

    Each case is ``(error types, label, exit code)``, optionally with ``soft_wrap`` (True: long paths and
    digests are not broken across lines); the first case the error matches applies, and any other error
    (or a ``typer.Exit`` already raised) passes through, except a missing file that a stage writes
    (``run.json``, ``data/pseudo``), which ends with exit code 2 and the command that makes it.
    """
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        for types, label, code, *soft_wrap in cases:
            if isinstance(exc, types):
                console.print(f"[red]{label}:[/red] {exc}", soft_wrap=bool(soft_wrap and soft_wrap[0]))
                raise typer.Exit(code) from None
        if isinstance(exc, ConfiguredFileMissing):
            console.print(f"[red]Configuration error:[/red] {exc}", soft_wrap=True)
            raise typer.Exit(2) from None
        missing = None
        if isinstance(exc, FileNotFoundError):  # OSError's filename, or a path given as the only argument
            missing = exc.filename or (str(exc.args[0]) if len(exc.args) == 1 else None)
        if missing and producing_command(missing) is not None:  # a stage's input: say which stage makes it
            console.print(f"[red]Input missing:[/red] {missing_input_message(missing)}", soft_wrap=True)
            raise typer.Exit(2) from None
        raise
