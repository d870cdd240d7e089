"""ASCOF 2B/2C and long-term support from CLD, as DHSC replicates them (DOMAIN_ADULTS.md §2.2).

ASCOF 2B (18-64) and 2C (65+): council-supported adults whose long-term needs are met by admission to
residential or nursing care, per 100,000 population. From CLD: a Service event for a Service user
with a long-term residential or nursing service type starting in the year; components containing
"Short" (respite) excluded; events ending "NFA - Self-funded" excluded; a person counts as new only if
they had no such service in the 12 months before. CLD cannot tell temporary from permanent stays.
The denominators are population estimates (ONS mid-year; the synthetic county's own count in tests).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.sources import cld_codes as cld

AGE_BANDS = {"2B": (18, 64), "2C": (65, 200)}


def age_at(events: pd.DataFrame, when: pd.Series) -> pd.Series:
    """Age in whole years at ``when`` from CLD's birth year and month (the day is unknown: taken as the 1st)."""
    years = when.dt.year - events["birth_year"]
    return (years - (when.dt.month < events["birth_month"]).astype("Int64")).astype("Int64")


def care_home_services(events: pd.DataFrame) -> pd.DataFrame:
    """The latest-version events counting towards 2B/2C: Service user, LTS residential or nursing, not
    a short-term component, not ending as self-funded.

    Args:
        events: one row per event (``pipeline.sources.cld_events.cld_events``) with ``event_type``,
            ``client_type``, ``service_type``, ``service_component``, ``event_outcome``, ``event_start``.
    """
    component = events["service_component"].fillna("").astype("str").str.contains("short", case=False)
    keep = (events["event_type"].eq("Service") & events["client_type"].eq("Service user")
            & events["service_type"].isin(cld.LTS_CARE_HOME) & ~component
            & events["event_outcome"].ne(cld.NFA_SELF_FUNDED).fillna(True))
    return events[keep.fillna(False).astype(bool)]


def ascof_2b_2c(events: pd.DataFrame, year_start: date, population: dict[str, int]) -> pd.DataFrame:
    """New council-supported admissions to residential or nursing care in a year, per 100,000.

    Args:
        events: one row per event with ``person_key`` (``pipeline.sources.cld_events.cld_events``),
            the columns of :func:`care_home_services`, ``event_end``, ``birth_year``, ``birth_month``.
        year_start: first day of the (financial) year; the year runs 12 months from it.
        population: people aged 18-64 (``"2B"``) and 65+ (``"2C"``) in the area (ONS mid-year estimate).

    Returns:
        ``measure`` (2B, 2C), ``admissions`` (people: first qualifying admission in the year, age at
        its start), ``population``, ``per_100k``.
    """
    start, end = pd.Timestamp(year_start), pd.Timestamp(year_start) + pd.DateOffset(years=1)
    homes = care_home_services(events)[["person_key", "event_start", "event_end", "birth_year", "birth_month"]]
    in_year = homes[(homes["event_start"] >= start) & (homes["event_start"] < end)]
    first = in_year.sort_values("event_start", kind="stable").drop_duplicates("person_key")
    # new only if no residential/nursing service of theirs was active in the 12 months before this one
    earlier = first[["person_key", "event_start"]].merge(homes, on="person_key", suffixes=("", "_before"))
    window = earlier["event_start"] - pd.DateOffset(years=1)
    active_before = ((earlier["event_start_before"] < earlier["event_start"])
                     & (earlier["event_end"].isna() | (earlier["event_end"] >= window)))
    returning = set(earlier.loc[active_before, "person_key"])
    new = first[~first["person_key"].isin(returning)]
    ages = age_at(new, new["event_start"])
    rows = []
    for measure, (low, high) in AGE_BANDS.items():
        count = int(((ages >= low) & (ages <= high)).fillna(False).sum())
        people = int(population[measure])
        rows.append({"measure": measure, "admissions": count, "population": people,
                     "per_100k": 1e5 * count / people if people else float("nan")})
    return pd.DataFrame(rows)


def long_term_support_65(events: pd.DataFrame, year_start: date, population_65: int) -> dict[str, float]:
    """Share of people aged 65+ receiving council long-term support during the year and at its end.

    Args:
        events: one row per event with ``person_key``, ``event_type``, ``client_type``, ``service_type``,
            ``event_start``, ``event_end``, ``birth_year``, ``birth_month``.
        year_start: first day of the year.
        population_65: people aged 65+ in the area.

    Returns:
        ``during_year`` and ``at_year_end`` (shares of ``population_65``) and the people counted,
        ``people_during_year`` and ``people_at_year_end``.
    """
    start, end = pd.Timestamp(year_start), pd.Timestamp(year_start) + pd.DateOffset(years=1)
    lts = events[events["event_type"].eq("Service") & events["client_type"].eq("Service user")
                 & events["service_type"].fillna("").str.startswith(cld.LONG_TERM_SUPPORT_PREFIX)]
    lts = lts[(lts["event_start"] < end) & (lts["event_end"].isna() | (lts["event_end"] >= start))]
    old = lts[(age_at(lts, pd.Series(end - pd.Timedelta(days=1), index=lts.index)) >= 65).fillna(False)]
    during = old["person_key"].nunique()
    at_end = old.loc[old["event_end"].isna() | (old["event_end"] >= end - pd.Timedelta(days=1)), "person_key"].nunique()
    return {"during_year": during / population_65, "at_year_end": at_end / population_65,
            "people_during_year": during, "people_at_year_end": at_end}
