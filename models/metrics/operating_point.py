"""Precision, recall and lift when early help can take only the top ``k`` rows.

Early help capacity is a fixed number of families a year, so a model is judged at top-k, not at a
probability threshold. Which ``k`` rows is decided by :mod:`models.selection` (margin first, ties by a
seeded draw), the same rule the issued list uses, so the figures describe the list a team would get.
Callers pass that order (``selection_order``), which is computed once per score.

Bootstrap: a replicate is a multiset of rows, given as each row's count. Re-selecting the top ``k`` of
a replicate needs no sort: in selection order, the replicate takes each row's copies until ``k`` are
taken (``min(count, k - taken so far)``), one cumulative sum per replicate.
"""

from __future__ import annotations

import math

import numpy as np

TOP_FRACTIONS = {"0_5pct": 0.005, "1pct": 0.01, "5pct": 0.05}


def selection_weights(score, k: int) -> np.ndarray:
    """Each row's chance of being among the top ``k`` when a tie at the cut is shared pro rata.

    Kept for external scores (``models.external_scores``), which carry no person token to draw by;
    the models' own selection is :func:`models.selection.select_top`.
    """
    s = np.asarray(score, dtype=np.float64)
    n = len(s)
    k = int(min(max(k, 0), n))
    if k == 0:
        return np.zeros(n)
    if k == n:
        return np.ones(n)
    cut = np.sort(s)[::-1][k - 1]
    above = s > cut
    at = s == cut
    weights = above.astype(np.float64)
    weights[at] = (k - above.sum()) / at.sum()
    return weights


def precision_recall_at_k(y_true, order, k: int) -> dict:
    """Precision, recall and lift (precision / prevalence) among the first ``k`` rows of ``order``.

    Args:
        y_true: outcome (0/1) per row.
        order: row positions, highest risk first (:func:`models.selection.selection_order`).

    Returns:
        ``{"k", "precision", "recall", "lift"}``; None where undefined (no rows or no positives).
    """
    y = np.asarray(y_true, dtype=np.float64)
    chosen = np.asarray(order)[: max(int(k), 0)]
    hits, positives = float(y[chosen].sum()), float(y.sum())
    precision = hits / len(chosen) if len(chosen) else None
    prevalence = positives / len(y) if len(y) else 0.0
    return {
        "k": int(len(chosen)),
        "precision": precision,
        "recall": hits / positives if positives else None,
        "lift": precision / prevalence if precision is not None and prevalence else None,
    }


def expected_precision_at_k(expected, order, k: int) -> float | None:
    """Mean of ``expected`` (the generator's probability) over the first ``k`` rows of ``order``: the list's
    expected precision, which no draw of the outcome decides. None with no row or no capacity.

    Args:
        expected: per-row probability.
        order: row positions, highest risk first (:func:`models.selection.selection_order`).
    """
    chosen = np.asarray(order)[: max(int(k), 0)]
    return float(np.asarray(expected, dtype=np.float64)[chosen].mean()) if len(chosen) else None


def operating_point_metrics(y_true, order, capacity: int) -> dict:
    """Precision/recall/lift at ``capacity`` and precision/lift in the top 0.5%, 1% and 5%.

    Returns:
        Keys ``precision_at_capacity, recall_at_capacity, lift_at_capacity`` and, for each of
        ``0_5pct, 1pct, 5pct``, ``precision_top_<f>, recall_top_<f>, lift_top_<f>``.
    """
    n = len(np.asarray(y_true))
    at_capacity = precision_recall_at_k(y_true, order, capacity)
    out = {
        "precision_at_capacity": at_capacity["precision"],
        "recall_at_capacity": at_capacity["recall"],
        "lift_at_capacity": at_capacity["lift"],
    }
    for label, fraction in TOP_FRACTIONS.items():
        top = precision_recall_at_k(y_true, order, math.ceil(fraction * n))
        out[f"precision_top_{label}"] = top["precision"]
        out[f"recall_top_{label}"] = top["recall"]
        out[f"lift_top_{label}"] = top["lift"]
    return out


def taken_at_capacity(counts: np.ndarray, order: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies of each row that each replicate's top ``k`` takes, over a prefix of ``order``.

    Only the first rows in order can be taken, so the cumulative sum runs over a prefix long enough for
    every replicate to reach ``k`` (the whole order if a short one is not).

    Args:
        counts: (replicates, rows) times each row was drawn.
        order: row positions, highest risk first.

    Returns:
        ``(taken, positions)``: (replicates, len(positions)) copies taken of the rows ``positions``.
    """
    order = np.asarray(order)
    k = max(int(k), 0)
    length = min(len(order), 4 * k + 64)
    while True:
        positions = order[:length]
        in_order = counts[:, positions]
        before = np.cumsum(in_order, axis=1) - in_order
        taken = np.clip(k - before, 0, in_order)
        if length == len(order) or (before[:, -1] + in_order[:, -1] >= k).all():
            return taken, positions
        length = min(len(order), 4 * length)


def bootstrap_at_capacity(counts: np.ndarray, y: np.ndarray, order: np.ndarray, k: int,
                          expected=None, *, positives: np.ndarray | None = None, rows: np.ndarray | None = None
                          ) -> dict[str, np.ndarray]:
    """Precision, recall and lift at ``k`` of each replicate, the top ``k`` re-selected within it.

    Args:
        counts: (replicates, rows) times each row was drawn.
        y: outcome (0/1) per row.
        order: row positions, highest risk first.
        expected: optional per-row probability (the generator's); adds ``expected_precision``, the mean
            of it over each replicate's selected rows.
        positives, rows: ``counts @ y`` and ``counts.sum(axis=1)`` when the caller has them (they do not
            depend on the score).

    Returns:
        ``precision, recall, lift`` (and ``expected_precision``) arrays, one value per replicate (NaN
        where undefined).
    """
    taken, positions = taken_at_capacity(counts, order, k)
    selected = taken.sum(axis=1)
    hits = taken @ y[positions]
    positives = counts @ y if positives is None else positives
    rows = counts.sum(axis=1) if rows is None else rows
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = hits / selected
        out = {"precision": precision, "recall": hits / positives, "lift": precision / (positives / rows)}
        if expected is not None:
            out["expected_precision"] = (taken @ np.asarray(expected, dtype=np.float64)[positions]) / selected
    return out
