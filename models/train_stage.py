"""The train stage's IO: one model's features in; scores, a training summary and an MLflow run out.

Called by ``riskpipe train``. Reads ``data/features/<model>.parquet`` through ``pipeline.core.io``, calls
``models.training.train_models`` and writes ``data/models/<model>/scores.parquet``,
``backtest_scores.parquet`` (the test year as the deployment-faithful backtest scores it, ``models.backtest``),
``train_summary.json`` and ``run.json``; the run, the released learner (the calibrated LightGBM model unless
the spec's ``release`` names another, ``models.few_events``) and its registration (alias ``candidate``) go to
MLflow through ``pipeline.core.tracking``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from models.backtest import fit_backtest
from models.few_events import few_events_backtest, fit_few_events, released_summary
from models.input_coverage import CoveredInputs, cover_inputs
from models.learners import released_inputs
from models.live_calibration import recalibrate_for_live
from models.spec import ModelSpec, SplitSpec, load_model_spec, spec_path
from models.split import capacity_share
from models.training import TrainedModels, train_models
from models.training_sample import training_sample
from models.untreated import effect_from_estimates
from pipeline.core.config import TrainParams
from pipeline.core.io import file_sha256, read_json, read_parquet, write_json, write_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.core.tracking import log_training_run, tracking_uri

log = logging.getLogger(__name__)

# calibration on a year needs at least this many rows of each outcome (models.calibration)
MIN_EACH_OUTCOME_TO_CALIBRATE = 2


class FeaturesMissing(FileNotFoundError):
    """``data/features/<model>.parquet`` is not there (the features stage has not run for the model)."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


class TrainingStopped(ValueError):
    """The learners could not be trained on these features (e.g. a split year without both outcomes)."""


@dataclass(frozen=True)
class TrainRun:
    """What the train stage wrote: ``run`` is the content of run.json."""

    run: dict
    scores_file: Path
    run_file: Path


def training_rows(features: pd.DataFrame, scores: pd.DataFrame) -> pd.Series:
    """Rows the learners were fitted on: the train split with a matured outcome (as a boolean mask).

    Args:
        features: the features frame (``outcome``).
        scores: ``train_models``' scores of the same rows (``split``).
    """
    return pd.Series(scores["split"].eq("train").to_numpy() & features["outcome"].notna().to_numpy(),
                     index=features.index)


def outcomes_by_year(features: pd.DataFrame) -> pd.DataFrame:
    """Labelled rows and positives per index year (``index_year`` -> ``labelled, positives, negatives``)."""
    labelled = features.dropna(subset=["outcome"])
    counts = labelled.groupby("index_year")["outcome"].agg(labelled="size", positives="sum")
    return counts.assign(negatives=counts["labelled"] - counts["positives"]).astype("int64")


def evaluation_outcomes(features: pd.DataFrame, split: SplitSpec) -> dict[str, dict[str, int]]:
    """Outcomes in the years the model is judged on: ``{"validation"|"test": {"year", "labelled", "positives",
    "negatives"}}``. The governance gate blocks a release with too few (``ethics.integrity_checks``)."""
    counts = outcomes_by_year(features)
    out = {}
    for name, year in (("validation", split.validation_year), ("test", split.test_year)):
        row = counts.loc[year] if year in counts.index else pd.Series({"labelled": 0, "positives": 0, "negatives": 0})
        out[name] = {"year": int(year), **{k: int(row[k]) for k in ("labelled", "positives", "negatives")}}
    return out


def fallback_split(features: pd.DataFrame, split: SplitSpec) -> SplitSpec | None:
    """A split that can still be fitted when the spec's validation year cannot calibrate (too few outcomes):
    the latest train year with enough of each outcome becomes the validation year, the train years before
    it (holding both outcomes) stay train years; test and score years are unchanged. None if there is none.

    Such a model is only ever a draft: its validation year is not the one pre-registered, and the gate
    blocks a release whose evaluation years hold too few outcomes.
    """
    counts = outcomes_by_year(features)
    enough = counts[(counts["positives"] >= MIN_EACH_OUTCOME_TO_CALIBRATE)
                    & (counts["negatives"] >= MIN_EACH_OUTCOME_TO_CALIBRATE)].index
    for year in sorted((y for y in split.train_years if y in enough), reverse=True):
        earlier = [y for y in split.train_years if y < year]
        held = counts.reindex(earlier).fillna(0)
        if earlier and held["positives"].sum() > 0 and held["negatives"].sum() > 0:
            return SplitSpec(train_years=earlier, validation_year=year, test_year=split.test_year,
                             score_year=split.score_year)
    return None


