"""Governance commands: signoff, preregister, govern (the gate), card (model card and ATRS), audit-log verify.

Each parses its options and calls the stage in :mod:`ethics.signoff_stage`, :mod:`ethics.govern_stage` or
:mod:`ethics.card.stage`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from pipeline.cli.common import (
    ModelOption,
    ParamsOption,
    RootOption,
    app,
    console,
    exits_on,
    key_file_path,
    load_config,
)
from pipeline.core.paths import project_paths


@app.command()
def signoff(
    model: str = ModelOption,
    release: str = typer.Option("", "--release", help="Release digest being signed (reports/<model>/release.json "
                                "release_digest)."),
    version: str = typer.Option("", "--version", help="Registered model version: alone, signs its latest recorded "
                                "release; with --release, must be that release's version."),
    item: str = typer.Option(..., "--item", help="Checklist item id (a human item)."),
    by: str = typer.Option(..., "--by", help="Name of the person signing."),
    role: str = typer.Option(..., "--role", help="DPO, Caldicott Guardian, SIRO, service lead, lead data scientist."),
    decision: str = typer.Option(..., "--decision", help="approve or reject."),
    evidence: str = typer.Option(..., "--evidence", help="Reference to the evidence (document, minute, link)."),
    note: str = typer.Option("", "--note", help="Optional note."),
    expires: datetime | None = typer.Option(None, "--expires", formats=["%Y-%m-%d"], help="Last day the approval "
                                            "stands (YYYY-MM-DD, e.g. the DPIA's review date); after it the "
                                            "release is blocked and any approval from it is revoked."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Record a human sign-off of one checklist item for one release.

    A release (written by `riskpipe govern` to reports/<model>/release.json) binds the registered
    version to its model files, run, features, pre-registered thresholds, checklist and evaluation
    outputs by digests; only sign-offs naming its release_digest count for it. Appends to the keyed,
    hash-chained, append-only sign-off log (ethics/ledger/signoffs.jsonl) the release digest and its version,
    with your operating-system identity beside --by, and tags the MLflow model version. Refused for a
    model params.yaml does not list, a version the MLflow registry does not hold, a release digest
    govern never recorded, or a person (by name or OS identity) who already signed this release in
    another role. The latest decision per item and release counts; run `riskpipe govern` next. Any
    MLflow failure ends with exit code 1.
    """
    from ethics.signoff import SignOffError
    from ethics.signoff_stage import SignOffNotRecordedError, SignOffNotTaggedError, record_signoff
    from pipeline.core.tracking import TrackingError

    config = load_config(params)
    with exits_on(
        (SignOffError, "Sign-off refused", 2),
        (SignOffNotRecordedError, "Sign-off not recorded", 2),
        (TrackingError, "Sign-off not recorded, MLflow error", 1),
    ):
        try:
            entry = record_signoff(config.govern, project_paths(root), models=config.models, model=model,
                                   version=version or None, release=release or None, item=item, by=by, role=role,
                                   decision=decision, evidence=evidence, note=note,
                                   expires=expires.date() if expires else None,
                                   pseudo_key_file=key_file_path(root, config.pseudonymise.key_file))
        except SignOffNotTaggedError as exc:
            console.print(f"[red]MLflow error:[/red] sign-off {exc}")
            raise typer.Exit(1) from None
    console.print(f"[green]Sign-off recorded[/green]: {item} {decision} for riskpipe-{model} v{entry['version']} "
                  f"release {entry['release']} (log entry {entry['hash'][:12]})", soft_wrap=True)


