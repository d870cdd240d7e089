"""Training one model spec: split by year, fit three learners, calibrate on the validation year.

LightGBM's number of trees is never chosen on the validation or test year. With
``calibration.cross_fit_training_years`` it is chosen on every training year held out in turn, whose fold
models also give calibration its out-of-fold scores (:mod:`models.held_out_years`); otherwise, or with fewer
than two training years that hold both outcomes, on the latest training year alone
(:func:`fit_lightgbm_apart_from_calibration`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from models.calibration import calibrate_on_scores, calibrate_on_validation, model_response
from models.held_out_years import held_out_years
from models.learners import (
    EARLY_STOPPING_ROUNDS,
    fit_lightgbm,
    fit_lightgbm_trees,
    fit_logistic,
    lightgbm_margin,
    make_lightgbm_pipeline,
    make_logistic_pipeline,
)
from models.preprocess import categorical_columns
from models.rule_score import RuleScore, rule_criteria_from_spec
from models.score_columns import RELEASED_MARGIN, RELEASED_SCORE
from models.spec import TrainingSpec
from models.split import assign_split
from models.untreated import resolve_mode, untreated_training_rows

log = logging.getLogger(__name__)
STOPPING_FOLDS = 5  # with one training year, trees are chosen by early stopping on each of this many folds
SCORE_COLUMNS = ["person_id", "index_date", "index_year", "split", "outcome", RELEASED_SCORE, "score_logistic",
                 "score_rule", "probability_rule", RELEASED_MARGIN, "margin_logistic"]


@dataclass
class TrainedModels:
    """The calibrated learners of one spec and every row's scores.

    ``scores`` has ``person_id, index_date, index_year, split, outcome, score_released,
    score_logistic`` (calibrated probabilities), ``score_rule`` (points), ``probability_rule``
    (points calibrated on the validation year, for calibration metrics only) and ``margin_released,
    margin_logistic`` (uncalibrated: LightGBM's raw score, the logistic decision function), which rank
    rows at capacity (``models.selection``; the rule ranks by its points). ``score_released``/``margin_released``
    are the released learner's (``models.score_columns``): LightGBM's here.

    ``released`` names the learner whose scores are released (the spec's ``release``; ``models.few_events`` for
    any but LightGBM, whose ``score_released``/``margin_released`` then hold that learner's scores and whose
    ``lightgbm`` is None); ``released_model`` is that learner (None = ``lightgbm``).
    """

    lightgbm: object
    logistic: object
    rule: object
    scores: pd.DataFrame
    feature_columns: list[str]
    summary: dict = field(default_factory=dict)
    released: str = "lightgbm"
    released_model: object = None

    def model_to_release(self) -> object:
        """The fitted, calibrated learner that scores the list (logged to MLflow and registered)."""
        return self.released_model if self.released_model is not None else self.lightgbm


def _labelled(features: pd.DataFrame, split: pd.Series, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    rows = features[(split == name) & features["outcome"].notna()]
    if rows.empty or rows["outcome"].nunique() < 2:
        raise ValueError(f"the {name} years have no rows with both outcomes; check the spec's split years")
    return rows, rows["outcome"].astype("int64").to_numpy()


def fit_lightgbm_apart_from_calibration(train: pd.DataFrame, y_train: np.ndarray, feature_columns: list[str],
                                        categorical: list[str], params: dict, seed: int, stopping: int,
                                        weights: np.ndarray | None = None) -> tuple[object, int, str]:
    """LightGBM whose number of trees was chosen on rows the calibration never sees.

    Early stopping and calibration used to share the validation year, so the calibration was fitted on
    the very rows that picked the model. Now the number of trees is chosen by early stopping on the
    latest training year (the trees fitted on the earlier ones), and the model is then refitted on every
    training year with that many trees; the validation year is left to calibration alone. With one
    training year (or a latest one without both outcomes) the trees are the median of the best numbers
    found with each of :data:`STOPPING_FOLDS` stratified folds of the training rows held out in turn; with
    fewer outcomes than folds the spec's ``n_estimators`` is used as it is. ``weights``: the rows'
    ``models.untreated`` weights (None = 1).

    Returns:
        ``(fitted pipeline, trees, what the trees were chosen on)``.
    """
    years = train["index_year"].astype("int64").to_numpy()
    held_out = years == years.max()
    w = np.ones(len(y_train)) if weights is None else np.asarray(weights, dtype=np.float64)
    if _both_outcomes(y_train, held_out):
        probe = fit_lightgbm(make_lightgbm_pipeline(feature_columns, categorical, params, seed), train[~held_out],
                             y_train[~held_out], train[held_out], y_train[held_out], stopping,
                             sample_weight=w[~held_out], validation_weight=w[held_out])
        trees = max(int(probe.named_steps["lightgbm"].best_iteration_ or 0), 1)
        stopped_on = f"index year {int(years.max())} (the latest training year)"
    elif min(int(y_train.sum()), int(len(y_train) - y_train.sum())) >= STOPPING_FOLDS:
        # one training year (the backtest of a long outcome window): the median of each fold's best number
        trees = _trees_by_folds(train, y_train, feature_columns, categorical, params, seed, stopping)
        stopped_on = f"the median of {STOPPING_FOLDS} stratified folds of the rows (one training year)"
    else:
        fitted = fit_lightgbm_trees(make_lightgbm_pipeline(feature_columns, categorical, params, seed), train, y_train,
                                    weights)
        return fitted, int(params.get("n_estimators", 100)), "not used (too few outcomes): the spec's n_estimators"
    refit = make_lightgbm_pipeline(feature_columns, categorical, {**params, "n_estimators": trees}, seed)
    return fit_lightgbm_trees(refit, train, y_train, weights), trees, stopped_on


def _both_outcomes(y: np.ndarray, held_out: np.ndarray) -> bool:
    return len(np.unique(y[held_out])) == 2 and len(np.unique(y[~held_out])) == 2


def _trees_by_folds(train: pd.DataFrame, y: np.ndarray, feature_columns: list[str], categorical: list[str],
                    params: dict, seed: int, stopping: int) -> int:
    """The median best number of trees over stratified folds, each fold held out for early stopping in turn."""
    best = []
    for fit_rows, stop_rows in StratifiedKFold(STOPPING_FOLDS, shuffle=True, random_state=seed).split(train, y):
        probe = fit_lightgbm(make_lightgbm_pipeline(feature_columns, categorical, params, seed), train.iloc[fit_rows],
                             y[fit_rows], train.iloc[stop_rows], y[stop_rows], stopping)
        best.append(max(int(probe.named_steps["lightgbm"].best_iteration_ or 0), 1))
    return int(np.median(best))


def out_of_fold_scores(train: pd.DataFrame, y_train: np.ndarray, validation: pd.DataFrame, y_validation: np.ndarray,
                       fitted, feature_columns: list[str], categorical: list[str], params: dict, seed: int,
                       weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores for calibration on many more outcomes than the validation year holds.

    Each training year but the latest (which chose the number of trees) is scored by LightGBM refitted with
    the same trees on the other training years, so no row is scored by a model that saw it; the validation
    year is scored by ``fitted`` itself. With a test year of a few dozen outcomes, a calibration fitted on
    the validation year alone sets the slope on noise (a Platt slope of 0.63 where the generator's
    probabilities of the same rows give 1.02, on a 20,000-child county).

    Returns:
        ``(scores, outcomes)``: ``model_response`` values, the validation year's first.
    """
    years = train["index_year"].astype("int64").to_numpy()
    scores, outcomes = [model_response(fitted, validation)], [np.asarray(y_validation)]
    for year in sorted(set(years) - {years.max()}):
        held = years == year
        if len(np.unique(y_train[~held])) < 2:
            continue
        model = fit_lightgbm_trees(make_lightgbm_pipeline(feature_columns, categorical, params, seed), train[~held],
                                   y_train[~held], None if weights is None else np.asarray(weights)[~held])
        scores.append(model_response(model, train[held]))
        outcomes.append(y_train[held])
    return np.concatenate(scores), np.concatenate(outcomes)


def _pooled_weights(train: pd.DataFrame, y_train: np.ndarray, w_train: np.ndarray, w_validation: np.ndarray | None,
                    validation_rows: int) -> np.ndarray:
    """The weights of :func:`out_of_fold_scores`' rows, in its order: the validation year's, then each training year
    but the latest that it scored."""
    years = train["index_year"].astype("int64").to_numpy()
    parts = [np.ones(validation_rows) if w_validation is None else np.asarray(w_validation)]
    parts += [np.asarray(w_train)[years == year] for year in sorted(set(years) - {years.max()})
              if len(np.unique(y_train[years != year])) == 2]
    return np.concatenate(parts)


def train_models(features: pd.DataFrame, spec, feature_columns: list[str], *, lightgbm_threads: int | None = None,
                 calibration_folds: int = 5, dropin_effect: float | None = None) -> TrainedModels:
    """Fit LightGBM, logistic and the rule score for ``spec`` and calibrate each on the validation year.

    Args:
        features: the features contract: ``person_id, index_date, index_year, outcome`` (Int8,
            <NA> = not matured) and every column of ``feature_columns``.
        spec: a ``ModelSpec`` (``split``, ``learners``, ``calibration``, ``seed``).
        feature_columns: model inputs (``features.registry.feature_columns(spec)``).
        lightgbm_threads: LightGBM ``n_jobs`` unless the spec sets it (None = all cores).
        calibration_folds: folds of the validation year used to choose the calibration method.
        dropin_effect: the offer's estimated effect for ``training.untreated: dropin`` (reports/impact/
            estimates.json, read by the train stage); None = the spec's ``training.dropin_effect``.

    Returns:
        :class:`TrainedModels`; ``summary`` holds rows/positives per split, LightGBM's best
        iteration and each calibration choice.
    """
    split = assign_split(features, spec.split)
    train, y_train = _labelled(features, split, "train")
    validation, y_validation = _labelled(features, split, "validation")
    categorical = categorical_columns(features, feature_columns)
    seed = spec.seed
    # rows whose window holds an early help offer: dropped and reweighted, relabelled or fitted as recorded
    training = getattr(spec, "training", None) or TrainingSpec()
    mode = resolve_mode(training, train, validation)
    untreated = untreated_training_rows(train, y_train, feature_columns, categorical, training, seed, mode=mode,
                                        dropin_effect=dropin_effect)
    train, y_train, w_train = untreated.rows, untreated.y, untreated.weights
    held = untreated_training_rows(validation, y_validation, feature_columns, categorical, training, seed, mode=mode,
                                   dropin_effect=dropin_effect)
    validation, y_validation, w_validation = held.rows, held.y, held.weights
    methods = list(spec.calibration.methods)

    lgb_params = dict(spec.learners.lightgbm)
    stopping = int(lgb_params.pop("early_stopping_rounds", EARLY_STOPPING_ROUNDS))
    if lightgbm_threads is not None:
        lgb_params.setdefault("n_jobs", lightgbm_threads)
    cross_fit = bool(getattr(spec.calibration, "cross_fit_training_years", False))
    folds = held_out_years(train, y_train, feature_columns, categorical, lgb_params, seed, w_train) if cross_fit \
        else None
    if folds is not None:
        best_iteration, stopped_on = folds.trees, folds.describe()
        lightgbm = fit_lightgbm_trees(make_lightgbm_pipeline(feature_columns, categorical,
                                                             {**lgb_params, "n_estimators": folds.trees}, seed),
                                      train, y_train, w_train)
    else:
        lightgbm, best_iteration, stopped_on = fit_lightgbm_apart_from_calibration(
            train, y_train, feature_columns, categorical, lgb_params, seed, stopping, w_train)
    log.info("LightGBM: %d trees (early stopping on %s)", best_iteration, stopped_on)
    logistic_params = dict(spec.learners.logistic)
    logistic = fit_logistic(make_logistic_pipeline(feature_columns, categorical, logistic_params, seed), train,
                            y_train, logistic_params.get("max_negatives"), seed, w_train)
    rule = RuleScore(rule_criteria_from_spec(spec.learners.rule)).fit(train)

    calibrated, choices = {}, {}
    for name, model in (("lightgbm", lightgbm), ("logistic", logistic), ("rule", rule)):
        calibrated[name], choices[name] = calibrate_on_validation(model, validation, y_validation, methods,
                                                                    folds=calibration_folds, seed=seed,
                                                                    sample_weight=w_validation)
    if folds is not None:
        score = np.concatenate([model_response(lightgbm, validation), folds.scores])
        y_pooled = np.concatenate([np.asarray(y_validation), folds.outcomes])
        w_pooled = None if folds.weights is None else np.concatenate(
            [np.ones(len(y_validation)) if w_validation is None else np.asarray(w_validation), folds.weights])
        calibrated["lightgbm"], choices["lightgbm"] = calibrate_on_scores(
            lightgbm, score, y_pooled, methods, folds=calibration_folds, seed=seed, sample_weight=w_pooled)
        choices["lightgbm"]["fitted_on"] = (f"the validation year and {folds.describe_years()}, each scored by the "
                                            "model fitted without it")
    elif cross_fit:
        score, y_pooled = out_of_fold_scores(train, y_train, validation, y_validation, lightgbm, feature_columns,
                                             categorical, {**lgb_params, "n_estimators": best_iteration}, seed,
                                             w_train)
        w_pooled = None if w_train is None else _pooled_weights(train, y_train, w_train, w_validation,
                                                                   len(y_validation))
        calibrated["lightgbm"], choices["lightgbm"] = calibrate_on_scores(
            lightgbm, score, y_pooled, methods, folds=calibration_folds, seed=seed, sample_weight=w_pooled)
        choices["lightgbm"]["fitted_on"] = ("the validation year and the training years but the latest (that one chose "
                                            "the trees), each scored by a model fitted without it")

    scores = features[["person_id", "index_date", "index_year", "outcome"]].copy()
    scores.insert(3, "split", split.to_numpy())
    scores[RELEASED_SCORE] = calibrated["lightgbm"].predict_proba(features)[:, 1]
    scores["score_logistic"] = calibrated["logistic"].predict_proba(features)[:, 1]
    scores["score_rule"] = rule.decision_function(features)
    scores["probability_rule"] = calibrated["rule"].predict_proba(features)[:, 1]
    scores[RELEASED_MARGIN] = lightgbm_margin(lightgbm, features)
    scores["margin_logistic"] = logistic.decision_function(features)
    counts = scores.groupby("split")["outcome"].agg(rows="size", labelled="count", positives="sum")
    summary = {
        "rows": {s: {k: int(v) for k, v in row.items()} for s, row in counts.iterrows()},
        "lightgbm_best_iteration": best_iteration,
        "lightgbm_early_stopping": stopped_on,
        "calibration": choices,
        "categorical_features": categorical,
        "untreated": {**untreated.summary, "validation": {k: v for k, v in held.summary.items()
                                                          if k not in ("mode", "why")}},
    }
    return TrainedModels(calibrated["lightgbm"], calibrated["logistic"], calibrated["rule"],
                         scores[SCORE_COLUMNS], list(feature_columns), summary)
