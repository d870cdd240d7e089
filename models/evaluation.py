"""The metrics block: one function computes every figure that metrics.json and MLflow show.

Each block (one model's scores on one year) has discrimination with bootstrap CIs, the operating
point at capacity and in the top 0.5%/1%/5%, and calibration. Scores that are points (the rule)
rank rows for discrimination and the operating point; their calibrated probability is used for
calibration. Fairness is audited by the attributes of the spec's population, which the caller passes
in (``features.populations``: models does not import features).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.metrics.calibration import calibration_metrics, reliability_table
from models.metrics.discrimination import discrimination_with_ci
from models.metrics.fairness import group_gaps, group_metrics
from models.metrics.operating_point import operating_point_metrics, selection_weights

MODEL_SCORES = {  # model -> (ranking score column, probability column)
    "lightgbm": ("score_lightgbm", "score_lightgbm"),
    "logistic": ("score_logistic", "score_logistic"),
    "rule": ("score_rule", "probability_rule"),
    "oracle": ("p_true", "p_true"),
}


def metrics_blocks(y_true, scores: dict[str, tuple], capacity: int, *, n_boot: int = 200, seed: int = 0,
                   n_bins: int = 10) -> dict[str, dict]:
    """Every headline metric of several sets of scores of the same rows on one year.

    The scores share one set of bootstrap draws (the same resampled rows), as separate calls with
    one seed would draw anyway.

    Args:
        y_true: observed outcome (0/1) per row.
        scores: name -> ``(ranking score, probability)`` arrays aligned with ``y_true``.

    Returns:
        Per name: ``n, prevalence, auc, auc_ci, average_precision, average_precision_ci, brier, ece,
        oe_ratio, calibration_slope, calibration_intercept, precision/recall/lift_at_capacity`` and
        ``precision/recall/lift_top_{0_5pct,1pct,5pct}``.
    """
    y = np.asarray(y_true, dtype=np.int64)
    discrimination = discrimination_with_ci(y, [score for score, _ in scores.values()], n_boot=n_boot, seed=seed)
    return {
        name: {
            "n": int(len(y)),
            "prevalence": float(y.mean()) if len(y) else None,
            **ranked,
            **calibration_metrics(y, probability, n_bins),
            **operating_point_metrics(y, score, capacity),
        }
        for (name, (score, probability)), ranked in zip(scores.items(), discrimination, strict=True)
    }


def metrics_block(y_true, score, probability, capacity: int, *, n_boot: int = 200, seed: int = 0,
                  n_bins: int = 10) -> dict:
    """Every headline metric of one set of scores on one year (``metrics_blocks`` of one score)."""
    return metrics_blocks(y_true, {"one": (score, probability)}, capacity, n_boot=n_boot, seed=seed,
                          n_bins=n_bins)["one"]


def labelled_rows(scores: pd.DataFrame, split: str) -> pd.DataFrame:
    """Rows of one split whose outcome has matured."""
    return scores[(scores["split"] == split) & scores["outcome"].notna()]


def evaluate_models(scores: pd.DataFrame, capacity: int, *, n_boot: int = 200, seed: int = 0,
                    n_bins: int = 10) -> dict:
    """The ``metrics.json`` tree for every model and baseline on the test and validation years.

    Args:
        scores: ``scores.parquet`` columns (``split, outcome, index_date, score_*``,
            ``probability_rule``) plus ``p_true`` where synthetic truth is attached (NaN where a
            row has no true probability; the oracle block then covers only rows that have one and
            ``lightgbm_same_rows`` repeats LightGBM on exactly those rows).

    Returns:
        ``{"capacity", "test_index_date", "test", "validation", "baselines": {"logistic", "rule",
        "oracle"?}, "validation_baselines": {...}}``.
    """
    out: dict = {"capacity": int(capacity)}
    test = labelled_rows(scores, "test")
    out["test_index_date"] = str(pd.Timestamp(test["index_date"].max()).date()) if len(test) else None
    for split, main_key, baselines_key in (("test", "test", "baselines"),
                                           ("validation", "validation", "validation_baselines")):
        rows = labelled_rows(scores, split)
        models = {model: (rows[score_col], rows[prob_col]) for model, (score_col, prob_col) in MODEL_SCORES.items()
                  if model != "oracle"}
        blocks = metrics_blocks(rows["outcome"], models, capacity, n_boot=n_boot, seed=seed, n_bins=n_bins)
        if "p_true" in rows.columns and rows["p_true"].notna().sum() > 0:
            same = rows[rows["p_true"].notna()]
            oracle = metrics_blocks(same["outcome"], {"oracle": (same["p_true"], same["p_true"]),
                                                      "lightgbm_same_rows": (same["score_lightgbm"],
                                                                             same["score_lightgbm"])},
                                    capacity, n_boot=n_boot, seed=seed, n_bins=n_bins)
            blocks["oracle"] = oracle["oracle"]
            blocks["oracle"]["coverage"] = len(same) / len(rows) if len(rows) else None
            blocks["oracle"]["lightgbm_same_rows"] = oracle["lightgbm_same_rows"]
        out[main_key] = blocks.pop("lightgbm")
        out[baselines_key] = blocks
    return out


def calibration_curves(scores: pd.DataFrame, split: str = "test", n_bins: int = 10) -> pd.DataFrame:
    """Reliability table of every model on one split.

    Returns:
        Columns ``model, bin, mean_predicted, observed, n``.
    """
    rows = labelled_rows(scores, split)
    tables = []
    for model, (_, prob_col) in MODEL_SCORES.items():
        if prob_col not in rows.columns:
            continue
        subset = rows[rows[prob_col].notna()]
        if len(subset):
            tables.append(reliability_table(subset["outcome"], subset[prob_col], n_bins).assign(model=model))
    return pd.concat(tables, ignore_index=True)[["model", "bin", "mean_predicted", "observed", "n"]]


def fairness_table(rows: pd.DataFrame, score_col: str, prob_col: str, capacity: int, *,
                   attributes: Mapping[str, Sequence[str]], n_boot: int = 200, seed: int = 0, min_n: int = 10,
                   min_positives: int = 5) -> pd.DataFrame:
    """``group_metrics`` of one model's flags at capacity on ``rows`` (one year, labelled).

    The rows flagged are the top ``capacity`` by score; where the capacity cut falls inside a tie,
    rows are flagged in proportion (see ``selection_weights``).

    Args:
        attributes: audited attribute -> ``fair_*`` columns (the population's ``fairness_attributes``);
            an attribute whose columns ``rows`` lacks is left out.
    """
    attributes = {k: list(v) for k, v in attributes.items() if all(c in rows.columns for c in v)}
    selected = selection_weights(rows[score_col].to_numpy(), capacity)
    return group_metrics(rows["outcome"].astype("int64"), selected, rows[prob_col], rows, attributes,
                         n_boot=n_boot, seed=seed, min_n=min_n, min_positives=min_positives,
                         ranking=rows[score_col].to_numpy())


def fairness_summary(table: pd.DataFrame) -> dict:
    """Largest between-group gaps per attribute, over unsuppressed groups only."""
    return group_gaps(table)
