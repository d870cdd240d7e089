"""Linkage quality for the linkage notebook: ``reports/linkage.json`` and the clerical review sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.io import read_csv_table, read_json
from pipeline.core.paths import project_paths


def load_linkage(root: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """``reports/linkage.json`` and the clerical-review sample without its token columns.

    Returns:
        (report dict, review frame with ``source_l``, ``source_r``, ``match_weight``,
        ``match_probability`` (floats) and one ``level_<comparison>`` label column per comparison).
    """
    reports = project_paths(root).reports
    review = read_csv_table(reports / "linkage_review.csv")
    keep = ["source_l", "source_r", "match_weight", "match_probability",
            *[c for c in review.columns if c.startswith("level_")]]
    review = review[keep].astype({"match_weight": "float64", "match_probability": "float64"})
    return read_json(reports / "linkage.json"), review


def source_table(report: dict[str, Any]) -> pd.DataFrame:
    """Records and people per source. Columns ``source, records, people, records_per_person``."""
    rows = [{"source": s, "records": v["records"], "people": v["people"]} for s, v in report["sources"].items()]
    out = pd.DataFrame(rows)
    return out.assign(records_per_person=out["records"] / out["people"])


def link_rate_table(report: dict[str, Any]) -> pd.DataFrame:
    """Link rates by group, long format.

    Returns:
        ``link`` (e.g. ``social_care_to_school``), ``attribute``, ``group``, ``rate``, ``records``,
        ``overall`` (the link's rate over all records) and ``gap`` (rate - overall).
    """
    rows = [{"link": link, "attribute": attribute, "group": group, "rate": v["rate"], "records": v["records"],
             "overall": entry["overall"]}
            for link, entry in report["link_rates"].items()
            for attribute, groups in entry["by_group"].items()
            for group, v in groups.items()]
    out = pd.DataFrame(rows)
    return out.assign(gap=out["rate"] - out["overall"])


def linkage_truth_table(report: dict[str, Any]) -> pd.DataFrame | None:
    """Pairwise precision and recall against synthetic truth by group, or None without truth.

    Returns:
        ``attribute``, ``group``, ``precision``, ``recall``, ``true_pairs``, ``missed_pairs``
        (true pairs the linkage did not join). ``recall`` is NaN for a group with no true pairs (nothing to
        find), ``precision`` for a group where no pair was joined.
    """
    truth = report.get("truth")
    if not truth:
        return None
    rows = [{"attribute": attribute, "group": group, "precision": v["precision"], "recall": v["recall"],
             "true_pairs": v["true_pairs"]}
            for attribute, groups in truth["by_group"].items() for group, v in groups.items()]
    out = pd.DataFrame(rows).astype({"precision": "float64", "recall": "float64"})
    # a group with no true pairs has no recall (NaN), and nothing to miss
    return out.assign(missed_pairs=(out["true_pairs"] * (1 - out["recall"].fillna(1.0))).round().astype("int64"))


def linkage_headline(report: dict[str, Any]) -> pd.DataFrame:
    """One row per linkage method with pairwise precision/recall/F1 (empty without truth)."""
    methods = {"riskpipe (deterministic + Splink)": report.get("truth"),
               "NHS number / UPN only": report.get("deterministic_only")}
    rows = [{"method": name, "precision": m["precision"], "recall": m["recall"], "f1": m["f1"]}
            for name, m in methods.items() if m]
    return pd.DataFrame(rows, columns=["method", "precision", "recall", "f1"])


def review_level_counts(review: pd.DataFrame) -> pd.DataFrame:
    """How often each comparison level occurs in the review sample.

    Args:
        review: :func:`load_linkage` review frame (``level_<comparison>`` columns).

    Returns:
        Rows = comparison, columns = level label, values = pairs (0 where a level never occurs).
    """
    levels = [c for c in review.columns if c.startswith("level_")]
    long = review[levels].melt(var_name="comparison", value_name="level")
    long["comparison"] = long["comparison"].str.removeprefix("level_")
    return pd.crosstab(long["comparison"], long["level"].fillna("null"))
