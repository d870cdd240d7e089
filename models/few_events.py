"""Training when events are few: the learner a spec releases other than LightGBM, and the draft a small county gets.

A spec's ``release`` names the learner whose scores are evaluated, gated, carded and listed. ``lightgbm`` (the
default) goes through ``models.training.train_models``. The others are fitted here, on the training **and**
validation years (with tens of events every one counts; none of them is calibrated on a year of its own):

- ``penalised``: L2-penalised logistic regression, its penalty chosen by cross-validated log loss
  (``models.ld_register.fit_penalised``); below ``MIN_EVENTS`` events or non-events it is not fitted and
  the rule is released instead, with the reason;
- ``logistic``: the spec's ``learners.logistic`` as it is (its own penalty), fitted when there are at least
  two events and two non-events, else the rule;
- ``rule``: the spec's points (never learnt), mapped to a probability by a one-variable logistic fit on the
  same years (a constant, the observed rate, when the years hold no event or no non-event).

The same fit is the train stage's last resort for a LightGBM spec whose county is too small to train it
(``models.train_stage``): the rule is released as a draft, the reason is recorded, and the governance gate
blocks it (``enough_outcomes``), so the later stages run and say why instead of the pipeline stopping.

The scores frame keeps ``models.training.SCORE_COLUMNS``: ``score_released``/``margin_released`` hold the
**released** learner's probability and ranking margin (the columns the evaluation, gate, card and list read as
"the model"); ``summary["released"]`` says which learner that is and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from models.calibration import CalibratedScore
from models.ld_register import MIN_EVENTS, fit_penalised
from models.learners import fit_logistic, make_logistic_pipeline
from models.preprocess import categorical_columns
from models.rule_score import RuleScore, rule_criteria_from_spec
from models.score_columns import RELEASED_MARGIN, RELEASED_SCORE
from models.split import assign_split

RELEASES = ("lightgbm", "logistic", "penalised", "rule")
LEARNER_WORDS = {
    "lightgbm": "LightGBM gradient boosting, calibrated apart from the rows that chose its trees",
    "logistic": "logistic regression with the spec's penalty, fitted on the training and validation years",
    "penalised": "L2-penalised logistic regression, its penalty chosen by cross-validated log loss, fitted on "
                 "the training and validation years",
    "rule": "the rule's points (never learnt), mapped to a probability on the training and validation years",
}
FITTED_SPLITS = ("train", "validation")


class ConstantProbability(ClassifierMixin, BaseEstimator):
    """The same probability for every row: the rule's map when its years hold no event or no non-event."""

    def __init__(self, probability: float = 0.0):
        self.probability = probability

    def fit(self, X=None, y=None) -> ConstantProbability:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X) -> np.ndarray:
        p = np.full(len(X), float(self.probability))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def rule_with_probability(rule: RuleScore, rows: pd.DataFrame, y: np.ndarray) -> CalibratedScore:
    """The rule and a one-variable logistic map from its points to a probability, fitted on ``rows``; a constant
    (the observed rate) when ``y`` holds no event or no non-event."""
    points = rule.decision_function(rows).reshape(-1, 1)
    if len(np.unique(y)) < 2:
        return CalibratedScore(rule, ConstantProbability(float(np.mean(y)) if len(y) else 0.0).fit())
    return CalibratedScore(rule, LogisticRegression(C=1.0, max_iter=1000).fit(points, y))


