"""Cohorts: who is scored at which index dates, as one row per person x index date.

Rows that the spec excludes are kept with an ``exclusion`` reason so the report can count them by
group; ``build_features`` drops them from the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd

from models.spec import ModelSpec

COHORT_COLUMNS = ["row_id", "person_id", "person_key", "index_date", "index_year", "birth_year", "birth_month",
                  "exclusion"]


def annual_index_dates(spec: ModelSpec) -> list[pd.Timestamp]:
    """``index_dates.month``/``day`` of every index year (e.g. each 31 March)."""
    d = spec.index_dates
    return [pd.Timestamp(date(y, d.month, d.day)) for y in range(d.first_year, d.last_year + 1)]


def _finish(cohort: pd.DataFrame, person: pd.DataFrame) -> pd.DataFrame:
    out = cohort.merge(person[["person_id", "person_key", "birth_year", "birth_month"]], on="person_id", how="inner")
    out["index_year"] = out["index_date"].dt.year.astype("int64")
    if "exclusion" not in out.columns:
        out["exclusion"] = pd.Series(pd.NA, index=out.index, dtype="str")
    out = out.sort_values(["index_date", "person_id"], ignore_index=True)
    out["row_id"] = range(len(out))
    return out[COHORT_COLUMNS]


def build_year9_cohort(census: pd.DataFrame, person: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """Pupils on roll in ``cohort.nc_year`` at each spring census; the index date is the census date.

    Args:
        census: ``person_id, event_date (census date), nc_year``.
        person: ``person_id, birth_year, birth_month``.
    """
    years = census["event_date"].dt.year
    on_roll = census[(census["nc_year"].astype("str") == str(spec.cohort.nc_year))
                     & years.between(spec.index_dates.first_year, spec.index_dates.last_year)]
    cohort = on_roll[["person_id", "event_date"]].drop_duplicates().rename(columns={"event_date": "index_date"})
    return _finish(cohort, person)


def build_known_cohort(
    spans: pd.DataFrame, care: pd.DataFrame, person: pd.DataFrame, spec: ModelSpec
) -> pd.DataFrame:
    """Children aged ``min_age``..``max_age`` with any record in the ``lookback_months`` before each
    index date (an open episode counts); those looked after on the index date get ``exclusion =
    'looked_after_on_index'`` when the spec excludes them.

    Args:
        spans: ``person_id, event_date, end_date`` (every source's records, see ``build_record_spans``).
        care: ``person_id, event_date (episode start), end_date``.
        person: ``person_id, birth_year, birth_month``.
    """
    births = person.set_index("person_id")
    parts = []
    for index_date in annual_index_dates(spec):
        since = index_date - pd.DateOffset(months=spec.cohort.lookback_months)
        seen = spans[(spans["event_date"] < index_date) & (spans["end_date"].fillna(index_date) >= since)]
        ids = pd.Index(seen["person_id"].unique())
        born = births.reindex(ids)
        age = (index_date.year - born["birth_year"]) * 12 + (index_date.month - born["birth_month"])
        in_age = age.between(spec.cohort.min_age * 12, spec.cohort.max_age * 12 + 11).fillna(False).astype("bool")
        part = pd.DataFrame({"person_id": ids[in_age.to_numpy()], "index_date": index_date})
        open_care = care[(care["event_date"] < index_date)
                         & (care["end_date"].isna() | (care["end_date"] > index_date))]
        looked_after = part["person_id"].isin(open_care["person_id"])
        part["exclusion"] = pd.Series(pd.NA, index=part.index, dtype="str").mask(
            looked_after & spec.exclusions.looked_after_on_index, "looked_after_on_index"
        )
        parts.append(part)
    return _finish(pd.concat(parts, ignore_index=True), person)


def build_cohort(events: Mapping[str, pd.DataFrame], spec: ModelSpec) -> pd.DataFrame:
    """The spec's cohort: ``row_id, person_id, index_date, index_year, birth_year, birth_month, exclusion``.

    Raises:
        ValueError: an unknown ``cohort.kind``.
    """
    if spec.cohort.kind == "year9_on_roll":
        return build_year9_cohort(events["census"], events["person"], spec)
    if spec.cohort.kind == "known_to_services":
        return build_known_cohort(events["record"], events["care"], events["person"], spec)
    raise ValueError(f"unknown cohort kind {spec.cohort.kind!r}")
