"""The ingest command: raw extracts validated into typed, canonical staged tables."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from pipeline.cli.common import ParamsOption, RootOption, app, console, exits_on, load_config
from pipeline.core.paths import project_paths


@app.command()
def ingest(
    params: Path = ParamsOption,
    root: Path = RootOption,
    table: list[str] | None = typer.Option(None, "--table", help="Only this table (repeatable)."),
    workers: int = typer.Option(
        min(2, os.cpu_count() or 1), "--workers", min=1, help="Tables ingested at once, each in its own process."
    ),
) -> None:
    """Validate raw extracts and write typed, canonical tables to data/staged/.

    Reads each enabled table's files from the raw folders named in params.yaml `ingest`
    (school census, KS2, NCCIS, SSDA903, CIN census XML, early help, NHS/HES, reference
    lookups; see docs/formats.md and docs/own_extracts.md). Decodes UTF-8, UTF-8 with BOM or
    cp1252, sniffs the delimiter, parses dd/mm/yyyy, ISO and `2025-Feb-16 00:00:00` dates,
    validates CIN XML against the DfE schema. Rows with no record key, an unparseable date of
    birth, impossible dates or duplicates go to data/quarantine/<table>.csv with reasons;
    invalid values (NHS check digit, UPN check letter, unknown codes, postcode format) are
    flagged or nulled and counted. Writes reports/ingest.json and reports/ingest.md (counts
    only, never values). Exits 1 if any file could not be read at all (file-level error).
    With --workers above 1 (the default on a machine with two or more cores), tables are ingested
    in parallel processes; the outputs are the same.
    """
    from rich.markup import escape
    from rich.progress import Progress

    from pipeline.ingest.stage import run_ingest
    from pipeline.sources.errors import IngestError

    cfg = load_config(params).ingest
    paths = project_paths(root)
    with exits_on((IngestError, "Ingest error", 1)):
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("ingest", total=None)

            def advance(name: str, total: int) -> None:
                progress.update(task, description=f"ingest {name}", total=total, advance=1)

            summary = run_ingest(cfg, paths, tables=table, on_table=advance, workers=workers)
    totals = summary["totals"]
    console.print(
        f"[green]Ingested[/green] {totals['rows_read']:,} rows: {totals['rows_accepted']:,} accepted, "
        f"{totals['rows_quarantined']:,} quarantined -> {paths.staged}; report {paths.reports / 'ingest.md'}"
    )
    ignored = summary["files"]["ignored"]
    if ignored:  # each is in the log above and in the report
        console.print(f"[yellow]{len(ignored)} file(s) ignored[/yellow] (listed in the report)")
    for warning in summary["warnings"]:
        console.print(f"[yellow]Warning[/yellow] {escape(warning)}")
    for name in summary["tables_failed"]:
        entry = summary["tables"][name]
        label = "Missing extract" if entry["status"] == "missing" else "File-level error"
        console.print(f"[red]{label}[/red] in {name}: {escape(entry['error'])}")
    if summary["tables_failed"]:
        raise typer.Exit(1)
