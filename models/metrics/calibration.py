"""Calibration of predicted probabilities: Brier, ECE, O/E, logistic recalibration, reliability.

Outcomes here are rare (0.2%-8%), so reliability bins are equal-frequency (quantiles of the
prediction): equal-width bins would put nearly every child in the first bin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

PROBABILITY_FLOOR = 1e-6  # keeps logit finite for scores of exactly 0 or 1


def reliability_table(y_true, probability, n_bins: int = 10) -> pd.DataFrame:
    """Observed rate against mean prediction in equal-frequency bins of the prediction.

    Returns:
        Columns ``bin`` (0-based), ``mean_predicted``, ``observed``, ``n``.
    """
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(y_true, dtype=np.float64)
    if len(p) == 0:
        return pd.DataFrame(columns=["bin", "mean_predicted", "observed", "n"])
    ranks = np.argsort(np.argsort(p, kind="stable"), kind="stable")
    bins = (ranks * n_bins) // len(p)
    frame = pd.DataFrame({"bin": bins, "p": p, "y": y})
    table = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed=("y", "mean"), n=("y", "size"))
    return table.reset_index()


def expected_calibration_error(y_true, probability, n_bins: int = 10) -> float:
    """Row-weighted mean |observed - mean predicted| over equal-frequency bins."""
    table = reliability_table(y_true, probability, n_bins)
    weights = table["n"] / table["n"].sum()
    return float((weights * (table["observed"] - table["mean_predicted"]).abs()).sum())


def observed_expected_ratio(y_true, probability) -> float | None:
    """Observed over expected events: sum(y) / sum(p). Above 1 = the model under-predicts."""
    expected = float(np.sum(probability))
    return float(np.sum(y_true)) / expected if expected > 0 else None


def _newton_logistic(x: np.ndarray, y: np.ndarray, offset: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Unpenalised logistic regression ``logit P(y) = x @ beta + offset`` by Newton-Raphson."""
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        mu = expit(x @ beta + offset)
        gradient = x.T @ (y - mu)
        hessian = (x * (mu * (1 - mu))[:, None]).T @ x
        step = np.linalg.solve(hessian + 1e-12 * np.eye(x.shape[1]), gradient)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def calibration_slope_intercept(y_true, probability) -> dict:
    """Logistic recalibration of the prediction's log-odds ``z``.

    The slope is ``b`` in ``logit P(y) = a + b z`` (1 = ideal; < 1 = predictions too extreme); the
    intercept is calibration-in-the-large, ``a`` in ``logit P(y) = a + offset(z)`` (0 = ideal).

    Returns:
        ``{"calibration_slope", "calibration_intercept"}``; None when one class only.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(probability, dtype=np.float64), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    if len(y) == 0 or y.min() == y.max():
        return {"calibration_slope": None, "calibration_intercept": None}
    z = logit(p)
    ones = np.ones((len(y), 1))
    slope = _newton_logistic(np.column_stack([ones, z]), y, np.zeros(len(y)))[1]
    intercept = _newton_logistic(ones, y, z)[0]
    return {"calibration_slope": float(slope), "calibration_intercept": float(intercept)}


def calibration_metrics(y_true, probability, n_bins: int = 10) -> dict:
    """Brier score, ECE, O/E ratio, calibration slope and intercept of one set of predictions."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    return {
        "brier": float(np.mean((p - y) ** 2)) if len(y) else None,
        "ece": expected_calibration_error(y, p, n_bins) if len(y) else None,
        "oe_ratio": observed_expected_ratio(y, p),
        **calibration_slope_intercept(y, p),
    }
