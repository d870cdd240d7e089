"""AUROC and average precision, with vectorised bootstrap confidence intervals.

Bootstrap replicates are computed as whole arrays (one row per replicate) so a 200-replicate CI on
a 200,000-row test year takes seconds, not minutes. Ties are handled exactly as scikit-learn does:
AUROC counts a tied positive/negative pair as one half; average precision takes the precision at
the end of each block of tied scores.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

BOOTSTRAP_CHUNK_CELLS = 20_000_000  # replicate rows x sample size per chunk: bounds memory


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Row indices of ``n_boot`` bootstrap resamples of ``n`` rows, shape ``(n_boot, n)``."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n), dtype=np.int64)


def auc_rows(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AUROC of each row of 2-D ``y``/``score`` (Mann-Whitney with mid-ranks); NaN if one class."""
    ranks = rankdata(score, axis=1, method="average")
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_precision_rows(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Average precision of each row of 2-D ``y``/``score``, tie blocks as scikit-learn."""
    order = np.argsort(-score, axis=1, kind="stable")
    s = np.take_along_axis(score, order, axis=1)
    t = np.take_along_axis(y, order, axis=1).astype(np.float64)
    n = s.shape[1]
    precision = np.cumsum(t, axis=1) / np.arange(1, n + 1)
    block_end = np.ones_like(s, dtype=bool)
    block_end[:, :-1] = s[:, 1:] != s[:, :-1]
    # for every position, the index of the last row of its tie block (the next block end at or after it)
    end_index = np.where(block_end, np.arange(n), n)
    end_index = np.minimum.accumulate(end_index[:, ::-1], axis=1)[:, ::-1]
    at_block_end = np.take_along_axis(precision, end_index, axis=1)
    n_pos = t.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (t * at_block_end).sum(axis=1) / n_pos


def _bootstrap(metric, y: np.ndarray, score: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    n = len(y)
    chunk = max(1, BOOTSTRAP_CHUNK_CELLS // max(n, 1))
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        values.append(metric(y[idx], score[idx]))
    return np.concatenate(values) if values else np.array([])


def _interval(values: np.ndarray, level: float) -> list[float | None]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return [None, None]
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


def _one_class(y: np.ndarray) -> bool:
    return len(y) == 0 or y.min() == y.max()


def auc_with_ci(y_true, score, *, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> dict:
    """AUROC (scikit-learn) and a percentile bootstrap CI.

    Returns:
        ``{"auc": float | None, "auc_ci": [low, high]}``; None when only one class is present.
    """
    y = np.asarray(y_true, dtype=np.int8)
    s = np.asarray(score, dtype=np.float64)
    if _one_class(y):
        return {"auc": None, "auc_ci": [None, None]}
    boot = _bootstrap(auc_rows, y, s, n_boot, seed)
    return {"auc": float(roc_auc_score(y, s)), "auc_ci": _interval(boot, level)}


def average_precision_with_ci(y_true, score, *, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> dict:
    """Average precision (scikit-learn) and a percentile bootstrap CI.

    Returns:
        ``{"average_precision": float | None, "average_precision_ci": [low, high]}``.
    """
    y = np.asarray(y_true, dtype=np.int8)
    s = np.asarray(score, dtype=np.float64)
    if _one_class(y):
        return {"average_precision": None, "average_precision_ci": [None, None]}
    boot = _bootstrap(average_precision_rows, y, s, n_boot, seed)
    return {
        "average_precision": float(average_precision_score(y, s)),
        "average_precision_ci": _interval(boot, level),
    }
