"""Evaluation plots as PNG bytes (``models.evaluate_stage`` writes them through pipeline/core/io.py and logs them)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from models.evaluation import MODEL_SCORES, labelled_rows  # noqa: E402
from models.metrics.calibration import reliability_table  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _models(rows: pd.DataFrame):
    for model, (score_col, prob_col) in MODEL_SCORES.items():
        if score_col in rows.columns:
            subset = rows[rows[score_col].notna()]
            if len(subset) and subset["outcome"].nunique() == 2:
                yield model, subset, score_col, prob_col


def roc_table(scores: pd.DataFrame, split: str = "test", points: int = 101) -> pd.DataFrame:
    """ROC curves of every model on one split on a shared false-positive-rate grid (for `dvc plots`).

    Returns:
        ``fpr`` (0 to 1 in ``points`` steps) and one true-positive-rate column per model evaluated
        (``lightgbm``, ``logistic``, ``rule`` and, with synthetic truth, ``oracle``). Each curve is the
        upper envelope of sklearn's ``roc_curve`` at each grid point, so ties plot as steps.
    """
    grid = np.linspace(0.0, 1.0, points)
    table = {"fpr": grid}
    for model, rows, score_col, _ in _models(labelled_rows(scores, split)):
        fpr, tpr, _ = roc_curve(rows["outcome"].astype(int), rows[score_col])
        table[model] = np.maximum.accumulate(tpr)[np.searchsorted(fpr, grid, side="right") - 1]
    return pd.DataFrame(table)


def plot_roc(scores: pd.DataFrame, split: str = "test") -> bytes:
    """ROC curves of every model on one split."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for model, rows, score_col, _ in _models(labelled_rows(scores, split)):
        fpr, tpr, _ = roc_curve(rows["outcome"].astype(int), rows[score_col])
        ax.plot(fpr, tpr, label=model)
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC ({split})")
    ax.legend()
    return _png(fig)


def plot_precision_recall(scores: pd.DataFrame, split: str = "test") -> bytes:
    """Precision-recall curves of every model on one split."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for model, rows, score_col, _ in _models(labelled_rows(scores, split)):
        precision, recall, _ = precision_recall_curve(rows["outcome"].astype(int), rows[score_col])
        ax.plot(recall, precision, label=model)
    ax.set(xlabel="recall", ylabel="precision", title=f"Precision-recall ({split})")
    ax.legend()
    return _png(fig)


def plot_calibration(curves: pd.DataFrame, title: str = "Calibration (test)", by: str = "model") -> bytes:
    """Reliability curves: observed rate against mean prediction, one line per ``by`` value."""
    fig, ax = plt.subplots(figsize=(5, 5))
    top = float(max(curves["mean_predicted"].max(), curves["observed"].max(), 1e-3)) if len(curves) else 1.0
    for name, rows in curves.groupby(by, sort=False):
        ax.plot(rows["mean_predicted"], rows["observed"], marker="o", label=str(name))
    ax.plot([0, top], [0, top], ls=":", color="grey")
    ax.set(xlabel="mean predicted probability", ylabel="observed rate", title=title)
    ax.legend(fontsize=7)
    return _png(fig)


def calibration_by_group(rows: pd.DataFrame, prob_col: str, group_col: str, n_bins: int = 5,
                         min_n: int = 10, min_positives: int = 5) -> pd.DataFrame:
    """Reliability table per group (suppressed groups left out). Columns ``group, bin, mean_predicted, observed, n``."""
    tables = []
    for group, subset in rows.groupby(rows[group_col].astype("string").fillna("Unknown")):
        if len(subset) >= min_n and subset["outcome"].sum() >= min_positives:
            tables.append(reliability_table(subset["outcome"], subset[prob_col], n_bins).assign(group=group))
    if not tables:
        return pd.DataFrame(columns=["group", "bin", "mean_predicted", "observed", "n"])
    return pd.concat(tables, ignore_index=True)


def plot_group_error_rates(table: pd.DataFrame, metrics=("selection_rate", "tpr", "fpr", "ppv")) -> bytes:
    """Bars of error rates per group for each attribute (suppressed cells are blank)."""
    attributes = list(dict.fromkeys(table["attribute"]))
    fig, axes = plt.subplots(len(attributes), 1, figsize=(8, 2.6 * max(len(attributes), 1)), squeeze=False)
    for ax, attribute in zip(axes[:, 0], attributes, strict=True):
        rows = table[table["attribute"] == attribute]
        x = np.arange(len(rows))
        width = 0.8 / len(metrics)
        for i, metric in enumerate(metrics):
            ax.bar(x + i * width, rows[metric].astype(float).fillna(0), width, label=metric)
        ax.set_xticks(x + width * (len(metrics) - 1) / 2, rows["group"], rotation=30, fontsize=7, ha="right")
        ax.set_title(attribute, fontsize=9)
    axes[0, 0].legend(fontsize=7, ncol=len(metrics))
    fig.tight_layout()
    return _png(fig)
