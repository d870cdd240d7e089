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


# ---- governance gate, model cards, risk lists, audit log, re-identification (issue 7) ----
GovernModelOption = typer.Option(..., "--model", help="Model spec name, e.g. neet18.")


def _ethics_file(root: Path, configured: Path | None, packaged: Path) -> Path:
    if configured is None:
        return packaged
    return configured if configured.is_absolute() else root / configured


def _under_root(root: Path, path: Path) -> Path:
    return path if path.is_absolute() else root / path


def _model_dir(paths: ProjectPaths, model: str) -> Path:
    return paths.data / "models" / model


def _numeric_frame(df):
    """CSV text columns that hold numbers become numbers (group_metrics.csv, calibration.csv)."""
    import pandas as pd

    out = df.copy()
    for column in out.columns:
        converted = pd.to_numeric(out[column], errors="coerce")
        if converted.notna().sum() == out[column].notna().sum():
            out[column] = converted
    return out


def _optional_json(path: Path):
    from pipeline.io import read_json

    return read_json(path) if path.exists() else None


def _read_signoff_entries(log_path: Path) -> tuple[list[dict], list[str]]:
    from pipeline.audit_log import parse_log, verify_chain
    from pipeline.io import read_lines

    lines = read_lines(log_path)
    check = verify_chain(lines)
    if not check.ok:
        return [], [f"sign-off log {log_path} fails verification: {p}" for p in check.problems]
    return parse_log(lines), []


def _context(root: Path, cfg, model: str) -> dict:
    from ethics.checklist import CONTEXTS_DIR
    from pipeline.io import read_yaml

    path = _ethics_file(root, cfg.contexts_dir, CONTEXTS_DIR) / f"{model}.yaml"
    return (read_yaml(path) or {}) if path.exists() else {}


def _gate_evidence(root: Path, paths: ProjectPaths, cfg, model: str):
    from ethics.auto_checks import GateEvidence
    from ethics.checklist import THRESHOLDS_FILE, thresholds_sha256
    from features.registry import FEATURES
    from pipeline.io import read_csv_table, read_json, read_parquet

    reports, model_dir = paths.model_reports(model), _model_dir(paths, model)
    scores = read_parquet(model_dir / "scores.parquet", columns=["split", "index_year"])
    thresholds_path = _ethics_file(root, cfg.thresholds_file, THRESHOLDS_FILE)
    return GateEvidence(
        metrics=read_json(reports / "metrics.json"),
        group_metrics=_numeric_frame(read_csv_table(reports / "group_metrics.csv")),
        run=read_json(model_dir / "run.json"),
        thresholds_sha256=thresholds_sha256(thresholds_path.read_bytes()),
        split_years=scores.drop_duplicates().reset_index(drop=True),
        linkage=_optional_json(paths.reports / "linkage.json"),
        features_report=_optional_json(reports / "features.json"),
        fairness_features=frozenset(n for n, f in FEATURES.items() if f.role != "model"),
        context=_context(root, cfg, model),
    )


