"""``reports/<model>/features.json``: rows, prevalence, exclusions, censoring, capacity and the leakage proof.

Counts only: no identifiers, no dates of individual people. Exclusions and censoring are counted by
the fairness attributes of the spec's population (``features.populations``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from features.populations import get_population
from models.spec import ModelSpec
from models.split import capacity_share

log = logging.getLogger(__name__)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 5) if whole else None


def prevalence_by_year(frame: pd.DataFrame, columns: list[str]) -> dict[str, dict[str, Any]]:
    """Per index year: ``rows``, ``labelled`` (matured), ``matured_share`` and, per outcome column,
    positives and prevalence among labelled rows.

    Args:
        frame: ``index_year, matured`` and the outcome columns (Int8 with <NA> when immature).
    """
    out = {}
    for year, rows in frame.groupby("index_year"):
        entry: dict[str, Any] = {"rows": len(rows), "labelled": int(rows["matured"].sum()),
                                 "matured_share": _rate(int(rows["matured"].sum()), len(rows))}
        for col in columns:
            labelled = rows[col].dropna()
            entry[f"{col}_positives"] = int(labelled.sum())
            entry[f"{col}_prevalence"] = _rate(int(labelled.sum()), len(labelled))
        out[str(year)] = entry
    return out


def counts_by_group(frame: pd.DataFrame, flagged: pd.Series, attributes: Sequence[str]
                    ) -> dict[str, dict[str, dict[str, Any]]]:
    """For each attribute (a ``fair_*`` column of ``frame``) and group: ``n`` flagged, ``of`` rows, ``rate``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for attr in attributes:
        groups = frame[attr].astype("str").fillna("missing")
        table = pd.DataFrame({"group": groups, "flag": flagged.astype("bool")}).groupby("group")["flag"].agg(
            ["sum", "size"]
        )
        out[attr] = {str(g): {"n": int(r["sum"]), "of": int(r["size"]), "rate": _rate(int(r["sum"]), int(r["size"]))}
                     for g, r in table.iterrows()}
    return out


def reasons_report(frame: pd.DataFrame, column: str, attributes: Sequence[str]) -> dict[str, Any]:
    """Rows removed for each reason in ``column``, in total, by index year and by group of each of ``attributes``."""
    out = {}
    for reason in sorted(frame[column].dropna().unique()):
        flagged = frame[column] == reason
        out[str(reason)] = {
            "total": int(flagged.sum()),
            "by_index_year": {
                str(y): int(n) for y, n in frame.loc[flagged, "index_year"].value_counts().sort_index().items()
            },
            "by_group": counts_by_group(frame, flagged, attributes),
        }
    return out


def leakage_proof(frame: pd.DataFrame, latest: pd.DataFrame) -> dict[str, Any]:
    """Per event domain, the latest event any feature saw and its smallest gap to the index date.

    Args:
        frame: ``row_id, index_date, index_year``.
        latest: ``row_id, domain, max_event_date`` from ``compute_features`` (per domain, at least the row shown
            the latest event of each index date).
    """
    rows = frame.set_index("row_id")[["index_date", "index_year"]].reindex(latest["row_id"].to_numpy())
    seen = latest.assign(index_date=rows["index_date"].to_numpy(), index_year=rows["index_year"].to_numpy())
    seen["days_before"] = (seen["index_date"] - seen["max_event_date"]).dt.days
    out = {}
    for domain, rows in seen.groupby("domain"):
        out[str(domain)] = {
            "max_event_date_before_index": {str(y): str(d.date()) for y, d in
                                            rows.groupby("index_year")["max_event_date"].max().items()},
            "min_days_before_index": int(rows["days_before"].min()),
            "all_strictly_before_index": bool((rows["days_before"] >= 1).all()),
        }
    return out