@app.command()
def preregister(
    model: str = ModelOption,
    by: str = typer.Option(..., "--by", help="Name of the person re-registering."),
    role: str = typer.Option(..., "--role", help="DPO, SIRO or Caldicott Guardian."),
    reason: str = typer.Option(..., "--reason", help="Why the thresholds or checklist change (shown on every "
                               "later card and governance.json)."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Re-register a model's thresholds and checklist, as they are now, for its next versions.

    `riskpipe train` registers each model's thresholds (ethics/thresholds.yaml, or govern.thresholds_file)
    and checklist once, before the first evaluation, in the keyed log ethics/ledger/preregistration.jsonl;
    editing them afterwards blocks every version ("thresholds changed after they were pre-registered").
    This command is the deliberate way to change them: it appends a re-registration naming you (with your
    operating-system identity), your role and your reason. It applies to versions trained after it: a
    version trained before it stays judged against the registration it was trained under, and is
    blocked while the thresholds on disk differ from those. Refused when nothing changed, for a role
    other than DPO, SIRO or Caldicott Guardian, without a reason, or for a checklist without its
    mandatory items.
    """
    from ethics.ledger_store import LedgerError
    from ethics.release_store import ReregistrationRefused
    from ethics.signoff import SignOffError
    from ethics.signoff_stage import record_reregistration

    config = load_config(params)
    with exits_on((SignOffError, "Re-registration refused", 2), (ReregistrationRefused, "Re-registration refused", 2),
                  (LedgerError, "Re-registration not recorded", 2, True)):
        entry = record_reregistration(config.govern, project_paths(root), models=config.models, model=model, by=by,
                                      role=role, reason=reason,
                                      pseudo_key_file=key_file_path(root, config.pseudonymise.key_file))
    console.print(f"[green]Re-registered[/green] riskpipe-{model}: thresholds {entry['thresholds_sha256'][:12]}, "
                  f"checklist {entry['checklist_sha256'][:12]} (log entry {entry['hash'][:12]}); versions trained "
                  "from now on are judged against them", soft_wrap=True)


@app.command()
def govern(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Run the governance gate for the release of the model's latest trained version: approved or blocked.

    Builds the release (model files' SHA-256 from MLflow, run, features, pre-registered thresholds,
    checklist, evaluation outputs, capacity, base rate), records it in ethics/ledger/releases.jsonl and
    writes reports/<model>/release.json: sign-offs name its release_digest. Runs the auto checks on
    the evaluation outputs against the thresholds as first pre-registered for the model (a checklist
    lacking a mandatory item, or not the one pre-registered, blocks), reads the sign-off log (only
    sign-offs of this release count), writes reports/<model>/governance.json, tags the MLflow model version and moves
    the `approved` alias only when every item passes (a blocked version loses it). When an older
    version holds `approved`, re-judges its sign-offs too and removes the alias at once if any
    was withdrawn. Logs governance.json to the version's MLflow run. Blocked is a normal state:
    the exit code is 0; any MLflow failure is an error with exit code 1.
    """
    from ethics.card.evidence import card_sha256
    from ethics.gate import unsigned_human_items
    from ethics.govern_stage import run_govern
    from ethics.ledger_store import LedgerError
    from pipeline.core.tracking import TrackingError

    with exits_on(
        (LedgerError, "No governance decision, ledger failure", 2, True),
        (TrackingError, "Governance decision written but MLflow failed; nothing may be released", 1),
    ):
        config, paths = load_config(params), project_paths(root)
        decision = run_govern(config.govern, paths, model,
                              card_digest=lambda: card_sha256(paths, config.govern, model),
                              pseudo_key_file=key_file_path(root, config.pseudonymise.key_file))
    result = decision.result
    colour = "green" if result["status"] == "approved" else "yellow"
    console.print(f"[{colour}]riskpipe-{model} v{decision.version}: {result['status']}[/{colour}] -> {decision.path}; "
                  f"release {result['release_digest']}", soft_wrap=True)
    unsigned = unsigned_human_items(result)
    if unsigned:
        console.print(f"Unsigned human items ({len(unsigned)}): {', '.join(unsigned)}")
    for reason in result["reasons"]:
        if reason.split(":")[0] not in unsigned:
            console.print(f"  - {reason}")
    review = result.get("approved_version_review")
    if review and review["status"] == "revoked":
        console.print(f"[red]riskpipe-{model} v{review['version']}: approval revoked[/red] (`approved` alias removed)")
        for reason in review["reasons"]:
            console.print(f"  - {reason}")


@app.command()
def card(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Write the model card (self-contained HTML + Markdown twin) and the ATRS record.

    Reads metrics.json, group_metrics.csv, calibration.csv, plots/*.png, governance.json, run.json,
    linkage.json, the model spec and ethics/contexts/<model>.yaml. Writes reports/<model>/
    model_card.html, model_card.md and atrs.json, and logs them to the version's MLflow run
    (an MLflow failure there is an error with exit code 1). The card's evidence (everything but the gate's
    decision) must be the one the gate's release names: a context, spec, metric or template changed since
    `riskpipe govern` is refused (exit 1) until govern records the new card in a new release.
    """
    from ethics.card.evidence import CardMismatchError
    from ethics.card.stage import run_card
    from pipeline.core.tracking import TrackingError

    with exits_on((TrackingError, "Model card written but not logged to MLflow", 1),
                  (CardMismatchError, "Model card not written", 1)):
        html, _, atrs = run_card(load_config(params).govern, project_paths(root), model)
    console.print(f"[green]Model card[/green] {html} (+ .md) and ATRS record {atrs}")


audit_app = typer.Typer(help="The keyed, hash-chained audit and sign-off logs.", no_args_is_help=True)
app.add_typer(audit_app, name="audit-log")


@audit_app.command("verify")
def audit_log_verify(
    logs: list[str] | None = typer.Option(None, "--log", help="Which log: audit (outputs/audit.jsonl), signoffs "
                                          "(ethics/ledger/signoffs.jsonl), preregistration "
                                          "(ethics/ledger/preregistration.jsonl) or releases "
                                          "(ethics/ledger/releases.jsonl) [default: all]."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Verify the keyed logs against their chains and anchors; exit 1 if any log was tampered with.

    Each log's entries must chain under the ledger key ($RISKPIPE_LEDGER_KEY or .secrets/ledger.key),
    and its entry count and head hash must match its anchors: reports/ledger/<log>.anchor.json, the
    MLflow experiment riskpipe-ledger and (sign-offs) each reports/<model>/governance.json. Catches a
    deleted log, lines removed from the end, an edited, inserted, removed or reordered line, a chain
    rewritten with recomputed hashes, and an anchor that does not match. Exit 2 without a usable key.
    """
    from ethics.govern_stage import verify_ledger_logs
    from ethics.ledger_store import LEDGER_LOGS, LedgerError

    unknown = sorted(set(logs or ()) - set(LEDGER_LOGS))
    if unknown:
        console.print(f"[red]Unknown log(s) {', '.join(unknown)}:[/red] choose from {', '.join(LEDGER_LOGS)}")
        raise typer.Exit(2)
    paths = project_paths(root)
    with exits_on((LedgerError, "Ledger not verified", 2, True)):
        reports = verify_ledger_logs(paths, logs or LEDGER_LOGS,
                                     pseudo_key_file=key_file_path(root, load_config(params).pseudonymise.key_file))
    for report in reports:
        shown = report.path.relative_to(paths.root)
        if report.ok and not report.exists:
            console.print(f"{shown}: no log yet", soft_wrap=True)
        elif report.ok:
            console.print(f"[green]{shown}: {report.chain.entries} entries, chain and anchors intact[/green] "
                          f"(head {report.chain.last_hash})", soft_wrap=True)
        else:
            console.print(f"[red]{shown}: FAILS verification[/red]", soft_wrap=True)
            for problem in report.problems:
                console.print(f"  - {shown}: {problem}", soft_wrap=True, markup=False)
    if not all(report.ok for report in reports):
        raise typer.Exit(1)