def train_or_fall_back(features: pd.DataFrame, spec: ModelSpec, columns: list[str], params: TrainParams
                       ) -> tuple[TrainedModels, dict[str, Any]]:
    """``train_models`` on the spec's split; when that fails because the validation year has too few of an
    outcome to calibrate (a small county), once more on :func:`fallback_split`, so the later stages still
    have a model to evaluate and a card to say why it is blocked.

    Returns:
        The trained models and ``{"fitted_split": the split used, "fallback_reason": why (None = the spec's)}``.

    Raises:
        TrainingStopped: training failed for another reason, or no fallback split exists.
    """
    try:
        trained = train_models(features, spec, columns, lightgbm_threads=params.lightgbm_threads,
                               calibration_folds=params.calibration_folds)
        return trained, {"fitted_split": spec.split.model_dump(), "fallback_reason": None}
    except (ValueError, KeyError) as exc:
        validation = evaluation_outcomes(features, spec.split)["validation"]
        # a validation year with no labelled rows is a spec error (immature years), not a small county
        short = 0 < validation["labelled"] and min(validation["positives"], validation["negatives"]) \
            < MIN_EACH_OUTCOME_TO_CALIBRATE
        shifted = fallback_split(features, spec.split) if short else None
        if shifted is None:
            raise TrainingStopped(str(exc)) from exc
        reason = (f"validation year {validation['year']} has {validation['positives']} positive and "
                  f"{validation['negatives']:,} negative outcomes, too few to calibrate: fitted with validation "
                  f"year {shifted.validation_year} instead (a draft that cannot be released)")
        log.warning("%s: %s", spec.name, reason)
    try:
        trained = train_models(features, spec.model_copy(update={"split": shifted}), columns,
                               lightgbm_threads=params.lightgbm_threads, calibration_folds=params.calibration_folds)
    except (ValueError, KeyError) as exc:
        raise TrainingStopped(f"{reason}; that failed too: {exc}") from exc
    return trained, {"fitted_split": shifted.model_dump(), "fallback_reason": reason}


def too_few_to_train(features: pd.DataFrame, split: SplitSpec) -> str | None:
    """Why LightGBM cannot be trained on a small county (labelled rows in the spec's years, so no spec error, but
    fewer than :data:`MIN_EACH_OUTCOME_TO_CALIBRATE` positives in the training or validation years), or None."""
    counts = outcomes_by_year(features)
    train = counts.reindex(split.train_years).fillna(0)
    validation = evaluation_outcomes(features, split)["validation"]
    if train["labelled"].sum() == 0 or validation["labelled"] == 0:
        return None
    positives = int(train["positives"].sum())
    if min(positives, validation["positives"]) >= MIN_EACH_OUTCOME_TO_CALIBRATE:
        return None
    return (f"too few outcomes to train LightGBM: {positives} in the training years "
            f"{min(split.train_years)}-{max(split.train_years)} and {validation['positives']} in validation year "
            f"{validation['year']} (at least {MIN_EACH_OUTCOME_TO_CALIBRATE} needed in each); the rule score is "
            "recorded as a draft that cannot be released")


def train_for_release(features: pd.DataFrame, spec: ModelSpec, columns: list[str], params: TrainParams
                      ) -> tuple[TrainedModels, dict[str, Any]]:
    """The learner the spec releases, trained so that the later stages always have something to judge.

    ``release: lightgbm`` goes through :func:`train_or_fall_back`; when that stops because the county holds too
    few outcomes (:func:`too_few_to_train`), the rule is fitted instead (``models.few_events``) and the reason
    recorded as ``fallback_reason``, which the gate's ``enough_outcomes`` check blocks on. Any other ``release``
    is fitted by ``models.few_events.fit_few_events``.

    Raises:
        TrainingStopped: training failed for a reason other than too few outcomes (a spec error).
    """
    split = {"fitted_split": spec.split.model_dump()}
    if spec.release != "lightgbm":
        return fit_few_events(features, spec, columns), {**split, "fallback_reason": None}
    try:
        return train_or_fall_back(features, spec, columns, params)
    except TrainingStopped as exc:
        reason = too_few_to_train(features, spec.split)
        if reason is None:
            raise
        log.warning("%s: %s (%s)", spec.name, reason, exc)
    return fit_few_events(features, spec, columns, requested="rule", why=reason), {**split, "fallback_reason": reason}


def covered_inputs(features: pd.DataFrame, spec: ModelSpec, columns: list[str], features_report: Path
                   ) -> CoveredInputs:
    """The spec's inputs kept to the years their source covers (``models.input_coverage``), from features.json
    ``input_coverage``; a features report without it (written before session 31) leaves every input as it is."""
    coverage = (read_json(features_report).get("input_coverage") or {}) if features_report.exists() else {}
    covered = cover_inputs(features, columns, coverage, spec.split.train_years, spec.split.validation_year)
    for entry in covered.left_out:
        log.warning("%s: %s: %s", spec.name, entry["input"], entry["reason"])
    if covered.restricted:
        log.warning("%s: %s", spec.name, covered.restricted["reason"])
    return covered


