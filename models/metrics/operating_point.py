"""Precision, recall and lift when early help can take only the top ``k`` scores.

Early help capacity is a fixed number of families a year, so a model is judged at top-k, not at a
probability threshold. When the k-th score is tied (rule scores have few distinct values), the
tied block is shared pro rata: the result is the expected value under a random choice among the
tied rows, so no arbitrary row order decides who is picked.
"""

from __future__ import annotations

import math

import numpy as np

TOP_FRACTIONS = {"0_5pct": 0.005, "1pct": 0.01, "5pct": 0.05}


def selection_weights(score, k: int) -> np.ndarray:
    """Each row's chance of being among the top ``k`` (1 above the cut, shared within a tie at it)."""
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


def precision_recall_at_k(y_true, score, k: int) -> dict:
    """Precision, recall and lift (precision / prevalence) among the top ``k`` rows.

    Returns:
        ``{"k", "precision", "recall", "lift"}``; None where undefined (no rows or no positives).
    """
    y = np.asarray(y_true, dtype=np.float64)
    w = selection_weights(score, k)
    selected = w.sum()
    positives = y.sum()
    hits = float((w * y).sum())
    precision = hits / selected if selected else None
    prevalence = positives / len(y) if len(y) else 0.0
    return {
        "k": int(round(selected)),
        "precision": precision,
        "recall": hits / positives if positives else None,
        "lift": precision / prevalence if precision is not None and prevalence else None,
    }


def operating_point_metrics(y_true, score, capacity: int) -> dict:
    """Precision/recall/lift at ``capacity`` and precision/lift in the top 0.5%, 1% and 5%.

    Returns:
        Keys ``precision_at_capacity, recall_at_capacity, lift_at_capacity`` and, for each of
        ``0_5pct, 1pct, 5pct``, ``precision_top_<f>, recall_top_<f>, lift_top_<f>``.
    """
    n = len(np.asarray(y_true))
    at_capacity = precision_recall_at_k(y_true, score, capacity)
    out = {
        "precision_at_capacity": at_capacity["precision"],
        "recall_at_capacity": at_capacity["recall"],
        "lift_at_capacity": at_capacity["lift"],
    }
    for label, fraction in TOP_FRACTIONS.items():
        top = precision_recall_at_k(y_true, score, math.ceil(fraction * n))
        out[f"precision_top_{label}"] = top["precision"]
        out[f"recall_top_{label}"] = top["recall"]
        out[f"lift_top_{label}"] = top["lift"]
    return out
