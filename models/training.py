"""Training one model spec: split by year, fit three learners, calibrate on the validation year."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.calibration import calibrate_on_validation
from models.learners import (
    EARLY_STOPPING_ROUNDS,
    fit_lightgbm,
    fit_logistic,
    lightgbm_margin,
    make_lightgbm_pipeline,
    make_logistic_pipeline,
)
from models.preprocess import categorical_columns
from models.rule_score import RuleScore, rule_criteria_from_spec
from models.split import assign_split

log = logging.getLogger(__name__)
SCORE_COLUMNS = ["person_id", "index_date", "index_year", "split", "outcome", "score_lightgbm", "score_logistic",
                 "score_rule", "probability_rule", "margin_lightgbm", "margin_logistic"]


@dataclass
class TrainedModels:
    """The calibrated learners of one spec and every row's scores.

    ``scores`` has ``person_id, index_date, index_year, split, outcome, score_lightgbm,
    score_logistic`` (calibrated probabilities), ``score_rule`` (points), ``probability_rule``
    (points calibrated on the validation year, for calibration metrics only) and ``margin_lightgbm,
    margin_logistic`` (uncalibrated: LightGBM's raw score, the logistic decision function), which rank
    rows at capacity (``models.selection``; the rule ranks by its points).
    """

    lightgbm: object
    logistic: object
    rule: object
    scores: pd.DataFrame
    feature_columns: list[str]
    summary: dict = field(default_factory=dict)


def _labelled(features: pd.DataFrame, split: pd.Series, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    rows = features[(split == name) & features["outcome"].notna()]
    if rows.empty or rows["outcome"].nunique() < 2:
        raise ValueError(f"the {name} years have no rows with both outcomes; check the spec's split years")
    return rows, rows["outcome"].astype("int64").to_numpy()


def train_models(features: pd.DataFrame, spec, feature_columns: list[str], *, lightgbm_threads: int | None = None,
                 calibration_folds: int = 5) -> TrainedModels:
    """Fit LightGBM, logistic and the rule score for ``spec`` and calibrate each on the validation year.

    Args:
        features: the features contract: ``person_id, index_date, index_year, outcome`` (Int8,
            <NA> = not matured) and every column of ``feature_columns``.
        spec: a ``ModelSpec`` (``split``, ``learners``, ``calibration``, ``seed``).
        feature_columns: model inputs (``features.registry.feature_columns(spec)``).
        lightgbm_threads: LightGBM ``n_jobs`` unless the spec sets it (None = all cores).
        calibration_folds: folds of the validation year used to choose the calibration method.

    Returns:
        :class:`TrainedModels`; ``summary`` holds rows/positives per split, LightGBM's best
        iteration and each calibration choice.
    """
    split = assign_split(features, spec.split)
    train, y_train = _labelled(features, split, "train")
    validation, y_validation = _labelled(features, split, "validation")
    categorical = categorical_columns(features, feature_columns)
    seed = spec.seed
    methods = list(spec.calibration.methods)

    lgb_params = dict(spec.learners.lightgbm)
    stopping = int(lgb_params.pop("early_stopping_rounds", EARLY_STOPPING_ROUNDS))
    if lightgbm_threads is not None:
        lgb_params.setdefault("n_jobs", lightgbm_threads)
    lightgbm = fit_lightgbm(make_lightgbm_pipeline(feature_columns, categorical, lgb_params, seed),
                            train, y_train, validation, y_validation, stopping)
    best_iteration = int(lightgbm.named_steps["lightgbm"].best_iteration_ or 0)
    log.info("LightGBM: best iteration %d", best_iteration)
    logistic_params = dict(spec.learners.logistic)
    logistic = fit_logistic(make_logistic_pipeline(feature_columns, categorical, logistic_params, seed), train,
                            y_train, logistic_params.get("max_negatives"), seed)
    rule = RuleScore(rule_criteria_from_spec(spec.learners.rule)).fit(train)

    calibrated, choices = {}, {}
    for name, model in (("lightgbm", lightgbm), ("logistic", logistic), ("rule", rule)):
        calibrated[name], choices[name] = calibrate_on_validation(model, validation, y_validation, methods,
                                                                    folds=calibration_folds, seed=seed)

    scores = features[["person_id", "index_date", "index_year", "outcome"]].copy()
    scores.insert(3, "split", split.to_numpy())
    scores["score_lightgbm"] = calibrated["lightgbm"].predict_proba(features)[:, 1]
    scores["score_logistic"] = calibrated["logistic"].predict_proba(features)[:, 1]
    scores["score_rule"] = rule.decision_function(features)
    scores["probability_rule"] = calibrated["rule"].predict_proba(features)[:, 1]
    scores["margin_lightgbm"] = lightgbm_margin(lightgbm, features)
    scores["margin_logistic"] = logistic.decision_function(features)
    counts = scores.groupby("split")["outcome"].agg(rows="size", labelled="count", positives="sum")
    summary = {
        "rows": {s: {k: int(v) for k, v in row.items()} for s, row in counts.iterrows()},
        "lightgbm_best_iteration": best_iteration,
        "calibration": choices,
        "categorical_features": categorical,
    }
    return TrainedModels(calibrated["lightgbm"], calibrated["logistic"], calibrated["rule"],
                         scores[SCORE_COLUMNS], list(feature_columns), summary)
