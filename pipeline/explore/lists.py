"""Risk lists as an early help team receives them, without tokens or per-person record dates; the features behind
the listed reasons from the list's parquet file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.io import read_csv_table, read_parquet
from pipeline.core.paths import project_paths
from pipeline.sources.registry import person_sources


def load_risk_list(root: Path, model: str) -> pd.DataFrame:
    """``outputs/risk_lists/<model>/risk_list.csv`` without ``person_token``.

    Returns:
        Every other list column; ``rank`` as int and ``risk_percent`` as float.
    """
    path = project_paths(root).outputs / "risk_lists" / model / "risk_list.csv"
    frame = read_csv_table(path).drop(columns=["person_token"])
    return frame.astype({"rank": "int64", "risk_percent": "float64"})


REASON_FEATURE = re.compile(r"^reason_(\d+)_feature$")


def load_reason_features(root: Path, model: str) -> pd.DataFrame:
    """The features behind each listed person's reasons: the ``reason_<i>_feature`` columns of
    ``outputs/risk_lists/<model>/risk_list.parquet`` (docs/contracts.md "Risk lists"), in rank order.

    Returns:
        ``rank`` and ``reason_1_feature`` .. ``reason_<n>_feature`` (feature names; null where a person has
        fewer reasons); no token and no other per-person column.
    """
    path = project_paths(root).outputs / "risk_lists" / model / "risk_list.parquet"
    frame = read_parquet(path)
    columns = sorted((c for c in frame.columns if REASON_FEATURE.match(c)),
                     key=lambda c: int(REASON_FEATURE.match(c).group(1)))
    return frame[["rank", *columns]].reset_index(drop=True)


def factor_counts(reason_features: pd.DataFrame, descriptions: dict[str, str] | None = None) -> pd.DataFrame:
    """How many listed people have each feature among their reasons (:func:`load_reason_features`).

    A person counts once per feature, however many of their reasons it gives. The list's text ("missed 14% of
    sessions ...; county average 4%") holds each person's own values, so the features are counted, not the text.

    Args:
        reason_features: one row per listed person, with ``reason_<i>_feature`` columns.
        descriptions: feature name -> what people read for it (default: the feature registry's descriptions).

    Returns:
        ``factor`` (the description), ``feature``, ``people``, ``share`` (of the list), most frequent first.
    """
    columns = ["factor", "feature", "people", "share"]
    reason_columns = [c for c in reason_features.columns if REASON_FEATURE.match(c)]
    long = reason_features[reason_columns].reset_index(drop=True).stack().rename("feature").reset_index()
    long = long[long["feature"].astype("string").str.strip().fillna("") != ""]
    if long.empty:
        return pd.DataFrame(columns=columns)
    if descriptions is None:
        from features.registry import FEATURES

        descriptions = {name: feature.description for name, feature in FEATURES.items()}
    counts = long.drop_duplicates(["level_0", "feature"]).groupby("feature").size().rename("people").reset_index()
    counts["factor"] = counts["feature"].map(lambda f: descriptions.get(f, f))
    counts["share"] = counts["people"] / max(len(reason_features), 1)
    return counts.sort_values(["people", "feature"], ascending=[False, True], ignore_index=True)[columns]


def source_coverage(risk_list: pd.DataFrame) -> pd.DataFrame:
    """Share of listed people each source has any record for before the index date.

    Sources are the registry's person sources, in order (the list's ``<source>_last_record`` columns).

    Returns:
        ``source``, ``with_record``, ``without_record``, ``share_with_record``.
    """
    rows = []
    for source in (s.name for s in person_sources()):
        column = f"{source}_last_record"
        if column in risk_list:
            seen = int(risk_list[column].ne("no record").sum())
            rows.append({"source": source, "with_record": seen, "without_record": len(risk_list) - seen})
    out = pd.DataFrame(rows, columns=["source", "with_record", "without_record"])
    return out.assign(share_with_record=out["with_record"] / max(len(risk_list), 1))


def list_summary(risk_list: pd.DataFrame, metrics: dict[str, Any]) -> pd.Series:
    """What a list of this length means, in expected numbers.

    ``expected_outcomes`` is the sum of the listed calibrated risks: had the model been right about
    calibration, about that many listed people would go on to have the outcome. The test year's
    ``precision_at_capacity`` is the share that did on the last year with known outcomes.
    """
    test = metrics["test"]
    prevalence = test.get("prevalence")
    return pd.Series({
        "people listed": len(risk_list),
        "capacity (spec)": metrics["capacity"],
        "mean risk on list (%)": float(risk_list["risk_percent"].mean()) if len(risk_list) else np.nan,
        "expected outcomes among listed (sum of risks)": float(risk_list["risk_percent"].sum() / 100),
        "test-year base rate (%)": 100 * prevalence if prevalence is not None else np.nan,
        "test-year precision at capacity": test.get("precision_at_capacity"),
        "test-year recall at capacity": test.get("recall_at_capacity"),
    }, dtype="float64")


def band_table(risk_list: pd.DataFrame) -> pd.DataFrame:
    """People and risk range per band, highest band first: ``band``, ``people``, ``min_risk_percent``,
    ``max_risk_percent``."""
    grouped = risk_list.groupby("band")["risk_percent"].agg(people="size", min_risk_percent="min",
                                                            max_risk_percent="max")
    return grouped.sort_values("max_risk_percent", ascending=False).reset_index()
