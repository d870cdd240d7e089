"""Calibration of predicted probabilities: Brier, ECE, O/E, logistic recalibration, reliability.

Outcomes here are rare (0.2%-8%), so reliability bins are equal-frequency (quantiles of the
prediction): equal-width bins would put nearly every child in the first bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from models.metrics.resampling import pooled_counts

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


def against_generator(p_true, probability) -> dict:
    """Calibration judged against the generator's probabilities instead of one draw of the outcome.

    The slope is ``b`` in ``logit p_true ~ a + b logit(prediction)``, fitted as a logistic regression
    on the soft label ``p_true`` (its expected log-likelihood: the outcome-based slope in expectation);
    the ratio is mean prediction / mean ``p_true`` (1 = right on average; the inverse of an expected O/E).

    Returns:
        ``{"calibration_slope", "mean_ratio"}``; None when there are no rows.
    """
    target = np.asarray(p_true, dtype=np.float64)
    raw = np.asarray(probability, dtype=np.float64)
    p = np.clip(raw, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    if len(target) == 0 or target.sum() <= 0:
        return {"calibration_slope": None, "mean_ratio": None}
    z = logit(p)
    if np.ptp(z) == 0:
        slope = None
    else:
        slope = float(_newton_logistic(np.column_stack([np.ones(len(z)), z]), target, np.zeros(len(z)))[1])
    return {"calibration_slope": slope, "mean_ratio": float(np.mean(raw) / np.mean(target))}


SLOPE_LEVELS = 4096  # replicate slopes are fitted on the log-odds rounded to this many levels


def pooled_log_odds(y: np.ndarray, z: np.ndarray, levels: int = SLOPE_LEVELS) -> tuple[np.ndarray, np.ndarray,
                                                                                       np.ndarray, np.ndarray]:
    """Rows pooled into cells of equal outcome and (rounded) log-odds, for fitting many replicates cheaply.

    The log-odds range is cut into ``levels`` equal steps; a cell's ``z`` is the mean of its rows'. With
    4,096 levels a row's ``z`` moves by under 1/8,000 of the range, which changes a slope by far less
    than the third decimal; predictions with few distinct values (the rule's) are pooled exactly.

    Returns:
        ``(row_order, starts, cell_y, cell_z)``: rows sorted by cell, where each cell starts in that
        order, and each cell's outcome and mean log-odds.
    """
    distinct = np.unique(z)
    if len(distinct) <= levels:
        level = np.searchsorted(distinct, z)
    else:
        width = (z.max() - z.min()) / (levels - 1)
        level = np.round((z - z.min()) / width).astype(np.int64)
    key = level * 2 + y.astype(np.int64)
    row_order = np.argsort(key, kind="stable")
    sorted_key = key[row_order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    cell_z = np.add.reduceat(z[row_order], starts) / sizes
    return row_order, starts, y[row_order][starts], cell_z


@dataclass(frozen=True)
class LogOddsCells:
    """Rows pooled for fitting replicate slopes (:func:`log_odds_cells`): each row's ``cell``, and per cell
    its outcome ``y`` and mean log-odds ``z``."""

    cell: np.ndarray
    y: np.ndarray
    z: np.ndarray


def log_odds_cells(y_true, probability) -> LogOddsCells:
    """:func:`pooled_log_odds` of a prediction as each row's cell; computed once per score, not per replicate."""
    z = logit(np.clip(np.asarray(probability, dtype=np.float64), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR))
    row_order, starts, y_cells, z_cells = pooled_log_odds(np.asarray(y_true), z)
    cell = np.empty(len(row_order), dtype=np.int64)
    cell[row_order] = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(row_order)]))
    return LogOddsCells(cell, y_cells, z_cells)