def not_known_by_group(kept: pd.DataFrame, attributes: Sequence[str], min_rows: int = 50) -> dict[str, Any] | None:
    """Labelled rows whose outcome window holds a "not known" NCCIS activity and no NEET one, by group: their
    label says "not NEET" because the tracking service lost them, not because they were in education or work.

    Args:
        kept: ``outcome_neet, outcome_neet_or_not_known`` (Int8, <NA> when immature) and ``attributes``.
        min_rows: groups with fewer labelled rows are left out of ``highest``.

    Returns:
        ``overall`` share, ``by_group`` (``counts_by_group``) and, per attribute, the ``highest`` group
        (``group, rate, of``) among groups of at least ``min_rows``; None when the outcome has no "not known".
    """
    if not {"outcome_neet", "outcome_neet_or_not_known"} <= set(kept.columns):
        return None
    labelled = kept[kept["outcome_neet"].notna() & kept["outcome_neet_or_not_known"].notna()]
    flagged = (labelled["outcome_neet_or_not_known"] == 1) & (labelled["outcome_neet"] == 0)
    by_group = counts_by_group(labelled, flagged, attributes)
    highest = {}
    for attr, groups in by_group.items():
        big = {g: v for g, v in groups.items() if v["of"] >= min_rows and v["rate"] is not None}
        if big:
            g = max(big, key=lambda k: big[k]["rate"])
            highest[attr] = {"group": g, "rate": big[g]["rate"], "of": big[g]["of"]}
    return {"overall": _rate(int(flagged.sum()), len(labelled)), "by_group": by_group, "highest": highest}


def reconcile_rows(frame: pd.DataFrame) -> dict[str, Any]:
    """Cohort rows = excluded + censored + kept, as counts; ``reconciled`` says the sum holds."""
    excluded = int(frame["exclusion"].notna().sum())
    censored = int((frame["exclusion"].isna() & frame["censoring"].notna()).sum())
    kept = int((frame["exclusion"].isna() & frame["censoring"].isna()).sum())
    return {"cohort_rows": len(frame), "excluded": excluded, "censored": censored, "kept": kept,
            "reconciled": excluded + censored + kept == len(frame)}


def summarise_features(frame: pd.DataFrame, latest: pd.DataFrame, spec: ModelSpec, extract_date: date) -> dict:
    """The features report for one model (see module docstring)."""
    kept = frame[frame["exclusion"].isna() & frame["censoring"].isna()]
    outcome_cols = ["outcome"] + [c for c in ("outcome_neet", "outcome_neet_or_not_known") if c in frame.columns]
    by_year = prevalence_by_year(kept, outcome_cols)
    split_years = [*spec.split.train_years, spec.split.validation_year, spec.split.test_year]
    immature = {str(y): by_year[str(y)]["rows"] - by_year[str(y)]["labelled"] for y in split_years
                if str(y) in by_year and by_year[str(y)]["labelled"] < by_year[str(y)]["rows"]}
    if any(n > 0.01 * by_year[y]["rows"] for y, n in immature.items()):
        log.warning("%s: split years with over 1%% immature rows (no outcome yet): %s", spec.name, immature)
    leakage = leakage_proof(frame, latest)
    attributes = get_population(spec.population).report_attributes
    return {
        "model": spec.name,
        "extract_date": str(extract_date),
        "outcome": spec.outcome.model_dump(),
        "cohort_rows": len(frame),
        "rows_by_index_year": by_year,
        "split_years_immature_rows": immature,
        "row_reconciliation": reconcile_rows(frame),
        "exclusion_rules": spec.exclusions.rules_on(),
        "censoring_rules": spec.censoring.rules_on(),
        "exclusions": reasons_report(frame, "exclusion", attributes),
        "censoring": reasons_report(frame[frame["exclusion"].isna()], "censoring", attributes),
        "split": spec.split.model_dump(),
        "capacity": capacity_share(spec, {int(y): v["rows"] for y, v in by_year.items()}),
        "outcome_not_known_by_group": not_known_by_group(kept, attributes),
        "max_event_date_before_index": leakage,
        "leakage_check_passed": all(v["all_strictly_before_index"] for v in leakage.values()),
    }
