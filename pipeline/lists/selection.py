"""Who goes on a list: the latest cohort, its highest risks up to early help capacity, and their bands."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models.selection import selection_order


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


def rank_by_risk(scored: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """``scored`` highest risk first, in the order evaluation selects by (:mod:`models.selection`).

    Ranked by the uncalibrated ``margin`` (calibration is monotone, and the margin has none of isotonic
    calibration's ties); any tie left is broken by a draw seeded with the spec's ``seed``, never by the
    token's order.

    Args:
        scored: ``person_id``, ``margin`` (LightGBM's raw score, :func:`pipeline.lists.scoring.score_margin`)
            plus any other columns.
        seed: the model spec's seed (``ModelSpec.seed``), as evaluation uses.
    """
    if "margin" not in scored.columns:
        raise ValueError("scored rows need a `margin` column (LightGBM's raw score) to be ranked as evaluated")
    return scored.iloc[selection_order(scored["margin"].to_numpy(), scored["person_id"].to_numpy(), seed)]


def select_top_by_capacity(scored: pd.DataFrame, capacity: int, *, seed: int) -> pd.DataFrame:
    """The ``capacity`` highest risks in :func:`rank_by_risk` order, ranked 1..k.

    Args:
        scored: ``person_id``, ``margin``, ``risk`` (calibrated probability) plus any other columns.
        seed: the model spec's seed.

    Returns:
        The selected rows with ``rank`` (int), highest risk first.
    """
    ordered = rank_by_risk(scored, seed=seed)
    return ordered.head(capacity).assign(rank=np.arange(1, min(capacity, len(ordered)) + 1)).reset_index(drop=True)


def tie_break_seed(metrics: Mapping) -> int:
    """The seed evaluation broke ties with (``metrics.json``: ``selection.tie_break_seed``, the spec's seed).

    Raises:
        ValueError: metrics.json does not record it (written before selection was recorded: re-run evaluate).
    """
    seed = (metrics.get("selection") or {}).get("tie_break_seed")
    if seed is None:
        raise ValueError("metrics.json records no selection.tie_break_seed: re-run `riskpipe evaluate` so the list "
                         "is selected as it was evaluated")
    return int(seed)


def band_risk(risk: pd.Series, base_rate: float, multiples: Mapping[str, float]) -> pd.Series:
    """Band each risk by how many times the cohort base rate it is (``multiples``: band -> minimum multiple)."""
    ratio = risk / base_rate if base_rate > 0 else pd.Series(np.inf, index=risk.index)
    band = pd.Series("below the listed bands", index=risk.index, dtype="str")
    for name, minimum in sorted(multiples.items(), key=lambda kv: kv[1]):
        band = band.mask(ratio >= minimum, f"{name} (at least {minimum:g} times the average risk)")
    return band
