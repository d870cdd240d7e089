"""Governance commands: signoff, govern (the gate), card (model card and ATRS) and audit-log verify.

Each parses its options and calls the stage in :mod:`ethics.govern_stage` or :mod:`ethics.card.stage`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli.common import ModelOption, ParamsOption, RootOption, app, console, load_config
from pipeline.core.paths import project_paths


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
    from ethics.govern_stage import SignOffNotRecordedError, record_signoff
    from ethics.signoff import SignOffError

    cfg = load_config(params).govern
    try:
        entry = record_signoff(cfg, project_paths(root), model=model, version=version, item=item, by=by, role=role,
                               decision=decision, evidence=evidence, note=note)
    except SignOffError as exc:
        console.print(f"[red]Sign-off refused:[/red] {exc}")
        raise typer.Exit(2) from None
    except SignOffNotRecordedError as exc:
        console.print(f"[red]Sign-off not recorded:[/red] {exc}")
        raise typer.Exit(2) from None
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
    from ethics.gate import unsigned_human_items
    from ethics.govern_stage import run_govern

    decision = run_govern(load_config(params).govern, project_paths(root), model)
    result = decision.result
    colour = "green" if result["status"] == "approved" else "yellow"
    console.print(f"[{colour}]riskpipe-{model} v{decision.version}: {result['status']}[/{colour}] -> {decision.path}")
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
    from ethics.card.stage import run_card

    html, _, atrs = run_card(load_config(params).govern, project_paths(root), model)
    console.print(f"[green]Model card[/green] {html} (+ .md) and ATRS record {atrs}")


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
    from ethics.govern_stage import ledger_files, verify_ledger_files

    cfg = load_config(params)
    targets = logs or ledger_files(cfg, project_paths(root))
    broken = False
    for path, check in verify_ledger_files(targets):
        if check is None:
            console.print(f"{path}: no log yet")
        elif check.ok:
            console.print(f"[green]{path}: {check.entries} entries, chain intact[/green] (last hash {check.last_hash})")
        else:
            broken = True
            console.print(f"[red]{path}: chain broken[/red]")
            for problem in check.problems:
                console.print(f"  - {problem}")
    if broken:
        raise typer.Exit(1)
