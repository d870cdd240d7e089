"""Modelling commands: features, train, evaluate, and audit of any scored file."""

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
    key_file_path,
    load_config,
    log,
    model_artifacts_dir,
    read_person_table,
)
from pipeline.core.config import Params
from pipeline.core.paths import ProjectPaths, project_paths


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
    from pipeline.core.io import read_parquet, write_json, write_parquet

    cfg = load_config(params).features
    paths = project_paths(root)
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
def train(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
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
    from pipeline.core.io import file_sha256, read_parquet, write_json, write_parquet
    from pipeline.core.tracking import log_training_run, tracking_uri

    cfg = load_config(params)
    paths = project_paths(root)
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
    model_dir = model_artifacts_dir(paths, model)
    write_parquet(trained.scores, model_dir / "scores.parquet")
    summary_file = write_json(trained.summary, model_dir / "train_summary.json")
    lineage = {str(p): file_sha256(p) for p in (features_file, paths.person_index, spec_path(model), params)
               if p.exists()}
    thresholds_path = ethics_file_path(root, cfg.govern.thresholds_file, THRESHOLDS_FILE)
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
    from pipeline.core.io import read_parquet
    from pipeline.linkage.evaluation import tokenise_truth_keys
    from pipeline.privacy.keys import PseudonymisationKeyError, load_key

    outcome_file, map_file = paths.truth / f"outcome_{model}.parquet", paths.truth / "person_map.parquet"
    if not (outcome_file.exists() and map_file.exists() and paths.person_index.exists()):
        return scores
    try:
        key = load_key(key_file_path(root, cfg.pseudonymise.key_file))
    except PseudonymisationKeyError as exc:
        log.warning("Oracle baseline skipped (cannot tokenise truth): %s", exc)
        return scores
    person_map = linked_to_true_person(read_parquet(paths.person_index),
                                       tokenise_truth_keys(read_parquet(map_file), key))
    return attach_true_probability(scores, person_map, read_parquet(outcome_file))


@app.command()
def evaluate(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
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
        roc_table,
    )
    from models.spec import load_model_spec
    from pipeline.core.io import parquet_columns, read_json, read_parquet, write_bytes, write_csv, write_json
    from pipeline.core.tracking import log_evaluation, tracking_uri

    cfg = load_config(params)
    ev = cfg.evaluate
    paths = project_paths(root)
    spec = load_model_spec(model)
    model_dir, reports = model_artifacts_dir(paths, model), paths.model_reports(model)
    scores = read_parquet(model_dir / "scores.parquet")
    fair_columns = [c for c in parquet_columns(paths.features / f"{model}.parquet") if c.startswith("fair_")]
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
            write_csv(curves, reports / "calibration.csv"), write_csv(roc_table(scores), reports / "roc.csv")]
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
    from models.external_scores import audit_scores, render_audit_html
    from pipeline.core.io import read_parquet, write_json, write_text

    ev = load_config(params).evaluate if params.exists() else None
    frame = read_parquet(scores) if scores.suffix.lower() == ".parquet" else read_person_table(scores)
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
