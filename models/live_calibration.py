"""The released model recalibrated on the latest year whose outcomes are known, before it scores a live list.

Calibration drifts: the share of children with the outcome moves from year to year, and a model calibrated on
its validation year (years before the list is made) states risks for that year's rate. Before scoring, the
released learner is recalibrated on the **latest matured year** — the newest index year whose outcome windows
have closed (``models.backtest.fully_labelled_years``; the test year, for both child models) — as the
deployment-faithful backtest already does for its own test year.

What changes and what does not:

- who is on the list does not: the list ranks by the learner's uncalibrated margin and calibration is monotone;
- the risk each row states, and its band, are the recalibrated ones;
- the evaluation does not: the test year's calibration figures (metrics.json, the card, the gate) are the
  validation-year calibrator's on a year it never saw. The recalibrated map cannot be judged out of time until
  the next year matures, and the card says so.

The calibration method is chosen as the validation year's was (cross-fitted log-loss over the spec's methods).
A latest year with too few outcomes to calibrate keeps the validation-year calibration, and ``protocol`` says why.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from models.backtest import fully_labelled_years
from models.calibration import calibrate_on_scores, model_response
from models.learners import ranked_estimator


def latest_matured_year(features: pd.DataFrame, score_year: int | None) -> int | None:
    """The newest fully labelled index year at or before ``score_year`` (None: none is)."""
    years = [y for y in fully_labelled_years(features) if score_year is None or y <= score_year]
    return max(years) if years else None


def recalibrate_for_live(model, features: pd.DataFrame, feature_columns: list[str], *, methods: list[str],
                         score_year: int | None, folds: int = 5, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """``model`` recalibrated on the latest matured year, and what was done.

    Args:
        model: the released learner as trained (a calibrated wrapper around a learner with a decision
            function: LightGBM's pipeline, the logistic, the rule).
        features: the features frame (``index_year``, ``outcome`` with <NA> where not matured, the inputs).
        feature_columns: the model's inputs, in training order.
        methods: the spec's calibration methods (``sigmoid``, ``isotonic``).
        score_year: the live list's index year (the spec's ``score_year``; None: the latest in ``features``).

    Returns:
        ``(live_model, protocol)``: ``live_model`` is ``model`` itself when nothing was recalibrated;
        ``protocol`` is ``{"recalibrated": bool, "year", "rows", "positives", "method", "log_loss"}`` or, when
        not recalibrated, ``{"recalibrated": False, "year", "reason"}``.
    """
    year = latest_matured_year(features, score_year)
    if year is None:
        return model, {"recalibrated": False, "year": None, "reason": "no index year is fully labelled"}
    rows = features[(features["index_year"].astype("int64") == year) & features["outcome"].notna()]
    y = rows["outcome"].astype("int64").to_numpy()
    learner = ranked_estimator(model)
    try:
        live, choice = calibrate_on_scores(learner, model_response(learner, rows[feature_columns]), y, methods,
                                           folds=folds, seed=seed)
    except ValueError as exc:  # too few outcomes (or non-outcomes) in the latest year to calibrate on
        return model, {"recalibrated": False, "year": int(year), "reason": str(exc), "rows": int(len(y)),
                       "positives": int(y.sum())}
    return live, {"recalibrated": True, "year": int(year), **choice}


def describe_live_calibration(protocol: dict[str, Any] | None) -> str:
    """The card's sentence on how the list's risks were calibrated."""
    if not protocol:
        return "The list's risks use the calibration fitted on the validation year."
    if not protocol.get("recalibrated"):
        return ("The list's risks use the calibration fitted on the validation year: it could not be refitted on "
                f"the latest year whose outcomes are known ({protocol.get('reason', '-')}).")
    return (f"Before the list is made, the risks are recalibrated on {protocol['year']}, the latest year whose "
            f"outcomes are known ({protocol['rows']:,} rows, {protocol['positives']:,} with the outcome; "
            f"{protocol['method']} calibration). This changes the risk each entry states, not who is on the list "
            "(it is ranked by the model's uncalibrated score). The calibration figures on this card were measured "
            "before that, with the validation year's calibration on a year it never saw; the recalibrated risks "
            "can only be checked once the next year's outcomes are known.")
