"""Governance commands: signoff, govern (the gate), card (model card and ATRS) and audit-log verify."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli.common import (
    ModelOption,
    ParamsOption,
    RootOption,
    app,
    console,
    ethics_file_path,
    load_config,
    log,
    model_artifacts_dir,
    under_root,
)
from pipeline.core.paths import ProjectPaths, project_paths


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
    from pipeline.core.io import read_json

    return read_json(path) if path.exists() else None


def _read_signoff_entries(log_path: Path) -> tuple[list[dict], list[str]]:
    from ethics.ledger import parse_log, verify_chain
    from pipeline.core.io import read_lines

    lines = read_lines(log_path)
    check = verify_chain(lines)
    if not check.ok:
        return [], [f"sign-off log {log_path} fails verification: {p}" for p in check.problems]
    return parse_log(lines), []


def _context(root: Path, cfg, model: str) -> dict:
    from ethics.checklist import CONTEXTS_DIR
    from pipeline.core.io import read_yaml

    path = ethics_file_path(root, cfg.contexts_dir, CONTEXTS_DIR) / f"{model}.yaml"
    return (read_yaml(path) or {}) if path.exists() else {}


def _gate_evidence(root: Path, paths: ProjectPaths, cfg, model: str):
    from ethics.auto_checks import GateEvidence
    from ethics.checklist import THRESHOLDS_FILE, thresholds_sha256
    from features.registry import FEATURES
    from pipeline.core.io import read_csv_table, read_json, read_parquet

    reports, model_dir = paths.model_reports(model), model_artifacts_dir(paths, model)
    scores = read_parquet(model_dir / "scores.parquet", columns=["split", "index_year"])
    thresholds_path = ethics_file_path(root, cfg.thresholds_file, THRESHOLDS_FILE)
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
    model: str = ModelOption,
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
    from ethics.ledger import next_chained_line
    from ethics.signoff import SignOffError, make_signoff
    from pipeline.core.io import append_line_locked, read_yaml

    cfg = load_config(params).govern
    checklist = parse_checklist(read_yaml(ethics_file_path(root, cfg.checklist_file, CHECKLIST_FILE)))
    try:
        record = make_signoff(checklist, model=model, version=version, item=item, by=by, role=role,
                              decision=decision, evidence=evidence, note=note)
    except SignOffError as exc:
        console.print(f"[red]Sign-off refused:[/red] {exc}")
        raise typer.Exit(2) from None
    log_path = under_root(root, cfg.signoff_log)
    broken = f"{log_path} fails verification; run `riskpipe audit-log verify --log {log_path}`"
    try:
        entry = json.loads(append_line_locked(
            log_path, lambda lines: next_chained_line(lines, record, broken_message=broken)))
    except ValueError as exc:
        console.print(f"[red]Sign-off not recorded:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        from pipeline.core.tracking import tag_model_version, tracking_uri

        tag_model_version(f"riskpipe-{model}", version, {f"signoff.{item}": f"{decision} by {record['role']}"},
                          tracking_uri(root))
    except Exception as exc:  # noqa: BLE001 - the log is the record; MLflow tags are a convenience
        log.warning("Sign-off recorded but the MLflow tag was not set: %s", type(exc).__name__)
    console.print(f"[green]Sign-off recorded[/green]: {item} {decision} for riskpipe-{model} v{version} "
                  f"(log entry {entry['hash'][:12]})")


@app.command()
def govern(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Run the governance gate for the model's latest trained version: approved or blocked.

    Runs the auto checks on the evaluation outputs against ethics/thresholds.yaml, reads the
    sign-off log, writes reports/<model>/governance.json, tags the MLflow model version and moves
    the `approved` alias only when every item passes (a blocked version loses it). Logs
    governance.json to the version's MLflow run. Blocked is a normal state: the exit code is 0.
    """
    from ethics.checklist import CHECKLIST_FILE, THRESHOLDS_FILE, model_thresholds, parse_checklist
    from ethics.gate import evaluate_gate, unsigned_human_items
    from ethics.ledger import canonical_json, utc_now
    from ethics.signoff import latest_signoffs
    from pipeline.core.io import read_yaml, write_json

    cfg = load_config(params).govern
    paths = project_paths(root)
    checklist = parse_checklist(read_yaml(ethics_file_path(root, cfg.checklist_file, CHECKLIST_FILE)))
    thresholds = model_thresholds(read_yaml(ethics_file_path(root, cfg.thresholds_file, THRESHOLDS_FILE)), model)
    evidence = _gate_evidence(root, paths, cfg, model)
    version = str(evidence.run.get("model_version"))
    entries, log_problems = _read_signoff_entries(under_root(root, cfg.signoff_log))
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
        from pipeline.core.tracking import record_governance, tracking_uri

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
def card(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
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
    from pipeline.core.io import file_sha256, read_csv_table, read_json, read_yaml, write_json, write_text

    cfg = load_config(params).govern
    paths = project_paths(root)
    reports, model_dir = paths.model_reports(model), model_artifacts_dir(paths, model)
    thresholds_path = ethics_file_path(root, cfg.thresholds_file, THRESHOLDS_FILE)
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
        from pipeline.core.tracking import log_run_artifacts, tracking_uri

        log_run_artifacts(inputs.run.get("run_id"), outs, "governance", tracking_uri(root))
    except Exception as exc:  # noqa: BLE001 - the card is written either way
        log.warning("Model card written but not logged to MLflow: %s: %s", type(exc).__name__, exc)
    console.print(f"[green]Model card[/green] {outs[0]} (+ .md) and ATRS record {outs[2]}")


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
    from ethics.ledger import verify_chain
    from pipeline.core.io import read_lines

    cfg = load_config(params)
    targets = logs or [under_root(root, cfg.score.audit_log), under_root(root, cfg.govern.signoff_log)]
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
