"""Risk-list commands: score (issue the list) and reidentify (for the data controller only).

Each parses its options and calls the stage in :mod:`pipeline.lists.stage`.
"""

from __future__ import annotations

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
def score(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Issue the risk list for the latest cohort from the `approved` model version (or a DRAFT).

    The approved version issues a list only while its approval still stands: the sign-off log is
    re-read (every human item's latest sign-off must still approve it) and reports/<model>/
    governance.json must back it; otherwise nothing is issued (exit 1), not even a draft.
    With no approved version, runs only when score.draft_mode is on, and every output then says
    "DRAFT — NOT APPROVED FOR OPERATIONAL USE". Selects the top of the cohort by capacity; gives
    token, rank, calibrated risk (%), band, reasons and protective factors (LightGBM contributions
    through the feature registry), sources holding the child with last record dates, model version
    and approval. Writes outputs/risk_lists/<model>/risk_list.{csv,xlsx,html} and appends the list's
    hash to the keyed, hash-chained outputs/audit.jsonl; the files appear only once that entry is
    written and anchored (no ledger key or a broken log: no list, exit 1).
    """
    from ethics.ledger_store import LedgerError
    from pipeline.core.tracking import TrackingError
    from pipeline.lists.release import NotApprovedError
    from pipeline.lists.stage import AuditLogRefusedError, run_score
    from pipeline.privacy.keys import PseudonymisationKeyError

    config = load_config(params)
    with exits_on(
        (NotApprovedError, "No list issued", 1),
        (TrackingError, "No list issued, MLflow error", 1),
        (AuditLogRefusedError, "Audit log refused the entry", 1, True),
        (LedgerError, "No list issued, ledger failure", 1, True),
        (PseudonymisationKeyError, "No list issued, pseudonymisation key", 1, True),
    ):
        issued = run_score(config.score, project_paths(root), model, govern=config.govern,
                           pseudo_key_file=key_file_path(root, config.pseudonymise.key_file))
    state = "[red]DRAFT - NOT APPROVED[/red]" if issued.draft else "[green]approved[/green]"
    console.print(f"{state} risk list of {issued.rows:,} from {issued.people_scored:,} people -> {issued.out_dir}; "
                  f"audit entry {issued.audit_hash[:12]}")


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

    The list must come from the current person index (its person_index column). A list made before
    a re-link is translated through the person ID log (data/person_ids/), each row saying in
    person_change whether its child was merged, split or is gone since; where the log cannot lead
    to the current index (no record of the list's index, or a new pseudonymisation key since),
    nothing is written and the command stops (exit 2): issue a new list.
    """
    from pipeline.lists.stage import OutputRefusedError, run_reidentify
    from pipeline.privacy.keys import PseudonymisationKeyError
    from pipeline.privacy.reidentify import ReidentifyError

    cfg = load_config(params)
    with exits_on(
        (OutputRefusedError, "Refused", 2),
        ((PseudonymisationKeyError, ReidentifyError), "reidentify stopped", 2),
    ):
        result = run_reidentify(cfg, project_paths(root), risk_list=risk_list, extract=extract, source=source,
                                id_column=id_column, out=out, force=force)
    console.print(f"[green]{result.held:,} of {result.rows:,} list rows[/green] matched to your IDs -> {result.out}")
    if result.changed:
        console.print(f"[yellow]{result.changed:,} list rows name a child merged, split or gone since the list was "
                      "made[/yellow]: see person_change and check them before any contact")