@app.command()
def signoff(
    model: str = GovernModelOption,
    version: str = typer.Option(..., "--version", help="Registered model version being signed."),
    item: str = typer.Option(..., "--item", help="Checklist item id (a human item)."),
    by: str = typer.Option(..., "--by", help="Name of the person signing."),
    role: str = typer.Option(..., "--role", help="DPO, Caldicott Guardian, SIRO, service lead, lead data scientist."),
    decision: str = typer.Option(..., "--decision", help="approve or reject."),
    evidence: str = typer.Option(..., "--evidence", help="Reference to the evidence (document, minute, link)."),
    note: str = typer.Option("", "--note", help="Optional note."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Record a human sign-off of one checklist item for one model version.

    Appends to the hash-chained, append-only sign-off log (govern.signoff_log) and tags the MLflow
    model version. The latest decision per item and version counts; run `riskpipe govern` next.
    """
    import json

    from ethics.checklist import CHECKLIST_FILE, parse_checklist
    from ethics.signoff import SignOffError, make_signoff
    from pipeline.audit_log import canonical_json, chain_entry, last_hash, parse_log, verify_chain
    from pipeline.io import append_line_locked, read_yaml

    cfg = _load(params).govern
    checklist = parse_checklist(read_yaml(_ethics_file(root, cfg.checklist_file, CHECKLIST_FILE)))
    try:
        record = make_signoff(checklist, model=model, version=version, item=item, by=by, role=role,
                              decision=decision, evidence=evidence, note=note)
    except SignOffError as exc:
        console.print(f"[red]Sign-off refused:[/red] {exc}")
        raise typer.Exit(2) from None
    log_path = _under_root(root, cfg.signoff_log)

    def next_line(lines: list[str]) -> str:
        if not verify_chain(lines).ok:
            raise ValueError(f"{log_path} fails verification; run `riskpipe audit-log verify --log {log_path}`")
        return canonical_json(chain_entry(record, last_hash(parse_log(lines))))

    try:
        entry = json.loads(append_line_locked(log_path, next_line))
    except ValueError as exc:
        console.print(f"[red]Sign-off not recorded:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        from pipeline.tracking import tag_model_version, tracking_uri

        tag_model_version(f"riskpipe-{model}", version, {f"signoff.{item}": f"{decision} by {record['role']}"},
                          tracking_uri(root))
    except Exception as exc:  # noqa: BLE001 - the log is the record; MLflow tags are a convenience
        log.warning("Sign-off recorded but the MLflow tag was not set: %s", type(exc).__name__)
    console.print(f"[green]Sign-off recorded[/green]: {item} {decision} for riskpipe-{model} v{version} "
                  f"(log entry {entry['hash'][:12]})")


@app.command()
def govern(model: str = GovernModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Run the governance gate for the model's latest trained version: approved or blocked.

    Runs the auto checks on the evaluation outputs against ethics/thresholds.yaml, reads the
    sign-off log, writes reports/<model>/governance.json, tags the MLflow model version and moves
    the `approved` alias only when every item passes (a blocked version loses it). Logs
    governance.json to the version's MLflow run. Blocked is a normal state: the exit code is 0.
    """
    from ethics.checklist import CHECKLIST_FILE, THRESHOLDS_FILE, model_thresholds, parse_checklist
    from ethics.gate import evaluate_gate, unsigned_human_items
    from ethics.signoff import latest_signoffs
    from pipeline.audit_log import canonical_json, utc_now
    from pipeline.io import read_yaml, write_json

    cfg = _load(params).govern
    paths = _paths(root)
    checklist = parse_checklist(read_yaml(_ethics_file(root, cfg.checklist_file, CHECKLIST_FILE)))
    thresholds = model_thresholds(read_yaml(_ethics_file(root, cfg.thresholds_file, THRESHOLDS_FILE)), model)
    evidence = _gate_evidence(root, paths, cfg, model)
    version = str(evidence.run.get("model_version"))
    entries, log_problems = _read_signoff_entries(_under_root(root, cfg.signoff_log))
    result = evaluate_gate(checklist, thresholds, evidence, latest_signoffs(entries, model, version),
                           model=model, version=version)
    if log_problems:
        result = {**result, "status": "blocked", "reasons": [*log_problems, *result["reasons"]]}
    result["decided_at"] = utc_now()
    if result["status"] == "approved":
        import hashlib

        digest = hashlib.sha256(canonical_json(result).encode()).hexdigest()[:12]
        result["approval_ref"] = f"riskpipe-{model} v{version} approved {result['decided_at'][:10]} (gate {digest})"
    out = paths.model_reports(model) / "governance.json"
    write_json(result, out)
    try:
        from pipeline.tracking import record_governance, tracking_uri

        record_governance(f"riskpipe-{model}", version, evidence.run.get("run_id"), result, [out], tracking_uri(root))
    except Exception as exc:  # noqa: BLE001 - never fail the pipeline on a blocked or untracked model
        log.warning("Governance result written but not recorded in MLflow: %s: %s", type(exc).__name__, exc)
    colour = "green" if result["status"] == "approved" else "yellow"
    console.print(f"[{colour}]riskpipe-{model} v{version}: {result['status']}[/{colour}] -> {out}")
    unsigned = unsigned_human_items(result)
    if unsigned:
        console.print(f"Unsigned human items ({len(unsigned)}): {', '.join(unsigned)}")
    for reason in result["reasons"]:
        if reason.split(":")[0] not in unsigned:
            console.print(f"  - {reason}")


@app.command()
def card(model: str = GovernModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Write the model card (self-contained HTML + Markdown twin) and the ATRS record.

    Reads metrics.json, group_metrics.csv, calibration.csv, plots/*.png, governance.json, run.json,
    linkage.json, the model spec and ethics/contexts/<model>.yaml. Writes reports/<model>/
    model_card.html, model_card.md and atrs.json, and logs them to the version's MLflow run.
    """
    from ethics.card.atrs import build_atrs_record
    from ethics.card.model import CardInputs, build_model_card
    from ethics.card.plots import figure_from_png, plot_calibration, plot_group_rates
    from ethics.card.render import render_model_card_html, render_model_card_markdown
    from ethics.checklist import THRESHOLDS_FILE, model_thresholds
    from models.spec import ModelSpecError, load_model_spec
    from pipeline.io import file_sha256, read_csv_table, read_json, read_yaml, write_json, write_text

    cfg = _load(params).govern
    paths = _paths(root)
    reports, model_dir = paths.model_reports(model), _model_dir(paths, model)
    thresholds_path = _ethics_file(root, cfg.thresholds_file, THRESHOLDS_FILE)
    thresholds = model_thresholds(read_yaml(thresholds_path), model)
    group_metrics = _numeric_frame(read_csv_table(reports / "group_metrics.csv"))
    figures = []
    if (reports / "calibration.csv").exists():
        figures.append(plot_calibration(_numeric_frame(read_csv_table(reports / "calibration.csv"))))
    for column, label in (("fnr", "False-negative rate"), ("oe_ratio", "Observed/expected ratio")):
        if column in group_metrics and (fig := plot_group_rates(group_metrics, column, thresholds.min_group_size,
                                                                label)) is not None:
            figures.append(fig)
    for png in sorted((reports / "plots").glob("*.png")):
        figures.append(figure_from_png(png.read_bytes(), png.stem.replace("_", " "), f"evaluation plot {png.stem}"))
    hashed = {"features": paths.features / f"{model}.parquet", "person index": paths.person_index,
              "scores": model_dir / "scores.parquet", "metrics": reports / "metrics.json",
              "thresholds": thresholds_path}
    try:
        spec = load_model_spec(model).model_dump(mode="json")
    except ModelSpecError as exc:
        log.warning("Model card without its spec: %s", exc)
        spec = {}
    inputs = CardInputs(
        model=model, spec=spec, context=_context(root, cfg, model),
        metrics=read_json(reports / "metrics.json"), group_metrics=group_metrics, run=read_json(model_dir / "run.json"),
        governance=_optional_json(reports / "governance.json") or {"status": "blocked", "items": [],
                                                                    "reasons": ["governance not run"]},
        min_group_size=thresholds.min_group_size, linkage=_optional_json(paths.reports / "linkage.json"),
        input_hashes={k: file_sha256(p)[:16] for k, p in hashed.items() if p.exists()}, figures=figures,
    )
    model_card = build_model_card(inputs)
    outs = [write_text(render_model_card_html(model_card), reports / "model_card.html"),
            write_text(render_model_card_markdown(model_card), reports / "model_card.md"),
            write_json(build_atrs_record(model_card, organisation=cfg.organisation), reports / "atrs.json")]
    try:
        from pipeline.tracking import log_run_artifacts, tracking_uri

        log_run_artifacts(inputs.run.get("run_id"), outs, "governance", tracking_uri(root))
    except Exception as exc:  # noqa: BLE001 - the card is written either way
        log.warning("Model card written but not logged to MLflow: %s: %s", type(exc).__name__, exc)
    console.print(f"[green]Model card[/green] {outs[0]} (+ .md) and ATRS record {outs[2]}")


def _scoring_frame(paths: ProjectPaths, model: str, feature_columns: list[str]):
    """Feature rows of the latest cohort: the `score` split of scores.parquet, else the latest index date."""
    from pipeline.io import read_parquet

    features = read_parquet(paths.features / f"{model}.parquet")
    scores = read_parquet(_model_dir(paths, model) / "scores.parquet", columns=["person_id", "index_date", "split"])
    wanted = scores[scores["split"] == "score"][["person_id", "index_date"]]
    if wanted.empty:
        rows = features[features["index_date"] == features["index_date"].max()]
    else:
        rows = features.merge(wanted, on=["person_id", "index_date"], how="inner")
    return rows.reset_index(drop=True)


@app.command()
def score(model: str = GovernModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Issue the risk list for the latest cohort from the `approved` model version (or a DRAFT).

    With no approved version, runs only when score.draft_mode is on, and every output then says
    "DRAFT — NOT APPROVED FOR OPERATIONAL USE". Selects the top of the cohort by capacity; gives
    token, rank, calibrated risk (%), band, reasons and protective factors (LightGBM contributions
    through the feature registry), sources holding the child with last record dates, model version
    and approval. Writes outputs/risk_lists/<model>/risk_list.{csv,xlsx,html} and appends the list's
    hash to the hash-chained score.audit_log.
    """
    import json

    from features.registry import FEATURES
    from pipeline.audit_log import canonical_json, chain_entry, last_hash, list_issue_record, parse_log, verify_chain
    from pipeline.io import (
        append_line_locked,
        file_sha256,
        read_json,
        read_parquet,
        write_bytes,
        write_text,
        write_xlsx_sheets,
    )
    from pipeline.score import (
        SOURCE_EVENT_DATES,
        NotApprovedError,
        band_risk,
        build_risk_list,
        caveats_table,
        collect_source_events,
        decide_release,
        explain_rows,
        last_record_dates,
        list_sha256,
        render_risk_list_html,
        score_with_contributions,
        select_top_by_capacity,
    )
    from pipeline.tracking import approved_model_version, load_sklearn_model, tracking_uri

    cfg = _load(params).score
    paths = _paths(root)
    reports, model_dir = paths.model_reports(model), _model_dir(paths, model)
    run, metrics = read_json(model_dir / "run.json"), read_json(reports / "metrics.json")
    name = f"riskpipe-{model}"
    try:
        release = decide_release(approved_model_version(name, tracking_uri(root)), str(run["model_version"]),
                                 cfg.draft_mode)
    except NotApprovedError as exc:
        console.print(f"[red]No list issued:[/red] {exc}")
        raise typer.Exit(1) from None
    model_uri = run["model_uri"] if release.draft else f"models:/{name}@approved"
    feature_columns = list(run["feature_columns"])
    cohort = _scoring_frame(paths, model, feature_columns)
    risk, contributions = score_with_contributions(load_sklearn_model(model_uri, tracking_uri(root)),
                                                   cohort[feature_columns])
    scored = cohort[["person_id", "index_date"]].assign(risk=risk)
    top = select_top_by_capacity(scored, int(metrics["capacity"]))
    top["band"] = band_risk(top["risk"], float(metrics["test"]["prevalence"]), cfg.band_multiples)
    keep = scored.sort_values(["risk", "person_id"], ascending=[False, True], kind="stable").index[: len(top)]
    registry = {n: {"description": f.description, "kind": f.kind} for n, f in FEATURES.items()}
    explanations = explain_rows(contributions.loc[keep].reset_index(drop=True),
                                cohort.loc[keep, feature_columns].reset_index(drop=True), registry,
                                cfg.max_reasons, cfg.max_protective)
    tables = {t: read_parquet(paths.pseudo_table(t), columns=[k, d]) for specs in SOURCE_EVENT_DATES.values()
              for t, k, d in specs if paths.pseudo_table(t).exists()}
    index_date = cohort["index_date"].max()
    coverage = last_record_dates(collect_source_events(tables), read_parquet(paths.person_index), index_date)
    risk_list = build_risk_list(top, explanations, coverage, release, model)
    lineage = {"model": name, "model version": release.version, "approval": release.approval,
               "cohort index date": str(index_date.date()), "people scored": f"{len(cohort):,}",
               "list length (capacity)": f"{len(risk_list):,}",
               "person index sha256": file_sha256(paths.person_index)[:16]}
    caveats = caveats_table(release, lineage)
    out_dir = paths.outputs / "risk_lists" / model
    csv_bytes = risk_list.to_csv(index=False, lineterminator="\n").encode("utf-8")
    files = [write_bytes(csv_bytes, out_dir / "risk_list.csv")]
    banner = [caveats["caveat"].iloc[0]] if release.draft else []
    files.append(write_xlsx_sheets({"risk list": risk_list, "caveats": caveats}, out_dir / "risk_list.xlsx",
                                   title_rows={"risk list": banner, "caveats": banner},
                                   percent_columns=("risk_percent",),
                                   wrap_columns=("reasons", "protective_factors", "sources_seen", "caveat")))
    title = f"{name} risk list, cohort {index_date.date()}"
    files.append(write_text(render_risk_list_html(risk_list, caveats, release, title), out_dir / "risk_list.html"))
    record = list_issue_record(model=model, model_version=release.version, approval=release.approval,
                               list_sha256=list_sha256(csv_bytes), rows=len(risk_list),
                               files=[f.name for f in files], draft=release.draft)
    audit_path = _under_root(root, cfg.audit_log)

    def next_line(lines: list[str]) -> str:
        if not verify_chain(lines).ok:
            raise ValueError(f"{audit_path} fails verification; the list was written but not logged")
        return canonical_json(chain_entry(record, last_hash(parse_log(lines))))

    try:
        entry = json.loads(append_line_locked(audit_path, next_line))
    except ValueError as exc:
        console.print(f"[red]Audit log refused the entry:[/red] {exc}")
        raise typer.Exit(1) from None
    state = "[red]DRAFT - NOT APPROVED[/red]" if release.draft else "[green]approved[/green]"
    console.print(f"{state} risk list of {len(risk_list):,} from {len(cohort):,} people -> {out_dir}; "
                  f"audit entry {entry['hash'][:12]}")


audit_app = typer.Typer(help="The hash-chained audit and sign-off logs.", no_args_is_help=True)
app.add_typer(audit_app, name="audit-log")


@audit_app.command("verify")
def audit_log_verify(
    logs: list[Path] | None = typer.Option(None, "--log", help="Log file(s) [default: score.audit_log and "
                                           "govern.signoff_log]."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Verify hash-chained logs line by line; exit 1 if any line was edited, inserted, removed or reordered."""
    from pipeline.audit_log import verify_chain
    from pipeline.io import read_lines

    cfg = _load(params)
    targets = logs or [_under_root(root, cfg.score.audit_log), _under_root(root, cfg.govern.signoff_log)]
    broken = False
    for path in targets:
        if not path.exists():
            console.print(f"{path}: no log yet")
            continue
        check = verify_chain(read_lines(path))
        if check.ok:
            console.print(f"[green]{path}: {check.entries} entries, chain intact[/green] (last hash {check.last_hash})")
        else:
            broken = True
            console.print(f"[red]{path}: chain broken[/red]")
            for problem in check.problems:
                console.print(f"  - {problem}")
    if broken:
        raise typer.Exit(1)


@app.command()
def reidentify(
    risk_list: Path = typer.Option(..., "--list", exists=True, dir_okay=False, help="Risk list CSV."),
    extract: Path = typer.Option(..., "--extract", exists=True, dir_okay=False, help="Your own raw extract (CSV)."),
    source: str = typer.Option(..., "--source", help="What the extract is: school, social_care, health, nccis."),
    id_column: str = typer.Option(..., "--id-column", help="Your local ID column in the extract (e.g. LAchildID)."),
    out: Path = typer.Option(..., "--out", help="Where to write the re-identified list (required; never a default)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --out if it exists."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """For the data controller only: map a list's tokens back to your own local IDs.

    Needs the pseudonymisation key and your own extract; your IDs are tokenised as pseudonymise
    did and matched through the person index. Children not in your extract stay tokens. Writes
    only to --out, which must lie outside the pipeline's data/, reports/ and outputs/ folders.
    """
    from pipeline.io import read_csv_table, read_parquet, write_csv
    from pipeline.keys import PseudonymisationKeyError, load_key
    from pipeline.reidentify import NOT_HELD, ReidentifyError, reidentify_list

    cfg = _load(params)
    paths = _paths(root)
    target = out.resolve()
    guarded = [d.resolve() for d in (paths.data, paths.reports, paths.outputs)]
    if any(target.is_relative_to(d) for d in guarded):
        console.print("[red]Refused:[/red] re-identified lists must not be written inside data/, reports/ or outputs/")
        raise typer.Exit(2)
    if out.exists() and not force:
        console.print(f"[red]Refused:[/red] {out} exists; pass --force to overwrite")
        raise typer.Exit(2)
    try:
        key = load_key(_key_file(root, cfg.pseudonymise.key_file))
        result = reidentify_list(read_csv_table(risk_list), read_parquet(paths.person_index), read_csv_table(extract),
                                 id_column=id_column, source=source, key=key)
    except (PseudonymisationKeyError, ReidentifyError) as exc:
        console.print(f"[red]reidentify stopped:[/red] {exc}")
        raise typer.Exit(2) from None
    write_csv(result, out)
    held = int((result["local_id"] != NOT_HELD).sum())
    console.print(f"[green]{held:,} of {len(result):,} list rows[/green] matched to your IDs -> {out}")


@app.command()
def features(
    model: list[str] = typer.Option(..., "--model", help="Model spec name under models/specs (repeatable)."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Build one row per person x index date with point-in-time features and the outcome.

    Reads data/pseudo/*.parquet and data/linked/person_index.parquet (never data/truth), builds the
    spec's cohort at each index date, computes every registry feature from events strictly before
    it and the outcome from events on or after it. Writes data/features/<model>.parquet and
    reports/<model>/features.json (rows and prevalence per index year, exclusions and censoring by
    reason and group, missingness, and the latest event date each source showed before the index).
    """
    from features.build import build_events, build_features
    from features.events import SOURCE_COLUMNS
    from features.window import connect_duckdb
    from models.spec import ModelSpecError, load_model_spec
    from pipeline.io import read_parquet, write_json, write_parquet

    cfg = _load(params).features
    paths = _paths(root)
    try:
        specs = [load_model_spec(name) for name in model]
    except ModelSpecError as exc:
        console.print(f"[red]Model spec error:[/red] {exc}")
        raise typer.Exit(2) from None
    missing = [t for t in SOURCE_COLUMNS if not paths.pseudo_table(t).exists()]
    if missing or not paths.person_index.exists():
        console.print(f"[red]Missing inputs[/red] (run pseudonymise and link): {missing or paths.person_index}")
        raise typer.Exit(2)
    tables = {t: read_parquet(paths.pseudo_table(t), columns=cols) for t, cols in SOURCE_COLUMNS.items()}
    person_index = read_parquet(paths.person_index, columns=["table", "record_key_tok", "person_id"])
    events = build_events(tables, person_index)
    del tables
    con = connect_duckdb(cfg.duckdb_threads, cfg.duckdb_memory_limit)
    for spec in specs:
        result = build_features({}, person_index, spec, cfg.extract_date, con=con, events=events)
        write_parquet(result.frame, paths.features / f"{spec.name}.parquet")
        write_json(result.report, paths.model_reports(spec.name) / "features.json")
        labelled = result.frame["outcome"].dropna()
        console.print(
            f"[green]{spec.name}[/green]: {len(result.frame):,} rows -> {paths.features / (spec.name + '.parquet')}; "
            f"{len(labelled):,} labelled, prevalence {labelled.mean():.4f}; "
            f"leakage check {'passed' if result.report['leakage_check_passed'] else 'FAILED'}"
        )
        if not result.report["leakage_check_passed"]:
            raise typer.Exit(1)


@app.command()
def train(model: str = GovernModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Train LightGBM, an L2 logistic regression and the spec's rule score; calibrate; log to MLflow.

    Splits data/features/<model>.parquet by index year (spec `split`: train years, validation year,
    test year; never shuffled), fits LightGBM with early stopping on the validation year, calibrates
    each learner on the validation year (isotonic or sigmoid by cross-fitted log-loss), scores every
    row, and logs the run to MLflow (experiment riskpipe-<model>; spec, params, input hashes, the
    calibrated LightGBM pipeline registered as riskpipe-<model> with alias `candidate`). Writes
    data/models/<model>/scores.parquet, run.json and train_summary.json.
    """
    from ethics.checklist import THRESHOLDS_FILE, thresholds_sha256
    from features.registry import feature_columns
    from models.spec import ModelSpecError, load_model_spec, spec_path
    from models.training import train_models
    from pipeline.io import file_sha256, read_parquet, write_json, write_parquet
    from pipeline.tracking import log_training_run, tracking_uri

    cfg = _load(params)
    paths = _paths(root)
    try:
        spec = load_model_spec(model)
    except ModelSpecError as exc:
        console.print(f"[red]Model spec error:[/red] {exc}")
        raise typer.Exit(2) from None
    features_file = paths.features / f"{model}.parquet"
    if not features_file.exists():
        console.print(f"[red]No features[/red] at {features_file}; run `riskpipe features --model {model}`.")
        raise typer.Exit(2)
    features = read_parquet(features_file)
    columns = feature_columns(spec)
    try:
        trained = train_models(features, spec, columns, lightgbm_threads=cfg.train.lightgbm_threads,
                               calibration_folds=cfg.train.calibration_folds)
    except (ValueError, KeyError) as exc:
        console.print(f"[red]Training stopped:[/red] {exc}")
        raise typer.Exit(1) from None
    model_dir = _model_dir(paths, model)
    write_parquet(trained.scores, model_dir / "scores.parquet")
    summary_file = write_json(trained.summary, model_dir / "train_summary.json")
    lineage = {str(p): file_sha256(p) for p in (features_file, paths.person_index, spec_path(model), params)
               if p.exists()}
    thresholds_path = _ethics_file(root, cfg.govern.thresholds_file, THRESHOLDS_FILE)
    train_rows = trained.scores["split"].eq("train").to_numpy() & features["outcome"].notna().to_numpy()
    uri = tracking_uri(root)
    run = log_training_run(
        uri=uri, model_name=model, model=trained.lightgbm,
        X_train=features.loc[train_rows, columns], y_train=features.loc[train_rows, "outcome"],
        spec=spec.model_dump(mode="json"), params={"train": cfg.train.model_dump(mode="json"),
                                                   "feature_columns": ",".join(columns)},
        lineage=lineage, summary_metrics={"rows": trained.summary["rows"],
                                          "lightgbm_best_iteration": trained.summary["lightgbm_best_iteration"]},
        artifacts=[summary_file], tags={"riskpipe.stage": "train", "riskpipe.model": model},
    )
    run.update({"feature_columns": columns, "calibration": trained.summary["calibration"],
                "thresholds_sha256": thresholds_sha256(thresholds_path.read_bytes()) if thresholds_path.exists()
                else None})
    write_json(run, model_dir / "run.json")
    console.print(f"[green]Trained[/green] {model}: riskpipe-{model} v{run['model_version']} (candidate), "
                  f"scores -> {model_dir / 'scores.parquet'}")


def _truth_probabilities(root: Path, paths: ProjectPaths, cfg: Params, model: str, scores):
    """``scores`` with ``p_true`` from synthetic truth (evaluation only), or unchanged when there is none."""
    from models.oracle import attach_true_probability, linked_to_true_person
    from pipeline.io import read_parquet
    from pipeline.keys import PseudonymisationKeyError, load_key
    from pipeline.linkage.evaluation import tokenise_truth_keys

    outcome_file, map_file = paths.truth / f"outcome_{model}.parquet", paths.truth / "person_map.parquet"
    if not (outcome_file.exists() and map_file.exists() and paths.person_index.exists()):
        return scores
    try:
        key = load_key(_key_file(root, cfg.pseudonymise.key_file))
    except PseudonymisationKeyError as exc:
        log.warning("Oracle baseline skipped (cannot tokenise truth): %s", exc)
        return scores
    person_map = linked_to_true_person(read_parquet(paths.person_index),
                                       tokenise_truth_keys(read_parquet(map_file), key))
    return attach_true_probability(scores, person_map, read_parquet(outcome_file))


@app.command()
def evaluate(model: str = GovernModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Evaluate out of time: discrimination, the operating point, calibration and fairness.

    On the test year (and the validation year) for LightGBM, logistic, the rule score and, where
    synthetic truth exists, the oracle (true probabilities) on the same rows. Writes
    reports/<model>/metrics.json (for `dvc metrics`), group_metrics.csv (small cells suppressed),
    calibration.csv and plots/*.png, and logs the same metrics dict and files to the training run.
    """
    from models.evaluation import (
        MODEL_SCORES,
        calibration_curves,
        evaluate_models,
        fairness_summary,
        fairness_table,
        labelled_rows,
    )
    from models.metrics.fairness import suppress_small_cells
    from models.plots import (
        calibration_by_group,
        plot_calibration,
        plot_group_error_rates,
        plot_precision_recall,
        plot_roc,
    )
    from models.spec import load_model_spec
    from pipeline.io import read_json, read_parquet, write_bytes, write_csv, write_json
    from pipeline.tracking import log_evaluation, tracking_uri

    cfg = _load(params)
    ev = cfg.evaluate
    paths = _paths(root)
    spec = load_model_spec(model)
    model_dir, reports = _model_dir(paths, model), paths.model_reports(model)
    scores = read_parquet(model_dir / "scores.parquet")
    fair_columns = [c for c in read_parquet(paths.features / f"{model}.parquet").columns if c.startswith("fair_")]
    fair = read_parquet(paths.features / f"{model}.parquet", columns=["person_id", "index_date", *fair_columns])
    scores = scores.merge(fair, on=["person_id", "index_date"], how="left", validate="one_to_one")
    scores = _truth_probabilities(root, paths, cfg, model, scores)
    capacity = spec.capacity_per_year
    metrics = evaluate_models(scores, capacity, n_boot=ev.n_boot, seed=ev.seed, n_bins=ev.reliability_bins)
    test = labelled_rows(scores, "test")
    tables, metrics["fairness"] = {}, {}
    for name in ("lightgbm", "logistic", "rule"):
        score_col, prob_col = MODEL_SCORES[name]
        tables[name] = fairness_table(test, score_col, prob_col, capacity, n_boot=ev.n_boot if name == "lightgbm"
                                      else 0, seed=ev.seed, min_n=ev.min_group_n,
                                      min_positives=ev.min_group_positives)
        metrics["fairness"][name] = fairness_summary(tables[name])
    published = suppress_small_cells(tables["lightgbm"])
    curves = calibration_curves(scores, "test", ev.reliability_bins)
    outs = [write_json(metrics, reports / "metrics.json"), write_csv(published, reports / "group_metrics.csv"),
            write_csv(curves, reports / "calibration.csv")]
    by_ethnicity = calibration_by_group(test, "score_lightgbm", "fair_ethnicity_group", min_n=ev.min_group_n,
                                        min_positives=ev.min_group_positives)
    plots = {"roc": plot_roc(scores), "precision_recall": plot_precision_recall(scores),
             "calibration": plot_calibration(curves),
             "calibration_by_ethnicity_group": plot_calibration(by_ethnicity, "LightGBM calibration by ethnicity "
                                                                "group (test)", by="group"),
             "group_error_rates": plot_group_error_rates(published)}
    outs += [write_bytes(png, reports / "plots" / f"{name}.png") for name, png in plots.items()]
    run = read_json(model_dir / "run.json")
    logged = log_evaluation(uri=tracking_uri(root), run_id=run["run_id"], metrics=metrics, artifacts=outs)
    t, rule = metrics["test"], metrics["baselines"]["rule"]

    def shown(value, digits: int = 3) -> str:
        # a small test year may have no positives: a metric is then undefined, not zero
        return "n/a" if value is None or value != value else f"{value:.{digits}f}"

    console.print(f"[green]Evaluated[/green] {model} on {metrics['test_index_date']}: AUROC {shown(t['auc'])}, "
                  f"precision@{capacity} {shown(t['precision_at_capacity'])} "
                  f"(rule {shown(rule['precision_at_capacity'])}),"
                  f" slope {shown(t['calibration_slope'], 2)}, O/E {shown(t['oe_ratio'], 2)}; "
                  f"{logged} metrics -> MLflow; "
                  f"{reports}")


@app.command()
def audit(
    scores: Path = typer.Option(..., "--scores", exists=True, dir_okay=False, help="Scored file (.csv or .parquet)."),
    label: str = typer.Option(..., "--label", help="Observed outcome column (0/1)."),
    score: str = typer.Option(..., "--score", help="Score column (higher = more risk)."),
    group: list[str] = typer.Option(..., "--group", help="Column to compare groups by (repeatable)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Flag scores >= T."),
    top_k: int | None = typer.Option(None, "--top-k", help="Flag the K highest scores."),
    top_frac: float | None = typer.Option(None, "--top-frac", help="Flag the highest fraction F of scores."),
    out: Path = typer.Option(..., "--out", help="Folder for audit.json and audit.html."),
    params: Path = ParamsOption,
) -> None:
    """Audit any scored file (a vendor tool, a rule score): discrimination, calibration, fairness by group.

    Exactly one of --threshold, --top-k, --top-frac says how the tool flags people. Writes
    DIR/audit.json and DIR/audit.html; groups below evaluate.min_group_n people or
    evaluate.min_group_positives outcomes are suppressed.
    """
    from pipeline.audit import audit_scores, render_audit_html
    from pipeline.io import read_parquet, write_json, write_text

    ev = _load(params).evaluate if params.exists() else None
    frame = read_parquet(scores) if scores.suffix.lower() == ".parquet" else _read_person_table(scores)
    settings = ({"n_boot": ev.n_boot, "seed": ev.seed, "min_n": ev.min_group_n,
                 "min_positives": ev.min_group_positives} if ev else {})
    try:
        result = audit_scores(frame, label=label, score=score, groups=group, threshold=threshold, top_k=top_k,
                              top_frac=top_frac, **settings)
    except (ValueError, KeyError) as exc:
        console.print(f"[red]Audit stopped:[/red] {exc}")
        raise typer.Exit(2) from None
    write_json(result, out / "audit.json")
    write_text(render_audit_html(result, label=label, score=score), out / "audit.html")
    o = result["overall"]
    auc = f"{o['auc']:.3f}" if o.get("auc") is not None else "n/a"
    console.print(f"[green]Audited[/green] {result['rows']:,} rows: AUROC {auc}, selection rate "
                  f"{o['selection_rate']:.3f}; {out / 'audit.json'}, {out / 'audit.html'}")


if __name__ == "__main__":  # pragma: no cover
    app()