def bootstrap_slope(counts: np.ndarray, y: np.ndarray, probability, start: tuple[float, float],
                    iterations: int = 30, tolerance: float = 1e-7, cells: LogOddsCells | None = None) -> np.ndarray:
    """Calibration slope of each replicate (rows weighted by how often they were drawn).

    Rows are pooled first (:func:`pooled_log_odds`), so a replicate is a few thousand weighted cells
    however many rows there are. Every replicate's ``logit P(y) = a + b z`` is then fitted at once by
    Newton-Raphson from the full-data fit ``start``, which is near every replicate's own; each step works
    only on the replicates not yet converged and solves their 2x2 systems in closed form.

    Args:
        counts: (replicates, rows) times each row was drawn.
        y: outcome (0/1) per row.
        probability: prediction per row.
        start: ``(intercept, slope)`` of the full-data fit.
        cells: :func:`log_odds_cells` of ``y`` and ``probability``, when the caller has them already.

    Returns:
        The slope per replicate; NaN where a replicate has one class or does not converge.
    """
    if cells is None:
        cells = log_odds_cells(y, probability)
    return fit_replicate_slopes(pooled_counts(counts, cells.cell, len(cells.z)), cells.y, cells.z, start,
                                iterations, tolerance)


def fit_replicate_slopes(weights: np.ndarray, y_cells: np.ndarray, z: np.ndarray, start: tuple[float, float],
                         iterations: int = 30, tolerance: float = 1e-7) -> np.ndarray:
    """The Newton-Raphson fits of :func:`bootstrap_slope`, ``weights`` (replicates, cells) being each
    replicate's draws per cell of outcome ``y_cells`` and log-odds ``z``."""
    positives, rows = weights @ y_cells, weights.sum(axis=1)
    wy, wyz = positives, weights @ (y_cells * z)
    a = np.full(len(weights), float(start[0]))
    b = np.full(len(weights), float(start[1]))
    active = np.flatnonzero((positives > 0) & (positives < rows))
    converged = np.zeros(len(weights), dtype=bool)
    for _ in range(iterations):
        if not len(active):
            break
        w = weights[active]
        mu = expit(a[active, None] + b[active, None] * z[None, :])
        wmu = w * mu
        v = wmu * (1 - mu)
        g0, g1 = wy[active] - wmu.sum(axis=1), wyz[active] - wmu @ z
        h00, h01, h11 = v.sum(axis=1), v @ z, v @ (z * z)
        det = h00 * h11 - h01 * h01
        with np.errstate(invalid="ignore", divide="ignore"):
            da, db = (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det
        finite = np.isfinite(da) & np.isfinite(db)
        a[active[finite]] += da[finite]
        b[active[finite]] += db[finite]
        done = finite & (np.abs(db) < tolerance) & (np.abs(da) < tolerance)
        converged[active[done]] = True
        active = active[finite & ~done]
    return np.where(converged, b, np.nan)


def bootstrap_calibration(counts: np.ndarray, y: np.ndarray, probability, start: tuple[float, float], *,
                          cells: LogOddsCells | None = None, positives: np.ndarray | None = None
                          ) -> dict[str, np.ndarray]:
    """O/E ratio and calibration slope of each bootstrap replicate (``counts``: replicates x rows).

    ``cells`` (:func:`log_odds_cells`) and ``positives`` (``counts @ y``, outcomes drawn per replicate) may be
    passed when the caller has them, so several scores of the same replicates do not recompute them.
    """
    p = np.asarray(probability, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        oe = (counts @ y if positives is None else positives) / (counts @ p)
    return {"oe_ratio": oe, "calibration_slope": bootstrap_slope(counts, y, p, start, cells=cells)}


def recalibration_fit(y_true, probability) -> tuple[float, float]:
    """``(a, b)`` of ``logit P(y) = a + b logit(prediction)`` (the start of :func:`bootstrap_slope`)."""
    y = np.asarray(y_true, dtype=np.float64)
    z = logit(np.clip(np.asarray(probability, dtype=np.float64), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR))
    a, b = _newton_logistic(np.column_stack([np.ones(len(y)), z]), y, np.zeros(len(y)))
    return float(a), float(b)
