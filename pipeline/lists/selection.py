"""Who goes on a list: the latest cohort, its highest risks up to early help capacity, and their bands."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def select_scoring_cohort(features: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Feature rows of the cohort to score: the ``score`` split of scores.parquet, else the latest index date.

    Args:
        features: the model's features frame (``person_id``, ``index_date`` and the feature columns).
        scores: ``person_id``, ``index_date``, ``split`` from scores.parquet.

    Returns:
        The selected feature rows, index reset.
    """
    wanted = scores[scores["split"] == "score"][["person_id", "index_date"]]
    if wanted.empty:
        rows = features[features["index_date"] == features["index_date"].max()]
    else:
        rows = features.merge(wanted, on=["person_id", "index_date"], how="inner")
    return rows.reset_index(drop=True)


def rank_by_risk(scored: pd.DataFrame) -> pd.DataFrame:
    """``scored`` highest risk first, ties broken by token so reruns agree (``person_id``, ``risk``)."""
    return scored.sort_values(["risk", "person_id"], ascending=[False, True], kind="stable")


def select_top_by_capacity(scored: pd.DataFrame, capacity: int) -> pd.DataFrame:
    """The ``capacity`` highest risks, ranked 1..k (ties broken by token so reruns agree).

    Args:
        scored: ``person_id``, ``risk`` (calibrated probability) plus any other columns.

    Returns:
        The selected rows with ``rank`` (int), highest risk first.
    """
    ordered = rank_by_risk(scored)
    return ordered.head(capacity).assign(rank=np.arange(1, min(capacity, len(ordered)) + 1)).reset_index(drop=True)


def band_risk(risk: pd.Series, base_rate: float, multiples: Mapping[str, float]) -> pd.Series:
    """Band each risk by how many times the cohort base rate it is (``multiples``: band -> minimum multiple)."""
    ratio = risk / base_rate if base_rate > 0 else pd.Series(np.inf, index=risk.index)
    band = pd.Series("below the listed bands", index=risk.index, dtype="str")
    for name, minimum in sorted(multiples.items(), key=lambda kv: kv[1]):
        band = band.mask(ratio >= minimum, f"{name} ({minimum:g}x base rate or more)")
    return band
