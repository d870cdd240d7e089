"""Cohorts: who is scored at which index dates, as one row per person x index date.

A spec's ``index_dates.kind`` and ``cohort.kind`` name builders registered here
(``INDEX_DATE_KINDS``, ``COHORT_KINDS``): the index-date builder lists the dates, the cohort builder
finds who is in the cohort on each. A new kind is one more decorated function.

Rows that the spec excludes are kept with an ``exclusion`` reason so the report can count them by
group; ``build_features`` drops them from the output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import pandas as pd

from features.kinds import KindRegistry
from models.spec import ModelSpec

COHORT_COLUMNS = ["row_id", "person_id", "person_key", "index_date", "index_year", "birth_year", "birth_month",
                  "exclusion"]

Events = Mapping[str, pd.DataFrame]
IndexDateBuilder = Callable[[Events, ModelSpec], list[pd.Timestamp]]
CohortBuilder = Callable[[Events, ModelSpec, list[pd.Timestamp]], pd.DataFrame]

INDEX_DATE_KINDS: KindRegistry[IndexDateBuilder] = KindRegistry("index_dates")
COHORT_KINDS: KindRegistry[CohortBuilder] = KindRegistry("cohort")


@INDEX_DATE_KINDS.register("spring_census")
def spring_census_dates(events: Events, spec: ModelSpec) -> list[pd.Timestamp]:
    """Each school census date in the data (the spring census) in index years ``first_year``..``last_year``.

    Args:
        events: ``census`` (``person_id, event_date (census date)``).
    """
    dates = pd.Series(events["census"]["event_date"].unique())
    d = spec.index_dates
    return sorted(dates[dates.dt.year.between(d.first_year, d.last_year)])


@INDEX_DATE_KINDS.register("annual")
def annual_index_dates(events: Events, spec: ModelSpec) -> list[pd.Timestamp]:
    """``index_dates.month``/``day`` of every index year (e.g. each 31 March); no event is read."""
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


@COHORT_KINDS.register("year9_on_roll")
def build_year9_cohort(events: Events, spec: ModelSpec, index_dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Pupils on roll in ``cohort.nc_year`` at the school census held on each index date.

    The index dates must be census days (``index_dates.kind: spring_census``); on any other day no
    census places a pupil in a year group.

    Args:
        events: ``census`` (``person_id, event_date (census date), nc_year``) and ``person``
            (``person_id, person_key, birth_year, birth_month``).
    """
    census = events["census"]
    on_roll = census[(census["nc_year"].astype("str") == str(spec.cohort.nc_year))
                     & census["event_date"].isin(index_dates)]
    cohort = on_roll[["person_id", "event_date"]].drop_duplicates().rename(columns={"event_date": "index_date"})
    return _finish(cohort, events["person"])


@COHORT_KINDS.register("known_to_services")
def build_known_cohort(events: Events, spec: ModelSpec, index_dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Children aged ``min_age``..``max_age`` with any record in the ``lookback_months`` before each
    index date (an open episode counts); those looked after on the index date get ``exclusion =
    'looked_after_on_index'`` when the spec excludes them.

    Args:
        events: ``record`` (``person_id, event_date, end_date``: every source's records, see
            ``build_record_spans``), ``care`` (``person_id, event_date (episode start), end_date``) and
            ``person`` (``person_id, person_key, birth_year, birth_month``).
    """
    spans, care, person = events["record"], events["care"], events["person"]
    births = person.set_index("person_id")
    parts = []
    for index_date in index_dates:
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


# statutory social care, by event domain: the column ending an open episode, plan or period
STATUTORY_DOMAINS = {"referral": "closure_date", "cp_plan": "cpp_end", "care": "end_date"}


def open_on_index(events: Events, cohort: pd.DataFrame, domains: Mapping[str, str]) -> pd.Series:
    """Whether each cohort row has a span of any of ``domains`` open on its index date: started
    strictly before it and not ended by it (a null end = still open), as ``cin_open_now`` reads it.

    Args:
        events: the ``domains`` frames (``person_id, event_date`` and each domain's end column).
        cohort: ``person_id, index_date``.
        domains: event domain -> the column ending its spans.

    Returns:
        A boolean Series aligned with ``cohort``.
    """
    open_ = pd.Series(False, index=cohort.index)
    for index_date, rows in cohort.groupby("index_date"):
        ids: set[str] = set()
        for domain, end in domains.items():
            ev = events[domain]
            live = ev[(ev["event_date"] < index_date) & (ev[end].isna() | (ev[end] > index_date))]
            ids.update(live["person_id"].astype("str"))
        open_.loc[rows.index] = rows["person_id"].astype("str").isin(ids).to_numpy()
    return open_


def mark_open_to_social_care(cohort: pd.DataFrame, events: Events) -> pd.DataFrame:
    """``exclusion = 'open_to_social_care_on_index'`` for rows not already excluded whose child has an open
    child-in-need episode, child protection plan or looked-after episode on the index date.

    An early help list is for children *not* open to statutory social care: those have a social worker.
    Decided from what was open on the index date only, so it is known when the list is made.
    """
    open_ = open_on_index(events, cohort, STATUTORY_DOMAINS)
    out = cohort.copy()
    out["exclusion"] = out["exclusion"].mask(open_ & out["exclusion"].isna(), "open_to_social_care_on_index")
    return out


def build_cohort(events: Events, spec: ModelSpec) -> pd.DataFrame:
    """The spec's cohort: ``row_id, person_id, person_key, index_date, index_year, birth_year, birth_month,
    exclusion``, from the builders its ``index_dates.kind`` and ``cohort.kind`` name, with the spec's
    ``open_to_social_care_on_index`` exclusion marked whatever the cohort kind.

    Raises:
        UnknownKindError: no builder is registered for the spec's index-date or cohort kind.
    """
    index_dates = INDEX_DATE_KINDS.get(spec.index_dates.kind)(events, spec)
    cohort = COHORT_KINDS.get(spec.cohort.kind)(events, spec, index_dates)
    if spec.exclusions.open_to_social_care_on_index:
        cohort = mark_open_to_social_care(cohort, events)
    return cohort
