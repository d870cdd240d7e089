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


def _key_file(root: Path, key_file: Path) -> Path:
    return key_file if key_file.is_absolute() else root / key_file


@app.command()
def keygen(
    out: Path | None = typer.Option(None, "--out", help="Key file [default: pseudonymise.key_file]."),
    force: bool = typer.Option(False, "--force", help="Replace an existing key (old tokens stop matching)."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Make a new random 256-bit pseudonymisation key (hex, owner-only file permissions).

    Refuses to overwrite an existing key unless --force: tokens made with a lost or replaced key
    can never be matched with new ones. The key is never printed.
    """
    from pipeline.keys import generate_key

    path = out if out is not None else _key_file(root, _load(params).pseudonymise.key_file)
    try:
        generate_key(path, force=force)
    except FileExistsError as exc:
        console.print(f"[red]Not overwritten:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]Pseudonymisation key written[/green] to {path} (mode 0600).")


@app.command()
def pseudonymise(params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Replace direct identifiers in every staged table with keyed HMAC tokens and match keys.

    Reads data/staged/*.parquet, applies each column's privacy action from its source spec and
    writes data/pseudo/<table>.parquet plus reports/pseudonymise.json (row and column counts, no
    values). The key comes from $RISKPIPE_PSEUDO_KEY or pseudonymise.key_file. Fails closed: a
    table with any problem gets no output, and the command exits non-zero.
    """
    from pipeline.keys import PseudonymisationKeyError, load_key
    from pipeline.pseudonymise import PseudonymisationError, run_pseudonymise

    cfg = _load(params).pseudonymise
    paths = _paths(root)
    try:
        key = load_key(_key_file(root, cfg.key_file))
        report = run_pseudonymise(paths, key)
    except (PseudonymisationKeyError, PseudonymisationError) as exc:
        console.print(f"[red]Pseudonymisation stopped:[/red] {exc}")
        raise typer.Exit(2) from None
    if report["failed"]:
        console.print(
            f"[red]{len(report['failed'])} table(s) not pseudonymised[/red] (no output written): "
            f"{', '.join(sorted(report['failed']))}; see {paths.reports / 'pseudonymise.json'}"
        )
        raise typer.Exit(1)
    console.print(f"[green]Pseudonymised[/green] {len(report['tables'])} tables into {paths.pseudo}")


@app.command("scan-pii")
def scan_pii(
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    names: Path | None = typer.Option(
        None, "--names", exists=True, dir_okay=False, help="File of names to look for, one per line."
    ),
) -> None:
    """Scan parquet/csv/xlsx/html/json/md/xml/txt files for direct identifiers; exit 1 if any is found.

    Looks for valid NHS numbers, UPNs, full UK postcodes, name columns holding anything but
    tokens, and (with --names) listed names as whole words. Reports file, column, kind and count,
    never the values. 32-hex-character tokens are never taken for identifiers.
    """
    from rich.table import Table

    from pipeline.scan_pii import read_names_list, scan_paths

    name_list = read_names_list(names.read_text(encoding="utf-8")) if names else frozenset()
    try:
        findings = scan_paths(paths, name_list)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not findings:
        console.print("[green]No identifiers found.[/green]")
        return
    table = Table("file", "column", "kind", "rows", title="Identifiers found")
    for f in findings:
        table.add_row(f.file, f.column, f.kind, f"{f.count:,}")
    Console().print(table)
    console.print(f"[red]{len(findings)} finding(s)[/red] in {len({f.file for f in findings})} file(s)")
    raise typer.Exit(1)


LINK_PERSON_TABLES = ("school_pupil", "school_address", "csc_person", "nhs_patient", "nccis_activity")


@app.command()
def link(params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Link pseudonymised school, social care, health and NCCIS records into one person index.

    Deterministic passes (NHS number tokens between social care and health; UPN and former-UPN
    tokens between school, social care and NCCIS), then a Splink model over the match-key tokens,
    trained on the data (u by seeded random sampling, m by EM). Writes
    data/linked/person_index.parquet, data/linked/splink_model.json, reports/linkage.json,
    reports/linkage.md and reports/linkage_review.csv (tokens, never values). When
    data/truth/person_map.parquet exists (synthetic county) it is used for evaluation only.
    """
    from pipeline.io import read_parquet, write_csv, write_json, write_parquet, write_text
    from pipeline.keys import PseudonymisationKeyError, load_key
    from pipeline.link import link_person_records
    from pipeline.linkage.engine import LinkageBackendError
    from pipeline.linkage.evaluation import tokenise_truth_keys
    from pipeline.linkage.markdown import render_linkage_markdown

    cfg = _load(params)
    paths = _paths(root)
    present = [t for t in LINK_PERSON_TABLES if paths.pseudo_table(t).exists()]
    tables = {t: read_parquet(paths.pseudo_table(t)) for t in present}
    if not tables:
        console.print(f"[red]No pseudonymised person tables[/red] under {paths.pseudo}; run pseudonymise.")
        raise typer.Exit(2)
    truth = None
    truth_file = paths.truth / "person_map.parquet"
    if truth_file.exists():
        try:
            key = load_key(_key_file(root, cfg.pseudonymise.key_file))
        except PseudonymisationKeyError as exc:
            console.print(f"[red]Cannot tokenise truth for evaluation:[/red] {exc}")
            raise typer.Exit(2) from None
        truth = tokenise_truth_keys(read_parquet(truth_file), key)
    try:
        result = link_person_records(tables, cfg.link, truth)
    except LinkageBackendError as exc:
        console.print(f"[red]Linkage backend unavailable:[/red] {exc}")
        raise typer.Exit(2) from None
    write_parquet(result.person_index, paths.person_index)
    write_json(result.model, paths.splink_model)
    write_json(result.report, paths.reports / "linkage.json")
    write_text(render_linkage_markdown(result.report), paths.reports / "linkage.md")
    write_csv(result.review, paths.reports / "linkage_review.csv")
    summary = f"{result.report['people']:,} people from {len(result.person_index):,} records"
    if "truth" in result.report:
        t = result.report["truth"]
        summary += f"; pairwise precision {t['precision']:.4f}, recall {t['recall']:.4f}"
    console.print(f"[green]Person index written[/green] to {paths.person_index}: {summary}")


def _read_person_table(path: Path):
    """A person table for link-pair: parquet as stored, CSV with every column as text."""
    from pipeline.io import read_csv_table, read_parquet

    return read_parquet(path) if path.suffix.lower() == ".parquet" else read_csv_table(path)


@app.command("link-pair")
def link_pair_command(
    left: Path = typer.Argument(..., help="Left person table (.csv or .parquet)."),
    right: Path = typer.Argument(..., help="Right person table (.csv or .parquet)."),
    id_left: str = typer.Option(..., "--id-left", help="Unique record id column of the left table."),
    id_right: str = typer.Option(..., "--id-right", help="Unique record id column of the right table."),
    mapping: str = typer.Option(
        "", "--map", help="field=column,... onto forename, surname, dob, sex, postcode, nhs_number, upn."
    ),
    map_right: str | None = typer.Option(None, "--map-right", help="Right table's mapping if it differs."),
    dob_format: str | None = typer.Option(None, "--dob-format", help="strptime format of dob, e.g. %Y%m%d."),
    pseudonymised: bool = typer.Option(False, "--pseudonymised", help="Tables already hold riskpipe tokens."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Min. match probability [default: link.pair_threshold_match_probability]"
    ),
    out: Path = typer.Option(Path("pairs.csv"), "--out", help="CSV of left_id, right_id, match_probability."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Link any two person tables with riskpipe's comparison design, trained on the pair itself.

    Clear tables are pseudonymised on the fly with the configured key (only tokens reach the
    linkage engine); --pseudonymised tables are used as they are. Writes one row per scored pair
    at or above the threshold.
    """
    from pipeline.io import write_csv
    from pipeline.keys import PseudonymisationKeyError, load_key
    from pipeline.linkage.pair import link_pair, parse_mapping

    cfg = _load(params)
    try:
        left_map = parse_mapping(mapping)
        right_map = parse_mapping(map_right) if map_right else None
        key = None if pseudonymised else load_key(_key_file(root, cfg.pseudonymise.key_file))
        threshold = threshold if threshold is not None else cfg.link.pair_threshold_match_probability
        pairs = link_pair(
            _read_person_table(left), _read_person_table(right), id_left=id_left, id_right=id_right,
            mapping=left_map, mapping_right=right_map, dob_format=dob_format, pseudonymised=pseudonymised,
            key=key, threshold=threshold,
            seed=cfg.link.seed, backend=cfg.link.backend,
        )
    except (ValueError, PseudonymisationKeyError, FileNotFoundError) as exc:
        console.print(f"[red]link-pair stopped:[/red] {exc}")
        raise typer.Exit(2) from None
    write_csv(pairs, out)
    console.print(f"[green]{len(pairs):,} pairs[/green] written to {out}")


@app.command()
def ingest(
    params: Path = ParamsOption,
    root: Path = RootOption,
    table: list[str] | None = typer.Option(None, "--table", help="Only this table (repeatable)."),
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
    """
    from rich.progress import Progress

    from pipeline.ingest_stage import run_ingest
    from pipeline.sources.errors import IngestError

    cfg = _load(params).ingest
    paths = _paths(root)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("ingest", total=None)

            def advance(name: str, total: int) -> None:
                progress.update(task, description=f"ingest {name}", total=total, advance=1)

            summary = run_ingest(cfg, paths, tables=table, on_table=advance)
    except IngestError as exc:
        console.print(f"[red]Ingest error:[/red] {exc}")
        raise typer.Exit(1) from None
    totals = summary["totals"]
    console.print(
        f"[green]Ingested[/green] {totals['rows_read']:,} rows: {totals['rows_accepted']:,} accepted, "
        f"{totals['rows_quarantined']:,} quarantined -> {paths.staged}; report {paths.reports / 'ingest.md'}"
    )
    for name in summary["tables_failed"]:
        console.print(f"[red]File-level error[/red] in {name}: {summary['tables'][name]['error']}")
    if summary["tables_failed"]:
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    app()
