"""Risk lists as an early help team receives them, without tokens or per-person record dates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.io import read_csv_table
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


def split_factors(text: str) -> list[tuple[str, str]]:
    """``"description: value; description: value"`` -> [(description, value), ...].

    Descriptions can themselves hold ': ', so each part splits at its last one. The placeholders the
    list uses when nothing stands out (no ': ') give no factor.
    """
    parts = [p.strip() for p in str(text).split("; ") if p.strip()]
    return [(head, value) for head, sep, value in (p.rpartition(": ") for p in parts) if sep]


def factor_counts(risk_list: pd.DataFrame, column: str = "reasons") -> pd.DataFrame:
    """How many listed people have each factor among their ``column`` (``reasons`` or ``protective_factors``).

    Returns:
        ``factor``, ``people``, ``share`` (of the list), most frequent first.
    """
    factors = [{"row": i, "factor": head} for i, text in enumerate(risk_list[column]) for head, _ in
               split_factors(text)]
    columns = ["factor", "people", "share"]
    if not factors:
        return pd.DataFrame(columns=columns)
    counts = pd.DataFrame(factors).drop_duplicates().groupby("factor").size().rename("people").reset_index()
    counts["share"] = counts["people"] / max(len(risk_list), 1)
    return counts.sort_values(["people", "factor"], ascending=[False, True], ignore_index=True)[columns]


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
