"""Risk-list commands: score (issue the list) and reidentify (for the data controller only)."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli.common import (
    ModelOption,
    ParamsOption,
    RootOption,
    app,
    console,
    key_file_path,
    load_config,
    model_artifacts_dir,
    under_root,
)
from pipeline.core.paths import ProjectPaths, project_paths


def _scoring_frame(paths: ProjectPaths, model: str, feature_columns: list[str]):
    """Feature rows of the latest cohort: the `score` split of scores.parquet, else the latest index date."""
    from pipeline.core.io import read_parquet

    features = read_parquet(paths.features / f"{model}.parquet")
    scores = read_parquet(model_artifacts_dir(paths, model) / "scores.parquet",
                          columns=["person_id", "index_date", "split"])
    wanted = scores[scores["split"] == "score"][["person_id", "index_date"]]
    if wanted.empty:
        rows = features[features["index_date"] == features["index_date"].max()]
    else:
        rows = features.merge(wanted, on=["person_id", "index_date"], how="inner")
    return rows.reset_index(drop=True)


@app.command()
def score(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Issue the risk list for the latest cohort from the `approved` model version (or a DRAFT).

    With no approved version, runs only when score.draft_mode is on, and every output then says
    "DRAFT — NOT APPROVED FOR OPERATIONAL USE". Selects the top of the cohort by capacity; gives
    token, rank, calibrated risk (%), band, reasons and protective factors (LightGBM contributions
    through the feature registry), sources holding the child with last record dates, model version
    and approval. Writes outputs/risk_lists/<model>/risk_list.{csv,xlsx,html} and appends the list's
    hash to the hash-chained score.audit_log.
    """
    import json

    from ethics.ledger import list_issue_record, next_chained_line
    from features.registry import FEATURES
    from pipeline.core.io import (
        append_line_locked,
        file_sha256,
        read_json,
        read_parquet,
        write_bytes,
        write_text,
        write_xlsx_sheets,
    )
    from pipeline.core.tracking import approved_model_version, load_sklearn_model, tracking_uri
    from pipeline.lists.build import (
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

    cfg = load_config(params).score
    paths = project_paths(root)
    reports, model_dir = paths.model_reports(model), model_artifacts_dir(paths, model)
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
    audit_path = under_root(root, cfg.audit_log)
    broken = f"{audit_path} fails verification; the list was written but not logged"
    try:
        entry = json.loads(append_line_locked(
            audit_path, lambda lines: next_chained_line(lines, record, broken_message=broken)))
    except ValueError as exc:
        console.print(f"[red]Audit log refused the entry:[/red] {exc}")
        raise typer.Exit(1) from None
    state = "[red]DRAFT - NOT APPROVED[/red]" if release.draft else "[green]approved[/green]"
    console.print(f"{state} risk list of {len(risk_list):,} from {len(cohort):,} people -> {out_dir}; "
                  f"audit entry {entry['hash'][:12]}")


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
    from pipeline.core.io import read_csv_table, read_parquet, write_csv
    from pipeline.privacy.keys import PseudonymisationKeyError, load_key
    from pipeline.privacy.reidentify import NOT_HELD, ReidentifyError, reidentify_list

    cfg = load_config(params)
    paths = project_paths(root)
    target = out.resolve()
    guarded = [d.resolve() for d in (paths.data, paths.reports, paths.outputs)]
    if any(target.is_relative_to(d) for d in guarded):
        console.print("[red]Refused:[/red] re-identified lists must not be written inside data/, reports/ or outputs/")
        raise typer.Exit(2)
    if out.exists() and not force:
        console.print(f"[red]Refused:[/red] {out} exists; pass --force to overwrite")
        raise typer.Exit(2)
    try:
        key = load_key(key_file_path(root, cfg.pseudonymise.key_file))
        result = reidentify_list(read_csv_table(risk_list), read_parquet(paths.person_index), read_csv_table(extract),
                                 id_column=id_column, source=source, key=key)
    except (PseudonymisationKeyError, ReidentifyError) as exc:
        console.print(f"[red]reidentify stopped:[/red] {exc}")
        raise typer.Exit(2) from None
    write_csv(result, out)
    held = int((result["local_id"] != NOT_HELD).sum())
    console.print(f"[green]{held:,} of {len(result):,} list rows[/green] matched to your IDs -> {out}")