def fit_few_events(features: pd.DataFrame, spec, feature_columns: list[str], *, requested: str | None = None,
                   why: str | None = None):
    """Fit the rule, the spec's logistic and the penalised logistic on the training and validation years, and
    release ``requested`` (default: the spec's ``release``) where it can be fitted, else the rule.

    Args:
        features: the features contract (``person_id, index_date, index_year, outcome`` and the inputs).
        spec: the ``ModelSpec``.
        feature_columns: the model inputs.
        requested: the learner to release (``logistic``, ``penalised`` or ``rule``).
        why: why this path was taken, when it is not the spec's choice (a LightGBM spec on a small county).

    Returns:
        ``models.training.TrainedModels`` whose ``released``/``released_model`` are the learner released;
        ``summary["released"]`` = ``{"learner", "requested", "why", "fitted_on", "rows", "events"}``.
    """
    from models.training import SCORE_COLUMNS, TrainedModels  # models.training imports this module

    requested = requested or spec.release
    if requested not in RELEASES[1:]:
        raise ValueError(f"fit_few_events releases logistic, penalised or rule, not {requested!r}")
    text = categorical_columns(features, feature_columns)
    if requested == "penalised" and text:
        raise ValueError(f"{spec.name}: release: penalised takes numeric inputs only, and {text} are text (the spec's "
                         "logistic one-hot encodes them: release: logistic)")
    split = assign_split(features, spec.split)
    fitted_rows = features[split.isin(FITTED_SPLITS).to_numpy() & features["outcome"].notna().to_numpy()]
    y = fitted_rows["outcome"].astype("int64").to_numpy()
    events, non_events = int(y.sum()), int(len(y) - y.sum())
    years = sorted(int(v) for v in fitted_rows["index_year"].unique())
    rule = RuleScore(rule_criteria_from_spec(spec.learners.rule)).fit(features)
    rule_model = rule_with_probability(rule, fitted_rows, y)
    logistic_params = dict(spec.learners.logistic)
    logistic = None
    if min(events, non_events) >= 2:
        logistic = fit_logistic(make_logistic_pipeline(feature_columns, text, logistic_params, spec.seed),
                                fitted_rows, y, logistic_params.get("max_negatives"), spec.seed)
    penalised = fit_penalised(fitted_rows, y, feature_columns, seed=spec.seed) if not text else None
    models = {"rule": rule_model, "logistic": logistic, "penalised": penalised}
    released = requested if models[requested] is not None else "rule"
    reasons = [why] if why else []
    if released != requested:
        minimum = f"{MIN_EVENTS} events and {MIN_EVENTS} non-events" if requested == "penalised" else \
            "2 events and 2 non-events"
        reasons.append(f"the {requested} model needs at least {minimum} in the training and validation years, "
                       f"which hold {events} and {non_events:,}: the rule is released instead")
    elif not why:
        reasons.append(f"named by the model's spec, release: {requested}")

    scores = features[["person_id", "index_date", "index_year", "outcome"]].copy()
    scores.insert(3, "split", split.to_numpy())
    points = rule.decision_function(features)
    probability_rule = rule_model.predict_proba(features)[:, 1]
    chosen = models[released]
    scores[RELEASED_SCORE] = chosen.predict_proba(features)[:, 1]
    scores[RELEASED_MARGIN] = points if released == "rule" else chosen.decision_function(features)
    # the spec's logistic is a baseline; not fitted (fewer than two events), its columns repeat the rule's
    scores["score_logistic"] = logistic.predict_proba(features)[:, 1] if logistic is not None else probability_rule
    scores["margin_logistic"] = logistic.decision_function(features) if logistic is not None else points
    scores["score_rule"] = points
    scores["probability_rule"] = probability_rule
    counts = scores.groupby("split")["outcome"].agg(rows="size", labelled="count", positives="sum")
    summary = {
        "rows": {s: {k: int(v) for k, v in row.items()} for s, row in counts.iterrows()},
        "lightgbm_best_iteration": None,
        "lightgbm_early_stopping": "LightGBM not fitted: the released learner is " + released,
        "calibration": {"released": {"method": "none" if released != "rule" else "logistic map of the points",
                                     "fitted_on": f"index years {years[0]}-{years[-1]}" if years else "no rows"}},
        "categorical_features": text,
        "released": {"learner": released, "requested": requested, "why": "; ".join(reasons),
                     "description": LEARNER_WORDS[released],
                     "fitted_on": f"index years {years[0]}-{years[-1]} (training and validation)" if years else "none",
                     "rows": int(len(y)), "events": events,
                     "logistic_baseline": "fitted" if logistic is not None else "not fitted (repeats the rule)"},
    }
    return TrainedModels(None, logistic, rule_model, scores[SCORE_COLUMNS], list(feature_columns), summary,
                         released=released, released_model=chosen)


def few_events_backtest(features: pd.DataFrame, spec, feature_columns: list[str], standard_scores: pd.DataFrame,
                        released: str) -> tuple[pd.DataFrame, dict]:
    """The deployment-faithful backtest of a learner fitted here (``models.backtest`` for its years): the same
    fit on the years matured by the test index date with the live list's gap, or the standard scores when those
    are the standard split's years.

    Returns:
        ``(test-year scores, protocol)`` as ``models.backtest.fit_backtest`` returns them; empty with
        ``protocol["reason"]`` when the county has no such years.
    """
    from models.backtest import backtest_rows, plan_backtest

    plan = plan_backtest(features, spec.split)
    empty = standard_scores.iloc[0:0]
    if plan.split is None:
        return empty, plan.protocol
    protocol = {**plan.protocol, "differs_from_standard": not (
        sorted(spec.split.train_years) == plan.split.train_years
        and spec.split.validation_year == plan.split.validation_year),
        "description": f"the {released} fitted on the cohorts whose outcomes had matured by the test index date, "
                       "with the live list's maturity gap (training and calibration years together)"}
    if protocol["differs_from_standard"]:
        refit = fit_few_events(backtest_rows(features, plan.split), spec.model_copy(update={"split": plan.split}),
                               feature_columns, requested=released)
        scores = refit.scores
    else:
        scores = standard_scores
    return scores[(scores["split"] == "test") & scores["outcome"].notna()].reset_index(drop=True), protocol


def released_summary(summary: dict) -> dict:
    """run.json ``released``: which learner scores the list and why (:func:`fit_few_events` writes it for any but
    LightGBM; a LightGBM fit's ``summary`` has none)."""
    return summary.get("released") or {"learner": "lightgbm", "requested": "lightgbm",
                                       "why": "the spec releases LightGBM (the default)",
                                       "description": LEARNER_WORDS["lightgbm"]}
