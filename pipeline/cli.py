"""``riskpipe``: one command per pipeline stage, plus the tools around them.

This is the only module that wires configuration, file IO and stage functions together.
Each command reads ``params.yaml`` (or ``--params``), runs one stage and says where its
outputs went. Run ``riskpipe COMMAND --help`` for what each command does.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler

from pipeline.config import ConfigError, Params, load_params
from pipeline.paths import ProjectPaths, project_paths

app = typer.Typer(
    name="riskpipe",
    help=(
        "Reproducible predictive-risk pipeline for local authorities and NHS partners.\n\n"
        "Stages run in order: synth -> ingest -> pseudonymise -> link -> features -> train -> "
        "evaluate -> govern -> card -> score. `dvc repro` runs them all; each command here runs one."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals could hold identifiers or the key
)
console = Console(stderr=True)
log = logging.getLogger("riskpipe")

ParamsOption = typer.Option(Path("params.yaml"), "--params", help="Parameters file (YAML).")
RootOption = typer.Option(Path("."), "--root", help="Project root holding data/, reports/, outputs/.")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug messages.")) -> None:
    """Set up logging once for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
    )


def _load(params: Path) -> Params:
    try:
        return load_params(params)
    except ConfigError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def _paths(root: Path) -> ProjectPaths:
    return project_paths(root)


@app.command()
def synth(
    params: Path = ParamsOption,
    root: Path = RootOption,
    children: int | None = typer.Option(None, help="Override synth.children (e.g. 300000 for scale tests)."),
    seed: int | None = typer.Option(None, help="Override synth.seed."),
) -> None:
    """Simulate a synthetic county and write its extracts in real LA/NHS formats.

    Life courses are simulated first (households, neighbourhoods, latent adversity, school,
    social care and health events), then each source's extract is taken as at
    synth.reference_date, so no record can contain a future event. Writes data/raw/
    (school census, KS2, NCCIS, SSDA903, CIN census XML, early help, NHS demographics,
    HES-like admissions and A&E) and data/truth/ (for evaluation and tests only).
    """
    from pipeline.synthetic import run_synth

    cfg = _load(params).synth
    overrides = {k: v for k, v in {"children": children, "seed": seed}.items() if v is not None}
    if overrides:
        cfg = cfg.model_copy(update=overrides)
    paths = _paths(root)
    summary = run_synth(cfg, paths)
    console.print(
        f"[green]Synthetic county written[/green]: {summary['children']:,} children, "
        f"{summary['files']} files under {paths.raw}; ground truth under {paths.truth}"
    )


if __name__ == "__main__":  # pragma: no cover
    app()