def with_estimated_effect(spec: ModelSpec, paths: ProjectPaths) -> ModelSpec:
    """For ``training.untreated: dropin``, the spec with the offer's effect from reports/impact/estimates.json
    (``models.untreated.effect_from_estimates``) when that file has one; else the spec as it is."""
    estimates = paths.reports / "impact" / "estimates.json"
    if spec.training.untreated != "dropin" or not estimates.exists():
        return spec
    effect = effect_from_estimates(read_json(estimates), spec.outcome.kind, spec.outcome.horizon_months)
    if effect is None:
        return spec
    return spec.model_copy(update={"training": spec.training.model_copy(update={"dropin_effect": effect})})


def lineage_digests(files: list[Path]) -> dict[str, str]:
    """SHA-256 of each input file that exists, keyed by its path as given."""
    return {str(p): file_sha256(p) for p in files if p.exists()}


def log_trained_models(trained: TrainedModels, features: pd.DataFrame, spec: ModelSpec, params: TrainParams,
                       lineage: dict[str, str], summary_file: Path, paths: ProjectPaths) -> dict:
    """Log the training run to MLflow and register the released learner (calibrated LightGBM unless the spec's
    ``release`` names another) as ``candidate``.

    Returns:
        ``log_training_run``'s ``{"run_id", "model_uri", "model_version", "tracking_uri", "registered_model"}``.
    """
    columns = released_inputs(trained.model_to_release(), trained.feature_columns)  # what the logged model reads
    rows = training_rows(features, trained.scores).to_numpy()
    if trained.released != "lightgbm":  # fitted on the training and validation years (models.few_events)
        rows = trained.scores["split"].isin(["train", "validation"]).to_numpy() & features["outcome"].notna().to_numpy()
    best = trained.summary["lightgbm_best_iteration"]
    return log_training_run(
        uri=tracking_uri(paths.root), model_name=spec.name, model=trained.model_to_release(),
        X_train=features.loc[rows, columns], y_train=features.loc[rows, "outcome"],
        spec=spec.model_dump(mode="json"),
        params={"train": params.model_dump(mode="json"), "feature_columns": ",".join(columns)},
        lineage=lineage,
        summary_metrics={"rows": trained.summary["rows"], **({"lightgbm_best_iteration": best} if best else {})},
        artifacts=[summary_file], tags={"riskpipe.stage": "train", "riskpipe.model": spec.name,
                                        "riskpipe.released_learner": trained.released},
    )


