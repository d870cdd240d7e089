"""Modelling commands: features, train, evaluate, and audit of any scored file."""

from __future__ import annotations

import os
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
from pipeline.core.paths import ProjectPaths, StageInputMissing, project_paths, require_input


def check_token_key(paths: ProjectPaths, key_file: Path) -> None:
    """Refuse tokens made under another key than the configured one (see pipeline/privacy/fingerprint.py).

    Raises:
        KeyFingerprintMismatch: data/pseudo or the person index was made with another key, or is incomplete.
    """
    from pipeline.privacy.fingerprint import optional_key, verify_pseudo_key

    verify_pseudo_key(paths, optional_key(key_file), linked=True)


@app.command()
def features(
    model: list[str] = typer.Option(..., "--model", help="Model spec name under models/specs (repeatable)."),
    person_index: Path | None = typer.Option(
        None, "--person-index", dir_okay=False,
        help="Build over this person index instead (e.g. data/linked_as_of/<date>/person_index.parquet); "
             "needs --out and one --model."),
    years: list[int] | None = typer.Option(None, "--years", help="Only these index years (repeatable; with --out)."),
    out: Path | None = typer.Option(None, "--out", help="Write the frame here (its report beside it, .json)."),
    as_of_test: bool = typer.Option(
        False, "--as-of-test",
        help="Build the test year's rows over the person index as it stood on each test index date "
             "(runs `link --as-of` for it) into data/features_as_of/<model>.parquet, labelled with the "
             "full build's outcome; evaluate reports the difference."),
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
    from features.stage import FeatureInputsMissing, run_features
    from models.spec import ModelSpecError
    from pipeline.impact.offers_made import read_offers_made
    from pipeline.privacy.keys import PseudonymisationKeyError

    config = load_config(params)
    cfg, paths = config.features, project_paths(root)
    with exits_on((ModelSpecError, "Model spec error", 2),
                  (PseudonymisationKeyError, "Key mismatch, no features built", 2)):
        check_token_key(paths, key_file_path(root, config.pseudonymise.key_file))
        if as_of_test or person_index is not None:
            if len(model) != 1 or (person_index is not None) == as_of_test or (person_index is not None) != \
                    (out is not None):
                console.print("[red]Usage[/red]: one --model, and either --as-of-test or --person-index with --out")
                raise typer.Exit(2)
            written = features_elsewhere(model[0], config, paths, person_index, years, out)
            console.print(f"[green]{written.model}[/green]: {written.rows:,} rows -> {written.frame_file}; "
                          f"{written.labelled:,} labelled; leakage check "
                          f"{'passed' if written.leakage_check_passed else 'FAILED'}")
            raise typer.Exit(0 if written.leakage_check_passed else 1)
        try:
            built = run_features(model, cfg, paths, read_offers=lambda: read_offers_made(paths))
        except FeatureInputsMissing as exc:
            console.print(f"[red]Missing inputs[/red] (run pseudonymise and link): {exc}")
            raise typer.Exit(2) from None
    for written in built:
        console.print(
            f"[green]{written.model}[/green]: {written.rows:,} rows -> {written.frame_file}; "
            f"{written.labelled:,} labelled, prevalence {written.prevalence:.4f}; "
            f"leakage check {'passed' if written.leakage_check_passed else 'FAILED'}"
        )
        if not written.leakage_check_passed:
            raise typer.Exit(1)


def features_elsewhere(model: str, config, paths: ProjectPaths, person_index: Path | None, years: list[int] | None,
                       out: Path | None):
    """``features --as-of-test`` (as-of link of each test index date, then features over it) or
    ``features --person-index``; errors as ``features`` maps them."""
    from features.stage import FeatureInputsMissing, run_features_as_of, run_features_over_index
    from pipeline.linkage.read import LinkInputError

    try:
        if person_index is not None:
            return run_features_over_index(model, config.features, paths, person_index_file=person_index,
                                           years=years or None, out=out)
        from pipeline.linkage.stage import as_of_outputs, run_link_as_of

        def link_as_of(day):
            report = run_link_as_of(paths, config.link, key_file_path(paths.root, config.pseudonymise.key_file), day)
            console.print(f"As-of person index ({day}): {report['people']:,} people, "
                          f"{report['compared_with_all_records']['share_joined_only_later']:.2%} of records joined "
                          "to others only through later records")
            return as_of_outputs(paths, day)[0]

        return run_features_as_of(model, config.features, paths, link_as_of)
    except (FeatureInputsMissing, LinkInputError) as exc:
        console.print(f"[red]Missing inputs[/red] (run pseudonymise, link and features): {exc}")
        raise typer.Exit(2) from None


@app.command()
def train(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Train LightGBM, an L2 logistic regression and the spec's rule score; calibrate; log to MLflow.

    Splits data/features/<model>.parquet by index year (spec `split`: train years, validation year,
    test year; never shuffled), fits LightGBM (its number of trees chosen on the training years, each held
    out in turn, where the spec cross-fits calibration, else on the latest training year; then refitted on
    every training year), calibrates each learner on the validation year (LightGBM also on the training
    years scored out of fold; isotonic or sigmoid by cross-fitted log-loss), scores every
    row, and logs the run to MLflow (experiment riskpipe-<model>; spec, params, input hashes, the
    calibrated LightGBM pipeline registered as riskpipe-<model> with alias `candidate`). Writes
    data/models/<model>/scores.parquet, run.json and train_summary.json. Before training, registers the
    model's thresholds and checklist in ethics/ledger/preregistration.jsonl (once: the first registration holds,
    and the gate judges every later version against it).
    """
    from ethics.inputs import thresholds_file
    from ethics.ledger_store import LedgerError
    from ethics.release_store import ChecklistIncompleteError, preregister
    from features.registry import feature_columns
    from models.spec import ModelSpecError
    from models.train_stage import FeaturesMissing, TrainingStopped, run_train
    from pipeline.core.tracking import TrainingInterrupted

    cfg = load_config(params)
    paths = project_paths(root)
    pseudo_key_file = key_file_path(root, cfg.pseudonymise.key_file)
    with exits_on(
        (LedgerError, "Thresholds and checklist not pre-registered, ledger failure", 2, True),
        (ChecklistIncompleteError, "Not trained", 2, True),
        (ModelSpecError, "Model spec error", 2),
        (TrainingStopped, "Training stopped", 1),
        (TrainingInterrupted, "Training interrupted", 1),
    ):
        try:
            trained = run_train(model, cfg.train, paths, params_file=params,
                                thresholds_file=thresholds_file(paths, cfg.govern), choose_inputs=feature_columns,
                                preregister=lambda m: preregister(paths, cfg.govern, m,
                                                                  pseudo_key_file=pseudo_key_file))
        except FeaturesMissing as exc:
            console.print(f"[red]No features[/red] at {exc.path}; run `riskpipe features --model {model}`.")
            raise typer.Exit(2) from None
    console.print(f"[green]Trained[/green] {model}: riskpipe-{model} v{trained.run['model_version']} (candidate), "
                  f"scores -> {trained.scores_file}")


@app.command()
def evaluate(model: str = ModelOption, params: Path = ParamsOption, root: Path = RootOption,
             workers: int = typer.Option(min(2, os.cpu_count() or 1), "--workers", min=1,
                                         help="Years evaluated at once, each in its own process (the same figures "
                                              "whatever the number).")) -> None:
    """Evaluate out of time: discrimination, the operating point, calibration and fairness.

    On the test year (and the validation year) for LightGBM, logistic, the rule score and, where
    synthetic truth exists, the generator's own probability on the same rows. Writes
    reports/<model>/metrics.json (for `dvc metrics`), group_metrics.csv (groups under the gate's min_group_size
    in the thresholds file suppressed), calibration.csv and plots/*.png, and logs the same metrics dict and files to
    the training run.
    """
    from ethics.inputs import read_thresholds
    from features.populations import get_population
    from models.evaluate_stage import run_evaluate
    from models.spec import load_model_spec
    from pipeline.privacy.keys import PseudonymisationKeyError

    cfg = load_config(params)
    population = get_population(load_model_spec(model).population)
    paths = project_paths(root)
    with exits_on((PseudonymisationKeyError, "Key mismatch, not evaluated", 2),
                  (StageInputMissing, "Input missing", 2, True)):
        check_token_key(paths, key_file_path(root, cfg.pseudonymise.key_file))
        # every input before any output: a train killed before run.json must not leave half an evaluation
        for needed in (paths.features_table(model), paths.model_artifacts(model) / "scores.parquet",
                       paths.model_artifacts(model) / "run.json"):
            require_input(needed, root)
        evaluated = run_evaluate(model, cfg.evaluate, project_paths(root),
                                 key_file=key_file_path(root, cfg.pseudonymise.key_file),
                                 fairness_attributes=population.fairness_attributes,
                                 min_group_n=read_thresholds(paths, cfg.govern, model).min_group_size,
                                 workers=workers)
    metrics = evaluated.metrics
    t, rule = metrics["test"], metrics["baselines"]["rule"]

    def shown(value, digits: int = 3) -> str:
        # a small test year may have no positives: a metric is then undefined, not zero
        return "n/a" if value is None or value != value else f"{value:.{digits}f}"

    console.print(f"[green]Evaluated[/green] {model} on {metrics['test_index_date']}: AUROC {shown(t['auc'])}, "
                  f"precision@{metrics['capacity']} {shown(t['precision_at_capacity'])} "
                  f"(rule {shown(rule['precision_at_capacity'])}),"
                  f" slope {shown(t['calibration_slope'], 2)}, O/E {shown(t['oe_ratio'], 2)}; "
                  f"{evaluated.metrics_logged} metrics -> MLflow; "
                  f"{evaluated.reports_dir}")
    as_of = metrics.get("test_as_of_linkage")
    if as_of:
        m = as_of["metrics"]
        console.print(f"Linked as on {as_of['index_date']}: AUROC {shown(m['auc'])}, "
                      f"precision@{metrics['capacity']} {shown(m['precision_at_capacity'])} "
                      f"(all records {shown(t['precision_at_capacity'])}) over {as_of['rows_labelled']:,} rows")


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
    root: Path = RootOption,
) -> None:
    """Audit any scored file (a vendor tool, a rule score): discrimination, calibration, fairness by group.

    Exactly one of --threshold, --top-k, --top-frac says how the tool flags people. Writes
    DIR/audit.json and DIR/audit.html; groups below the gate's default min_group_size (the thresholds file)
    people or evaluate.min_group_positives outcomes are suppressed. A --group column that identifies people (NHS
    number, IDs, names, one group per person) is refused; a file holding clear identifiers is never
    audited into the project's data/, reports/ or outputs/.
    """
    from ethics.inputs import read_thresholds
    from models.external_scores_stage import AuditStopped, run_audit

    cfg = load_config(params) if params.exists() else None
    # no model: the thresholds file's defaults decide the smallest group shown, as for a model without overrides
    smallest = read_thresholds(project_paths(root), cfg.govern, "").min_group_size if cfg else None
    with exits_on((AuditStopped, "Audit stopped", 2)):
        written = run_audit(scores, label=label, score=score, groups=group, out=out, threshold=threshold,
                            top_k=top_k, top_frac=top_frac, params=cfg.evaluate if cfg else None,
                            min_group_n=smallest, paths=project_paths(root))
    o = written.result["overall"]
    auc = f"{o['auc']:.3f}" if o.get("auc") is not None else "n/a"
    console.print(f"[green]Audited[/green] {written.result['rows']:,} rows: AUROC {auc}, selection rate "
                  f"{o['selection_rate']:.3f}; {written.json_file}, {written.html_file}")
