"""The evaluate stage: one model's scores judged out of time, as the model will be used.

Called by ``riskpipe evaluate``. :func:`evaluate_scores` and :func:`render_evaluation_plots` are pure
(frames in, metrics, tables and PNG bytes out); :func:`run_evaluate` reads
``data/models/<model>/scores.parquet``, the ``fair_*`` attributes of ``data/features/<model>.parquet``
and, where synthetic truth exists, ``data/truth/`` (evaluation is the only stage that may read it), and
``data/features_as_of/<model>.parquet`` when there (scored with the trained model loaded from MLflow), then
writes ``reports/<model>/`` through ``pipeline.core.io`` and logs the same metrics and files to the
training run through ``pipeline.core.tracking``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models import adult_evaluation, care_home_evaluation, ld_register_evaluation
from models.as_of_evaluation import as_of_linkage_block, score_rows
from models.evaluation import (
    GENERATOR,
    MODEL_SCORES,
    calibration_curves,
    evaluate_backtest,
    evaluate_models,
    fairness_summary,
    fairness_table,
    labelled_rows,
)
from models.metrics.fairness import suppress_small_cells
from models.offer_split import OFFERED, performance_by_offer
from models.oracle import attach_true_probability, linked_to_true_person, recorded_label_probability
from models.plots import (
    calibration_by_group,
    plot_calibration,
    plot_group_error_rates,
    plot_precision_recall,
    plot_roc,
    roc_table,
)
from models.score_columns import check_score_columns
from models.spec import ModelSpec, load_model_spec
from pipeline.core.config import EvaluateParams
from pipeline.core.io import parquet_columns, read_json, read_parquet, write_bytes, write_csv, write_json
from pipeline.core.paths import ProjectPaths
from pipeline.core.tracking import load_sklearn_model, log_evaluation, tracking_uri
from pipeline.privacy.keys import PseudonymisationKeyError, load_key

log = logging.getLogger(__name__)

KEYS = ["person_id", "index_date"]
FAIRNESS_MODELS = tuple(m for m in MODEL_SCORES if m != GENERATOR)  # the generator is a yardstick, not a model


@dataclass(frozen=True)
class Evaluation:
    """Everything the evaluate stage publishes for one model.

    Attributes:
        metrics: the metrics.json tree (``evaluate_models`` plus ``fairness``: per model, the largest
            gaps between groups).
        group_metrics: LightGBM's figures per group on the test year, small cells blanked.
        calibration: reliability table of every model on the test year
            (``model, bin, mean_predicted, observed, n``).
        roc: ROC curves on a shared false-positive-rate grid (``fpr`` and one column per model).
        calibration_by_ethnicity: LightGBM's reliability table per ethnicity group, small groups left out.
    """

    metrics: dict
    group_metrics: pd.DataFrame
    calibration: pd.DataFrame
    roc: pd.DataFrame
    calibration_by_ethnicity: pd.DataFrame


@dataclass(frozen=True)
class EvaluationRun:
    """What ``run_evaluate`` wrote: the metrics, the files, and how many metrics went to MLflow."""

    metrics: dict
    files: list[Path]
    metrics_logged: int
    reports_dir: Path


def attach_fairness_attributes(scores: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """``scores`` with each row's ``fair_*`` attributes (left join, one row per person x index date).

    Args:
        scores: ``person_id, index_date`` and the score columns (scores.parquet).
        attributes: ``person_id, index_date`` and ``fair_*`` columns from the features frame.
    """
    return scores.merge(attributes, on=KEYS, how="left", validate="one_to_one")


def fairness_tables(test: pd.DataFrame, capacity: int, params: EvaluateParams,
                    attributes: Mapping[str, Sequence[str]], tie_seed: int, *,
                    min_group_n: int) -> dict[str, pd.DataFrame]:
    """Each model's ``fairness_table`` at capacity on the test rows (bootstrap CIs for LightGBM only), by
    ``attributes`` (audited attribute -> ``fair_*`` columns: the spec's population's); ties at the cut
    broken with ``tie_seed`` (the spec's seed); groups under ``min_group_n`` people (the gate's
    ``min_group_size``) or ``params.min_group_positives`` outcomes flagged ``suppressed``."""
    tables = {}
    for name in FAIRNESS_MODELS:
        score_col, prob_col = MODEL_SCORES[name]
        tables[name] = fairness_table(test, score_col, prob_col, capacity, attributes=attributes, tie_seed=tie_seed,
                                      n_boot=params.n_boot if name == "lightgbm" else 0, seed=params.seed,
                                      min_n=min_group_n, min_positives=params.min_group_positives)
    return tables


def backtest_fairness(backtest: pd.DataFrame, scores: pd.DataFrame, capacity: int, params: EvaluateParams,
                      attributes: Mapping[str, Sequence[str]], tie_seed: int, *, min_group_n: int) -> dict:
    """LightGBM's figures per group on the test year as the deployment-faithful backtest scored it.

    The live list comes from a model trained as the backtest is, so its groups' error rates and calibration are
    the ones a list would carry; the governance gate judges these beside the standard test year's
    (:func:`ethics.gate_evidence.judged_group_tables`).

    Args:
        backtest: the backtest's labelled test-year scores (``backtest_scores.parquet``).
        scores: the standard scores with the ``fair_*`` attributes (the same people and index dates).

    Returns:
        ``{"fairness": largest gaps per attribute, "group_metrics": rows of the group table, small cells
        blanked, NaN as None}``.
    """
    fair = [c for c in scores.columns if c.startswith("fair_")]
    rows = backtest.merge(scores[[*KEYS, *fair]], on=KEYS, how="left", validate="one_to_one")
    score_col, prob_col = MODEL_SCORES["lightgbm"]
    table = fairness_table(rows, score_col, prob_col, capacity, attributes=attributes, tie_seed=tie_seed,
                           n_boot=params.n_boot, seed=params.seed, min_n=min_group_n,
                           min_positives=params.min_group_positives)
    shown = suppress_small_cells(table)
    return {"fairness": fairness_summary(table),
            "group_metrics": shown.astype(object).where(shown.notna(), None).to_dict("records")}


def evaluate_scores(scores: pd.DataFrame, capacity: int, params: EvaluateParams,
                    attributes: Mapping[str, Sequence[str]], *, tie_seed: int, min_group_n: int,
                    backtest: pd.DataFrame | None = None, backtest_protocol: Mapping | None = None,
                    workers: int = 1) -> Evaluation:
    """Discrimination, the operating point at ``capacity``, calibration and fairness of every model.

    Args:
        scores: scores.parquet columns (``person_id, index_date, split, outcome, score_*,
            probability_rule, margin_*``), the ``fair_*`` attributes and, with synthetic truth, ``p_true``
            (and ``true_outcome``: then ``p_true`` is first made the probability of the recorded label,
            :func:`models.oracle.recorded_label_probability`, and ``generator_recording`` says how).
        capacity: people the service can help each year (the spec's ``capacity_per_year``).
        params: the ``evaluate`` section of params.yaml.
        attributes: audited attribute -> ``fair_*`` columns (the population's ``fairness_attributes``).
        tie_seed: the spec's seed: ties at the capacity cut are broken by a draw seeded with it, as the
            issued list breaks them (:mod:`models.selection`).
        min_group_n: the smallest group whose figures are published: the gate's ``min_group_size`` for the
            model (the thresholds file), so group_metrics.csv and the gate's small-cell check agree.
        backtest: the deployment-faithful backtest's test-year scores (``backtest_scores.parquet``); with
            ``backtest_protocol`` (run.json ``backtest``) they add ``metrics["backtest"]``
            (:func:`models.evaluation.evaluate_backtest`), judged against the same ``p_true``.
        workers: processes evaluating the test and validation years at once (the same figures either way).
    """
    recording = None
    if "true_outcome" in scores.columns and scores["true_outcome"].notna().any():
        probability, recording = recorded_label_probability(scores)
        scores = scores.assign(p_true=probability)
    metrics = evaluate_models(scores, capacity, tie_seed=tie_seed, n_boot=params.n_boot, seed=params.seed,
                              n_bins=params.reliability_bins, workers=workers)
    if recording is not None:
        metrics["generator_recording"] = recording
    test = labelled_rows(scores, "test")
    if backtest is not None and backtest_protocol is not None:
        truth = [c for c in ("p_true", "p_state") if c in scores.columns]
        rows = backtest.merge(scores[[*KEYS, *truth]], on=KEYS, how="left", validate="one_to_one") if truth \
            else backtest
        standard_year = (test, (metrics["test"], metrics["baselines"],
                                metrics.get("generator_comparison", {}).get("test")))
        metrics["backtest"] = evaluate_backtest(rows, backtest_protocol, metrics["test"], capacity,
                                                tie_seed=tie_seed, n_boot=params.n_boot, seed=params.seed,
                                                n_bins=params.reliability_bins, standard_year=standard_year)
        if metrics["backtest"].get("differs_from_standard"):
            metrics["backtest"].update(backtest_fairness(rows, scores, capacity, params, attributes, tie_seed,
                                                         min_group_n=min_group_n))
    tables = fairness_tables(test, capacity, params, attributes, tie_seed, min_group_n=min_group_n)
    metrics["small_cells"] = {"min_group_size": int(min_group_n), "min_group_positives": params.min_group_positives}
    metrics["fairness"] = {name: fairness_summary(table) for name, table in tables.items()}
    ethnicity = next(iter(attributes.get("ethnicity_group", ())), None)  # not every population audits it
    by_ethnicity = calibration_by_group(test if ethnicity else test.assign(_all="all"), "score_released",
                                        ethnicity or "_all", min_n=min_group_n,
                                        min_positives=params.min_group_positives)
    return Evaluation(metrics, suppress_small_cells(tables["lightgbm"]),
                      calibration_curves(scores, "test", params.reliability_bins), roc_table(scores), by_ethnicity)


def render_evaluation_plots(scores: pd.DataFrame, evaluation: Evaluation) -> dict[str, bytes]:
    """The PNGs of reports/<model>/plots/, by file stem, in the order they are written and logged."""
    return {
        "roc": plot_roc(scores),
        "precision_recall": plot_precision_recall(scores),
        "calibration": plot_calibration(evaluation.calibration),
        "calibration_by_ethnicity_group": plot_calibration(
            evaluation.calibration_by_ethnicity, "LightGBM calibration by ethnicity group (test)", by="group"),
        "group_error_rates": plot_group_error_rates(evaluation.group_metrics),
    }


def read_scores_with_attributes(model: str, paths: ProjectPaths) -> pd.DataFrame:
    """scores.parquet joined to the ``fair_*`` attributes of the model's features file."""
    features_file = paths.features_table(model)
    fair_columns = [c for c in parquet_columns(features_file) if c.startswith("fair_")]
    attributes = read_parquet(features_file, columns=[*KEYS, *fair_columns])
    return attach_fairness_attributes(read_scores(paths.model_artifacts(model) / "scores.parquet"), attributes)


def read_scores(path: Path) -> pd.DataFrame:
    """scores.parquet or backtest_scores.parquet; one written before the model-neutral names
    (``score_lightgbm``) is refused (``models.score_columns``)."""
    scores = read_parquet(path)
    check_score_columns(scores.columns, path)
    return scores


def attach_truth_probabilities(scores: pd.DataFrame, model: str, paths: ProjectPaths, key_file: Path
                               ) -> pd.DataFrame:
    """``scores`` with ``p_true`` from synthetic truth (evaluation only), or unchanged when there is none.

    Truth's clear record keys are tokenised with the pseudonymisation key to find each linked person's
    true person; without a key the generator-probability baseline is skipped with a warning.
    """
    # imported here: the pipeline.linkage package loads Splink, which only the generator baseline needs
    from pipeline.linkage.evaluation import tokenise_truth_keys

    outcome_file, map_file = paths.truth / f"outcome_{model}.parquet", paths.truth / "person_map.parquet"
    # an adults' model's truth comes from the simulated lives (models.adult_evaluation)
    truth = read_parquet(outcome_file) if outcome_file.exists() else adult_evaluation.truth_outcome(model, paths)
    if truth is None or not (map_file.exists() and paths.person_index.exists()):
        return scores
    try:
        key = load_key(key_file)
    except PseudonymisationKeyError as exc:
        log.warning("Generator-probability baseline skipped (cannot tokenise truth): %s", exc)
        return scores
    person_map = linked_to_true_person(read_parquet(paths.person_index),
                                       tokenise_truth_keys(read_parquet(map_file), key))
    return attach_true_probability(scores, person_map, truth)


def write_evaluation(evaluation: Evaluation, plots: dict[str, bytes], reports: Path) -> list[Path]:
    """Write metrics.json, group_metrics.csv, calibration.csv, roc.csv and plots/*.png under ``reports``."""
    files = [write_json(evaluation.metrics, reports / "metrics.json"),
             write_csv(evaluation.group_metrics, reports / "group_metrics.csv"),
             write_csv(evaluation.calibration, reports / "calibration.csv"),
             write_csv(evaluation.roc, reports / "roc.csv")]
    return files + [write_bytes(png, reports / "plots" / f"{name}.png") for name, png in plots.items()]


def evaluate_as_of_linkage(spec: ModelSpec, run: Mapping, metrics: Mapping, params: EvaluateParams,
                           paths: ProjectPaths) -> dict | None:
    """``metrics.json`` ``test_as_of_linkage``: the trained, calibrated LightGBM (loaded from MLflow as the
    score stage loads it) scoring ``data/features_as_of/<model>.parquet`` (the test year linked as the records
    stood on its index date), judged as ``test`` is. None, with a warning, when that file is not there
    (``riskpipe features --model M --as-of-test`` has not run).
    """
    features_file = paths.features_as_of_table(spec.name)
    report_file = paths.model_reports(spec.name) / "features_as_of.json"
    if not features_file.exists() or not report_file.exists():
        log.warning("%s: no as-of-linkage features (%s); the test year is judged on the all-records index only",
                    spec.name, features_file)
        return None
    report = read_json(report_file)
    if report.get("test_year") != spec.split.test_year:  # built for another split: a stale file, not evidence
        log.warning("%s: %s is of index year %s, not the test year %s; not used", spec.name, features_file,
                    report.get("test_year"), spec.split.test_year)
        return None
    dates = report["index_dates"]
    provenance = {
        "index_date": ", ".join(d["index_date"] for d in dates),
        "linked_from_records_before": ", ".join(d["records_before"] for d in dates),
        "person_index": ", ".join(d["person_index"] for d in dates),
        "person_index_sha256": ", ".join(d["person_index_sha256"] for d in dates),
        "rows_only_in_full": sum(d["rows_only_in_full"] for d in dates),
        "rows_without_full_row": sum(d["rows"] - d["rows_matched"] for d in dates),
        "fragments": sum(d["fragments"] for d in dates),
        "outcome_differs_as_of_records": sum(d["outcome_differs_as_of_records"] for d in dates),
    }
    fitted = load_sklearn_model(run["model_uri"], tracking_uri(paths.root))
    scored = score_rows(fitted, read_parquet(features_file), list(run.get("released_inputs") or run["feature_columns"]))
    return as_of_linkage_block(scored, metrics["test"], int(metrics["capacity"]), tie_seed=spec.seed,
                               n_boot=params.n_boot, seed=params.seed, n_bins=params.reliability_bins,
                               provenance=provenance)


def run_evaluate(model: str, params: EvaluateParams, paths: ProjectPaths, *, key_file: Path,
                 fairness_attributes: Mapping[str, Sequence[str]], min_group_n: int, workers: int = 1
                 ) -> EvaluationRun:
    """Evaluate one trained model and publish the results (reports/<model>/ and the MLflow training run).

    Args:
        model: the spec's name; its capacity for the score year (``ModelSpec.capacity_in``) sets the
            operating point, and ``metrics.json`` ``capacity_share`` repeats run.json's ``capacity``.
        params: the ``evaluate`` section of params.yaml.
        paths: the project's locations.
        key_file: the pseudonymisation key file (``$RISKPIPE_PSEUDO_KEY`` wins), used only to match
            synthetic truth to linked persons for the generator-probability baseline.
        fairness_attributes: audited attribute -> ``fair_*`` columns of the spec's population
            (``features.populations``, looked up by the caller: models does not import features).
        min_group_n: the gate's ``min_group_size`` for the model (the thresholds file, read by the caller:
            models does not import ethics); smaller groups are blanked in every published group table.
        workers: processes evaluating the test and validation years at once (the same figures either way).
    """
    spec = load_model_spec(model)
    reports = paths.model_reports(model)
    scores = attach_truth_probabilities(read_scores_with_attributes(model, paths), model, paths, key_file)
    # the council's capacity for the year the list is made (spec capacity_by_year, else capacity_per_year)
    run = read_json(paths.model_artifacts(model) / "run.json")
    backtest_file = paths.model_artifacts(model) / "backtest_scores.parquet"
    backtest = read_scores(backtest_file) if backtest_file.exists() and run.get("backtest") else None
    evaluation = evaluate_scores(scores, spec.capacity_in(spec.split.score_year), params, fairness_attributes,
                                 tie_seed=spec.seed, min_group_n=min_group_n, backtest=backtest,
                                 backtest_protocol=run.get("backtest"), workers=workers)
    evaluation.metrics["capacity_share"] = run.get("capacity")  # the list's share of the cohort (train stage)
    evaluation.metrics["test_as_of_linkage"] = evaluate_as_of_linkage(spec, run, evaluation.metrics, params, paths)
    # realised performance among the offered and the not offered: the gap is the help working (models.offer_split)
    features_file = paths.features_table(model)
    evaluation.metrics["offer_split"] = performance_by_offer(
        scores, read_parquet(features_file, columns=[*KEYS, OFFERED])) \
        if OFFERED in parquet_columns(features_file) else None
    if spec.population == "adults":  # lift at the top, no prior admission, deaths by band (models.adult_metrics)
        evaluation.metrics["adult"] = adult_evaluation.adult_metrics(model, scores, paths, spec.seed)
    # a care home or death first, where the features file holds the follow-up (models.care_home_evaluation)
    competing = care_home_evaluation.competing_risks_metrics(model, scores, paths, list(run["feature_columns"]),
                                                             spec.seed)
    if competing is not None:
        evaluation.metrics["competing_risks"] = competing
    if spec.population == "ld_register":  # the rule and the penalised model, few events (models.ld_register)
        evaluation.metrics["ld_register"] = ld_register_evaluation.register_metrics(
            model, scores, paths, spec, run["feature_columns"])
    files = write_evaluation(evaluation, render_evaluation_plots(scores, evaluation), reports)
    logged = log_evaluation(uri=tracking_uri(paths.root), run_id=run["run_id"], metrics=evaluation.metrics,
                            artifacts=files)
    return EvaluationRun(evaluation.metrics, files, logged, reports)
