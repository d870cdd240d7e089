"""Out-of-time split by index year: never shuffle across years."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def capacity_share(spec, rows_by_year: Mapping[int, int]) -> dict[str, Any]:
    """The list's length against the cohort it is drawn from, in the score year and the test year.

    Args:
        spec: a ``ModelSpec`` (``capacity_per_year``, ``capacity_by_year``, ``split``).
        rows_by_year: index year -> rows scored that year (after exclusions and censoring).

    Returns:
        ``{"capacity_per_year", "capacity_by_year", "score_year": {...}, "test_year": {...}}``; each year
        block has ``year, capacity`` (``spec.capacity_in``), ``cohort_rows`` and ``share`` (capacity /
        cohort rows; None without rows). A year the spec does not name is left out.
    """
    out: dict[str, Any] = {"capacity_per_year": spec.capacity_per_year,
                           "capacity_by_year": {str(y): n for y, n in sorted(spec.capacity_by_year.items())}}
    for key, year in (("score_year", spec.split.score_year), ("test_year", spec.split.test_year)):
        if year is None:
            continue
        rows, capacity = int(rows_by_year.get(int(year), 0)), spec.capacity_in(year)
        out[key] = {"year": int(year), "capacity": capacity, "cohort_rows": rows,
                    "share": round(capacity / rows, 5) if rows else None}
    return out
