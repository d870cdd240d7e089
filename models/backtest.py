"""The deployment-faithful backtest: the test year scored as the live list would have been made then.

The standard out-of-time split trains on cohorts whose outcomes matured long AFTER the test index date
(neet18's 2019 Year 9 cohort is not labelled until 2023, two years after the 2021 test census). A live
list cannot do that: at its index date only cohorts whose outcome windows have closed are labelled. The
backtest repeats that on the test year:

- the **maturity gap** is measured where the live list stands: the score year minus the latest index year
  whose rows are labelled at the extract date (:func:`fully_labelled_years`; neet18: 2026 - 2021 = 5;
  care_entry: 2026 - 2025 = 1);
- the **matured years** of the test year are the fully labelled years at most ``test_year - gap``;
- LightGBM and the logistic regression are fitted on the matured years but the latest; LightGBM's trees
  are chosen on those years as the standard fit chooses them (each held out in turn,
  :mod:`models.held_out_years`, or the latest of them, or stratified folds of the rows when there is only
  one: :func:`models.training.fit_lightgbm_apart_from_calibration`), never on the calibration year;
- every model is (re)calibrated on the **latest matured year** before the test year is scored.

Maturity is read from which rows carry a label, never from the label's value; exclusions and censoring
are the specs' own, which are decided without the outcome (``features.outcomes``).

When the backtest's years are exactly the standard split's (care_entry: a 12-month window matures within
the year), the standard fit already is the backtest: nothing is refitted and ``differs_from_standard`` is
False.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.spec import SplitSpec
from models.training import train_models

MATURED_SHARE = 0.99  # a year whose outcome windows have closed for this share of its rows counts as matured
PROTOCOL = ("trained on the cohorts whose outcomes had matured by the test index date, with the live list's "
            "maturity gap; trees chosen on those training years, as the standard fit chooses them; "
            "calibrated on the latest matured year, which early stopping never saw")


@dataclass(frozen=True)
class BacktestPlan:
    """The years of the backtest and why (``protocol`` is what run.json and metrics.json show).

    Attributes:
        split: train years (matured, but the latest), validation year (the latest matured: calibration
            only) and the test year; None when the county has no such years (``protocol["reason"]``).
        protocol: ``gap_years, live_score_year, live_latest_matured_year, matured_years, train_years,
            calibration_year, test_year, differs_from_standard, description`` (and ``reason`` when None).
    """

    split: SplitSpec | None
    protocol: dict[str, Any]


def fully_labelled_years(features: pd.DataFrame) -> list[int]:
    """Index years at least :data:`MATURED_SHARE` of whose rows have a matured outcome (a label, whatever its
    value). Not every row: a child outside the usual age of their year group matures a year late or early
    (one Year 9 pupil of 12 in a county of 20,000 children keeps the 2021 cohort from being complete)."""
    share = features["outcome"].notna().groupby(features["index_year"].astype("int64")).mean()
    return sorted(int(y) for y in share[share >= MATURED_SHARE].index)


def years_with_both_outcomes(features: pd.DataFrame) -> set[int]:
    """Index years holding at least one labelled positive and one labelled negative row."""
    counts = features.dropna(subset=["outcome"]).groupby(features["index_year"].astype("int64"))["outcome"]
    both = counts.agg(lambda s: s.nunique() == 2)
    return {int(y) for y in both[both].index}


def plan_backtest(features: pd.DataFrame, split: SplitSpec) -> BacktestPlan:
    """The backtest's years for ``split.test_year``, with the gap the live list has.

    Args:
        features: the features frame (``index_year``, ``outcome`` with <NA> where not matured).
        split: the spec's split (``train_years, validation_year, test_year, score_year``).
    """
    score_year = split.score_year if split.score_year is not None else int(features["index_year"].max())
    matured_now = [y for y in fully_labelled_years(features) if y <= score_year]
    if not matured_now:
        return BacktestPlan(None, {"reason": "no index year is fully labelled", "description": PROTOCOL})
    live_latest = max(matured_now)
    gap = score_year - live_latest
    test = int(split.test_year)
    # a gap of 0 (the score year already labelled, as in a test frame) still never trains on the test year
    matured = [y for y in matured_now if y <= test - max(gap, 1) and y >= min(split.train_years)]
    protocol: dict[str, Any] = {"gap_years": gap, "live_score_year": int(score_year),
                                "live_latest_matured_year": int(live_latest), "matured_years": matured,
                                "test_year": test, "description": PROTOCOL}
    both = years_with_both_outcomes(features)
    calibration = max((y for y in matured if y in both), default=None)
    train = [y for y in matured if calibration is not None and y < calibration]
    if calibration is None or not any(y in both for y in train):
        protocol["reason"] = (f"the years matured {gap} years before the test year ({matured or 'none'}) do not "
                              "hold a training year and a later calibration year with both outcomes")
        return BacktestPlan(None, protocol)
    plan = SplitSpec(train_years=train, validation_year=calibration, test_year=test, score_year=None)
    same = sorted(split.train_years) == train and split.validation_year == calibration
    protocol.update({"train_years": train, "calibration_year": calibration, "differs_from_standard": not same})
    return BacktestPlan(plan, protocol)


def backtest_rows(features: pd.DataFrame, plan: SplitSpec) -> pd.DataFrame:
    """The rows the backtest fit needs: its train, calibration and test years."""
    years = {*plan.train_years, plan.validation_year, plan.test_year}
    return features[features["index_year"].astype("int64").isin(years)]


def fit_backtest(features: pd.DataFrame, spec, feature_columns: list[str], standard_scores: pd.DataFrame,
                 fitted_split: SplitSpec, *, lightgbm_threads: int | None = None, calibration_folds: int = 5
                 ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The test year's scores under the backtest, and its protocol.

    Args:
        features: the features frame.
        spec: the ``ModelSpec``.
        feature_columns: model inputs, as the standard fit used.
        standard_scores: the standard fit's scores (``models.training.SCORE_COLUMNS``), reused as they are
            when the backtest's years are the standard's.
        fitted_split: the split the standard fit used (the spec's, or the train stage's fallback).

    Returns:
        ``(scores, protocol)``: ``scores`` has ``models.training.SCORE_COLUMNS`` for the labelled test-year
        rows (empty when there is no backtest: ``protocol["reason"]`` says why); ``protocol`` is
        :attr:`BacktestPlan.protocol` plus, after a refit, ``lightgbm_best_iteration``,
        ``lightgbm_early_stopping`` and ``calibration``.
    """
    plan = plan_backtest(features, spec.split)
    empty = standard_scores.iloc[0:0]
    if plan.split is None:
        return empty, plan.protocol
    protocol = {**plan.protocol, "differs_from_standard": not (
        sorted(fitted_split.train_years) == plan.split.train_years
        and fitted_split.validation_year == plan.split.validation_year)}
    if not protocol["differs_from_standard"]:
        test = standard_scores[(standard_scores["split"] == "test") & standard_scores["outcome"].notna()]
        return test.reset_index(drop=True), protocol
    try:
        trained = train_models(backtest_rows(features, plan.split), spec.model_copy(update={"split": plan.split}),
                               feature_columns, lightgbm_threads=lightgbm_threads,
                               calibration_folds=calibration_folds)
    except (ValueError, KeyError) as exc:
        return empty, {**protocol, "reason": f"the backtest could not be fitted: {exc}"}
    scores = trained.scores
    protocol.update({key: trained.summary[key]
                     for key in ("lightgbm_best_iteration", "lightgbm_early_stopping", "calibration")})
    return scores[(scores["split"] == "test") & scores["outcome"].notna()].reset_index(drop=True), protocol