def run_train(model: str, params: TrainParams, paths: ProjectPaths, *, params_file: Path, thresholds_file: Path,
              choose_inputs: Callable[[ModelSpec], list[str]],
              preregister: Callable[[str], dict | None] | None = None) -> TrainRun:
    """Train, calibrate and score one model spec; write its artefacts and log the run to MLflow.

    Args:
        model: the spec's name (``models/specs/<model>.yaml``).
        params: the ``train`` section of params.yaml.
        paths: the project's locations.
        params_file: params.yaml, hashed into the run's lineage.
        thresholds_file: the pre-registered thresholds file; its SHA-256 (of the bytes, as the gate
            compares it) is recorded in run.json, or null when the file does not exist.
        choose_inputs: the model-input columns of a spec (``features.registry.feature_columns``;
            passed in because models/ does not import features/, which imports ``models.spec``).
        preregister: called with the model's name before anything is trained, to register its thresholds
            and checklist before any evaluation (``ethics.release_store.preregister``, passed in because
            models/ does not import ethics/); its errors stop training. It returns the registration in
            force, whose ``hash`` run.json records as ``registration``.

    Returns:
        :class:`TrainRun`; ``run`` adds ``feature_columns``, ``calibration``, ``evaluation_outcomes``
        (positives and negatives in the validation and test years), ``capacity`` (the list's share of the
        cohort in the score and test years, ``models.split.capacity_share``), ``fallback_reason`` (None, or why the
        validation year was moved or the county is too small to train: see :func:`train_for_release`), ``released``
        (the learner that scores the list: ``learner, requested, why, description``), ``population`` (the
        spec's), ``training_sample`` (the rows the learners were fitted on: every training row, or a sample of
        whole people past ``params.max_training_rows``, ``models.training_sample``; scores.parquet then holds only
        the sampled people's training rows), ``backtest`` (the deployment-faithful
        backtest's years, :func:`models.backtest.fit_backtest`; its test-year scores go to
        ``backtest_scores.parquet``), ``inputs_left_out`` and ``training_years_restricted`` (inputs whose source
        starts after some fitted years, :func:`covered_inputs`; ``feature_columns`` are then the inputs the
        learners saw) and ``thresholds_sha256`` to the MLflow run's ids.

    Raises:
        ModelSpecError: the spec does not exist or is invalid.
        FeaturesMissing: no features file for the model.
        TrainingStopped: the learners could not be trained (the message says why).
    """
    spec = with_estimated_effect(load_model_spec(model), paths)
    features_file = paths.features_table(model)
    if not features_file.exists():
        raise FeaturesMissing(features_file)
    registration = preregister(model) if preregister is not None else None
    features = read_parquet(features_file)
    covered = covered_inputs(features, spec, choose_inputs(spec), paths.model_reports(model) / "features.json")
    columns = covered.feature_columns
    if covered.restricted:  # (a): fitted on the training years every kept input covers (models.input_coverage)
        spec = spec.model_copy(update={"split": spec.split.model_copy(update={"train_years": covered.train_years})})
    outcomes, rows_by_year = evaluation_outcomes(features, spec.split), features.groupby("index_year").size().to_dict()
    # a very large county: the learners fit a sample of whole people; every other year is kept (training_sample)
    features, sample = training_sample(features, spec.split.train_years, params.max_training_rows, spec.seed)
    if sample["sampled"]:
        log.info("%s: %s", spec.name, sample["description"])
    trained, fitted = train_for_release(features, spec, columns, params)
    trained.summary.update({"evaluation_outcomes": outcomes, **fitted, "training_sample": sample,
                            "released": released_summary(trained.summary), "inputs_left_out": covered.left_out,
                            "training_years_restricted": covered.restricted})
    model_dir = paths.model_artifacts(model)
    scores_file = write_parquet(trained.scores, model_dir / "scores.parquet")
    if trained.released == "lightgbm":
        # the deployment-faithful backtest: one extra fit on the matured years only (models.backtest)
        backtest_scores, backtest = fit_backtest(features, spec, columns, trained.scores,
                                                 SplitSpec(**fitted["fitted_split"]),
                                                 lightgbm_threads=params.lightgbm_threads,
                                                 calibration_folds=params.calibration_folds)
    else:  # the released learner refitted on the matured years only, as the live list would be
        backtest_scores, backtest = few_events_backtest(features, spec, columns, trained.scores, trained.released)
    write_parquet(backtest_scores, model_dir / "backtest_scores.parquet")
    # what scores the live list: the released learner recalibrated on the latest matured year (models.live_calibration)
    scoring = released_inputs(trained.model_to_release(), columns)  # a released rule may read an input left out
    trained.released_model, trained.summary["live_calibration"] = recalibrate_for_live(
        trained.model_to_release(), features, scoring, methods=list(spec.calibration.methods),
        score_year=spec.split.score_year, folds=params.calibration_folds, seed=spec.seed)
    trained.summary["backtest"] = backtest
    summary_file = write_json(trained.summary, model_dir / "train_summary.json")
    lineage = lineage_digests([features_file, paths.person_index, spec_path(model), params_file])
    run = log_trained_models(trained, features, spec, params, lineage, summary_file, paths)
    run.update({"feature_columns": columns, "released_inputs": scoring, "calibration": trained.summary["calibration"],
                "evaluation_outcomes": trained.summary["evaluation_outcomes"],
                "capacity": capacity_share(spec, rows_by_year), "training_sample": sample,
                "fallback_reason": trained.summary["fallback_reason"], "backtest": backtest,
                # inputs whose source starts after some fitted years, and what was done (models.input_coverage)
                "inputs_left_out": covered.left_out, "training_years_restricted": covered.restricted,
                # which learner scores the list and why (the card says it; the gate judges its scores)
                "released": trained.summary["released"], "population": spec.population,
                "live_calibration": trained.summary["live_calibration"],
                # how rows whose window held an early help offer were fitted (models.untreated), for the card
                "untreated": trained.summary.get("untreated"),
                # how many trees and what chose them (models.held_out_years), for the card's method
                "trees": {"count": trained.summary.get("lightgbm_best_iteration"),
                          "chosen_on": trained.summary.get("lightgbm_early_stopping")},
                "thresholds_sha256": file_sha256(thresholds_file) if thresholds_file.exists() else None,
                # the pre-registration in force at training: the gate judges this version against it
                "registration": registration.get("hash") if isinstance(registration, dict) else None})
    run_file = write_json(run, model_dir / "run.json")
    return TrainRun(run, scores_file, run_file)
