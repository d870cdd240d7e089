"""Model review: metrics, fairness, calibration and governance as ``evaluate``/``govern`` wrote them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.io import read_csv_table, read_json, read_lines
from pipeline.core.paths import project_paths
from pipeline.explore.project import (
    HEADLINE_METRICS,
    MODELS_IN_ORDER,
    numeric_columns,
)


@dataclass(frozen=True)
class ModelReports:
    """Everything ``evaluate``, ``govern`` and ``features`` wrote for one model."""

    model: str
    metrics: dict[str, Any]
    group_metrics: pd.DataFrame
    calibration: pd.DataFrame
    features: dict[str, Any]
    governance: dict[str, Any]
    folder: Path


def model_names(root: Path) -> list[str]:
    """Models with a ``reports/<model>/metrics.json``, sorted."""
    reports = project_paths(root).reports
    return sorted(p.parent.name for p in reports.glob("*/metrics.json"))


def load_model_reports(root: Path, model: str) -> ModelReports:
    """Read ``reports/<model>/{metrics,features,governance}.json``, ``group_metrics.csv``, ``calibration.csv``."""
    folder = project_paths(root).model_reports(model)
    return ModelReports(
        model=model,
        metrics=read_json(folder / "metrics.json"),
        group_metrics=numeric_columns(read_csv_table(folder / "group_metrics.csv")),
        calibration=numeric_columns(read_csv_table(folder / "calibration.csv")),
        features=read_json(folder / "features.json"),
        governance=read_json(folder / "governance.json"),
        folder=folder,
    )


def has_ground_truth(metrics: dict[str, Any]) -> bool:
    """True when evaluation had synthetic true probabilities (the ``generator`` probability baseline)."""
    return "generator" in metrics.get("baselines", {})


def headline_table(metrics: dict[str, Any], split: str = "test",
                   columns: Iterable[str] = HEADLINE_METRICS) -> pd.DataFrame:
    """LightGBM and every baseline side by side on one split.

    Args:
        metrics: ``metrics.json``; ``split`` is ``test`` or ``validation``.

    Returns:
        Index = model (``lightgbm``, ``logistic``, ``rule``, ``generator`` where present), one column per
        metric; ``auc_ci`` becomes ``auc_low`` and ``auc_high``. Undefined metrics are NaN.
    """
    baselines_key = "baselines" if split == "test" else f"{split}_baselines"
    blocks = {"lightgbm": metrics[split], **metrics.get(baselines_key, {})}
    rows = {}
    for name in [m for m in MODELS_IN_ORDER if m in blocks]:
        block, row = blocks[name], {}
        for column in columns:
            value = block.get(column)
            if column.endswith("_ci"):
                low, high = value if value else (None, None)
                row[f"{column[:-3]}_low"], row[f"{column[:-3]}_high"] = low, high
            else:
                row[column] = value
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").astype("float64")


def compare_with_rule(headline: pd.DataFrame, metrics: Iterable[str] = (
        "auc", "average_precision", "precision_at_capacity", "recall_at_capacity", "brier", "ece")) -> pd.DataFrame:
    """LightGBM against the spec's rule score, metric by metric.

    Args:
        headline: :func:`headline_table` output (rows ``lightgbm`` and ``rule``).

    Returns:
        ``metric``, ``lightgbm``, ``rule``, ``lightgbm_minus_rule`` (for brier and ece lower is better).
    """
    rows = [{"metric": m, "lightgbm": headline.at["lightgbm", m], "rule": headline.at["rule", m]}
            for m in metrics if m in headline]
    out = pd.DataFrame(rows, columns=["metric", "lightgbm", "rule"])
    return out.assign(lightgbm_minus_rule=out["lightgbm"] - out["rule"])


def intervals_overlap(headline: pd.DataFrame, first: str, second: str, metric: str = "auc") -> bool | None:
    """Whether two models' bootstrap 95% CIs of ``metric`` overlap (None where either is undefined).

    Overlap is a cautious reading: the test year cannot tell the two apart.
    """
    low, high = f"{metric}_low", f"{metric}_high"
    bounds = headline.loc[[first, second], [low, high]]
    if bounds.isna().any().any():
        return None
    return bool(bounds.at[first, low] <= bounds.at[second, high] and bounds.at[second, low] <= bounds.at[first, high])


def published_groups(group_metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``group_metrics.csv`` that were not suppressed as small cells."""
    return group_metrics[~group_metrics["suppressed"].astype(bool)].reset_index(drop=True)


def fairness_gaps(metrics: dict[str, Any], model: str = "lightgbm") -> pd.DataFrame:
    """Largest between-group gaps per attribute (``metrics.json`` ``fairness``); rows = attribute."""
    return pd.DataFrame.from_dict(metrics.get("fairness", {}).get(model, {}), orient="index").astype("float64")


def governance_table(governance: dict[str, Any]) -> pd.DataFrame:
    """Checklist items: ``id``, ``kind`` (auto | human), ``status``, ``role``, ``evidence``."""
    items = pd.DataFrame(governance["items"])
    if "role" not in items:
        items["role"] = None
    return items[["id", "kind", "status", "role", "evidence"]]


def model_card_markdown(root: Path, model: str) -> str:
    """Text of ``reports/<model>/model_card.md`` ('' when it has not been rendered)."""
    return "\n".join(read_lines(project_paths(root).model_reports(model) / "model_card.md"))


def cohort_table(features_report: dict[str, Any]) -> pd.DataFrame:
    """Rows, labelled rows and prevalence per index year from ``features.json``."""
    rows = [{"index_year": int(year), "rows": v["rows"], "labelled": v["labelled"],
             "prevalence": v.get("outcome_prevalence")}
            for year, v in features_report["rows_by_index_year"].items()]
    return pd.DataFrame(rows).astype({"prevalence": "float64"}).set_index("index_year")
