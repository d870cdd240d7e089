"""Clerical review of linkage: ``review-linkage sample`` and ``review-linkage record``."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli.common import ParamsOption, RootOption, app, console, exits_on, key_file_path, load_config
from pipeline.core.paths import project_paths

review_app = typer.Typer(
    help="Clerical review of the person index: the data controller judges a stratified sample of pairs in clear "
         "text in their own environment; riskpipe estimates precision and recall for the gate.",
    no_args_is_help=True)
app.add_typer(review_app, name="review-linkage")


@review_app.command("sample")
def sample_command(
    out: Path = typer.Option(..., "--out", help="Folder for the review sheet and page (clear text): outside the "
                                                "project's data/, reports/ and outputs/."),
    per_stratum: int = typer.Option(30, "--per-stratum", min=1, help="Pairs drawn from each stratum."),
    seed: int = typer.Option(20260331, "--seed", help="Seed of the draw; keep it between runs so that the same "
                                                      "pairs are drawn again and their decisions carry over."),
    force: bool = typer.Option(False, "--force", help="Overwrite a sheet already in --out."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Draw a stratified sample of links and near-misses and show each pair's two records side by side.

    Strata: links by match probability (link threshold-0.99, 0.99-0.999, 0.999-1) and pairs not linked
    from the scoring threshold up (near-misses, including pairs over the link threshold that clustering
    refused). The records are looked up in data/staged with the pseudonymisation key and written, in
    clear, to --out only: linkage_review_sheet.csv (fill in decision: match / non-match / unsure, and
    reviewer) and linkage_review.html. Decisions made earlier on the same two records are filled in
    already. Inside the project only tokens are written (reports/linkage_clerical_sample.json).
    """
    from pipeline.linkage.clerical_review import ClericalReviewError
    from pipeline.linkage.review_stage import run_review_sample
    from pipeline.privacy.clear_outputs import ClearOutputRefused
    from pipeline.privacy.keys import PseudonymisationKeyError

    cfg = load_config(params)
    with exits_on((ClearOutputRefused, "Refused", 2), (PseudonymisationKeyError, "Pseudonymisation key unusable", 2),
                  (ClericalReviewError, "No sample drawn", 2)):
        drawn = run_review_sample(project_paths(root), key_file=key_file_path(root, cfg.pseudonymise.key_file),
                                  floor=cfg.link.threshold_match_probability,
                                  link_threshold=cfg.link.cluster_threshold_match_probability, out_dir=out,
                                  per_stratum=per_stratum, seed=seed, force=force)
    strata = ", ".join(f"{name} {n}" for name, n in drawn.strata.items())
    console.print(f"[green]{drawn.pairs} pairs drawn[/green] ({strata}); {drawn.carried} already decided. Read "
                  f"{drawn.page}, fill in {drawn.sheet}, then run `riskpipe review-linkage record --decisions "
                  f"{drawn.sheet} --by NAME`. Both files hold clear identifiers: keep them in your environment.")


@review_app.command("record")
def record_command(
    decisions: Path = typer.Option(..., "--decisions", help="The filled review sheet (CSV)."),
    by: str = typer.Option(..., "--by", help="Reviewer's name (fills blank reviewer cells; your OS user is recorded "
                                             "too)."),
    confidence: float = typer.Option(0.95, "--confidence", min=0.5, max=0.999, help="Level of the intervals."),
    root: Path = RootOption,
) -> None:
    """Estimate precision and recall from a filled review sheet and store them for the gate.

    Only pair_id, decision and reviewer are read; the clear columns are ignored. Writes
    reports/linkage_clerical_review.json (estimates, intervals, reviewers, decisions digest, the person
    index reviewed) and keeps every pair's decision (tokens only) in reports/linkage_clerical_decisions.csv.
    """
    from pipeline.linkage.clerical_review import ClericalReviewError
    from pipeline.linkage.review_stage import run_review_record

    with exits_on((ClericalReviewError, "Review not recorded", 2)):
        result = run_review_record(project_paths(root), decisions=decisions, reviewer=by, confidence=confidence)
    if result["not_evaluable"]:
        console.print(f"[yellow]Recorded, not evaluable:[/yellow] {result['not_evaluable']}")
        return
    line = f"precision {result['precision']:.4f} [{result['precision_ci'][0]:.4f}, {result['precision_ci'][1]:.4f}]"
    if result["recall"] is not None:
        line += f", recall {result['recall']:.4f} [{result['recall_ci'][0]:.4f}, {result['recall_ci'][1]:.4f}]"
    console.print(f"[green]Clerical review recorded[/green] ({result['pairs_reviewed']} pairs, "
                  f"{result['unsure']} unsure): {line} at {result['confidence']:.0%} confidence; "
                  "reports/linkage_clerical_review.json")
