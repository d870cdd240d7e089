"""AUROC and average precision, with bootstrap confidence intervals from tie-block counts.

A bootstrap replicate is a multiset of rows, so its AUROC and average precision depend only on how
many positives and negatives it holds at each distinct score. The scores are sorted once and each
row given a code (``rank_codes``: its tie block if it is a positive; for a negative, the positive
block it ties with or lies just below); each replicate is then one ``bincount`` of its rows' codes
weighted by its row counts (``models.metrics.resampling``) and a few cumulative sums: O(n) per replicate,
no re-sorting. Ties are handled exactly as
scikit-learn does: AUROC counts a tied positive/negative pair as one half; average precision takes
the precision at the end of each block of tied scores.

The rows drawn are those of ``numpy.random.default_rng(seed).integers(0, n, n)`` per replicate
(``models.metrics.resampling``), so one seed gives the same replicates (and CIs) in every run, whichever
scores share the draws. ``models.metrics.bootstrap`` counts them in the same pass as the decision metrics
and hands them to :func:`discrimination_with_ci`.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from models.metrics.resampling import pooled_counts, replicate_counts


def rank_codes(y_true, score) -> tuple[np.ndarray, int]:
    """Each row's code for counting, and ``m``, the number of distinct scores held by a positive.

    Only the tie blocks that hold a positive (``P_0 < ... < P_{m-1}``) need their own counts; the
    negatives between two of them can be pooled. Codes: ``j`` for a positive in ``P_j``;
    ``m + j`` for a negative tied with ``P_j``; ``2m + j`` for a negative scored between
    ``P_{j-1}`` and ``P_j`` (``j = m``: above every positive). So there are ``3m + 1`` codes.
    """
    y = np.asarray(y_true, dtype=np.int64)
    uniques, block = np.unique(np.asarray(score, dtype=np.float64), return_inverse=True)
    positive_blocks = np.unique(block[y == 1])
    m = len(positive_blocks)
    j = np.searchsorted(positive_blocks, block)
    tied = positive_blocks[np.minimum(j, max(m - 1, 0))] == block if m else np.zeros(len(y), dtype=bool)
    code = np.where(y == 1, j, np.where(tied, m + j, 2 * m + j))
    return code.astype(np.int64), m


def auc_and_average_precision_from_counts(counts: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average precision from (weighted) row counts per ``rank_codes`` code (last axis).

    AUROC: each positive beats the negatives below its block and ties half those in it. Average
    precision: walking down from the highest score, each positive block adds its share of recall at
    the precision reached at the block's end (scikit-learn's step-wise definition). NaN where a
    replicate lacks a class.
    """
    pos, tied, between = counts[..., :m], counts[..., m:2 * m], counts[..., 2 * m:]
    n_pos, n_neg = pos.sum(axis=-1), tied.sum(axis=-1) + between.sum(axis=-1)
    below = np.cumsum(between[..., :m], axis=-1) + np.cumsum(tied, axis=-1) - 0.5 * tied
    hits = np.cumsum(pos[..., ::-1], axis=-1)[..., ::-1]
    above = np.cumsum((tied + between[..., 1:])[..., ::-1], axis=-1)[..., ::-1]
    flagged = hits + above
    precision = np.divide(hits, flagged, out=np.zeros_like(hits), where=flagged > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * below).sum(axis=-1) / (n_pos * n_neg), (pos * precision).sum(axis=-1) / n_pos


def bootstrap_discrimination(y_true, scores: list, *, n_boot: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bootstrap AUROC and average precision of several scores of the same rows, from one set of draws.

    Args:
        y_true: outcome (0/1) per row.
        scores: score arrays aligned with ``y_true`` (higher = more risk).

    Returns:
        Per score, ``(auc, average_precision)`` arrays of ``n_boot`` replicates (NaN where undefined).
    """
    y = np.asarray(y_true, dtype=np.int64)
    coded = [rank_codes(y, s) for s in scores]
    results = [(np.full(n_boot, np.nan), np.full(n_boot, np.nan)) for _ in scores]
    for start, counts in replicate_counts(len(y), n_boot, seed):
        for (auc, ap), (code, m) in zip(results, coded, strict=True):
            auc[start:start + len(counts)], ap[start:start + len(counts)] = discrimination_of_counts(counts, code, m)
    return results


def discrimination_of_counts(counts: np.ndarray, code: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average precision of each replicate from its row counts (replicates x rows), given
    :func:`rank_codes` ``(code, m)`` of one score."""
    return auc_and_average_precision_from_counts(pooled_counts(counts, code, 3 * m + 1), m)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> list[float | None]:
    """Percentile interval of the finite replicates; ``[None, None]`` when there are none."""
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return [None, None]
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


def _one_class(y: np.ndarray) -> bool:
    return len(y) == 0 or y.min() == y.max()


def discrimination_with_ci(y_true, scores: list, *, n_boot: int = 200, seed: int = 0,
                           level: float = 0.95, replicates: list | None = None) -> list[dict]:
    """AUROC and average precision (scikit-learn) with percentile bootstrap CIs, for each score.

    All scores share one set of bootstrap draws (they rank the same rows). ``replicates`` (per score the
    ``(auc, average_precision)`` arrays of :func:`bootstrap_discrimination`, counted already with the same
    seed by ``models.metrics.bootstrap``) are used instead of counting them again.

    Returns:
        Per score, ``{"auc", "auc_ci", "average_precision", "average_precision_ci"}``; None when
        only one class is present.
    """
    y = np.asarray(y_true, dtype=np.int64)
    arrays = [np.asarray(s, dtype=np.float64) for s in scores]
    if _one_class(y):
        return [{"auc": None, "auc_ci": [None, None], "average_precision": None,
                 "average_precision_ci": [None, None]} for _ in arrays]
    if replicates is None:
        replicates = bootstrap_discrimination(y, arrays, n_boot=n_boot, seed=seed)
    return [{"auc": float(roc_auc_score(y, s)), "auc_ci": percentile_interval(auc, level),
             "average_precision": float(average_precision_score(y, s)),
             "average_precision_ci": percentile_interval(ap, level)}
            for s, (auc, ap) in zip(arrays, replicates, strict=True)]


def auc_with_ci(y_true, score, *, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> dict:
    """AUROC (scikit-learn) and a percentile bootstrap CI.

    Returns:
        ``{"auc": float | None, "auc_ci": [low, high]}``; None when only one class is present.
    """
    out = discrimination_with_ci(y_true, [score], n_boot=n_boot, seed=seed, level=level)[0]
    return {"auc": out["auc"], "auc_ci": out["auc_ci"]}


def average_precision_with_ci(y_true, score, *, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> dict:
    """Average precision (scikit-learn) and a percentile bootstrap CI.

    Returns:
        ``{"average_precision": float | None, "average_precision_ci": [low, high]}``.
    """
    out = discrimination_with_ci(y_true, [score], n_boot=n_boot, seed=seed, level=level)[0]
    return {"average_precision": out["average_precision"], "average_precision_ci": out["average_precision_ci"]}
