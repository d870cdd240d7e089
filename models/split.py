"""Out-of-time split by index year: never shuffle across years."""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "validation", "test", "score")


def assign_split(features: pd.DataFrame, split) -> pd.Series:
    """The split of each row from its ``index_year`` and the spec's ``split`` section.

    Args:
        features: needs ``index_year``.
        split: ``train_years``, ``validation_year``, ``test_year``, ``score_year`` (optional).

    Returns:
        ``train`` | ``validation`` | ``test`` | ``score`` (the score year, or any year after the
        test year when none is named) | ``unused`` (any other year), aligned with ``features``.
    """
    year = features["index_year"].astype("int64").to_numpy()
    score_years = [split.score_year] if split.score_year is not None else None
    conditions = [
        np.isin(year, split.train_years),
        year == split.validation_year,
        year == split.test_year,
        np.isin(year, score_years) if score_years else year > split.test_year,
    ]
    return pd.Series(np.select(conditions, SPLITS, default="unused"), index=features.index, name="split")
