"""Cohort and outcome kinds of the adults' models (issue #18): who is registered with a GP, and who is admitted.

- cohort ``gp_registered``: every adult (``cohort.min_age``..``max_age`` whole years, from month of birth)
  with a GP registration open on the index date (started before it, not ended by it) and not known to have
  died before it (a GP or ONS date of death): the Combined Predictive Model's denominator, the whole
  registered list rather than people with a past admission;
- outcome ``emergency_spell``: one or more emergency admissions (admission methods 21-2D, 28), counted as
  continuous inpatient spells built from the HES episodes (``features.adult_health``), admitted on or
  after the index date and within ``horizon_months``. Deaths in the same window are reported beside it as
  the competing outcome (``outcome_death``): a person who died without an admission is a negative, as
  the list's users would see it, and the evaluation shows deaths by risk band rather than hiding them;
- cohort ``community_registered``: the same, less people already living in a care home on the index date
  (``exclusion = 'in_care_home_on_index'``: a GP care-home resident code, a hospital or emergency
  department discharge to a care home, or council-funded residential or nursing care open on that day);
- outcome ``care_home_entry``: a permanent move into residential or nursing care within ``horizon_months``,
  all tenures: council-funded long-term residential or nursing support starting (CLD, the ASCOF 2C
  event: ``outcome_state_funded``), a hospital stay or ED attendance ending in a discharge to a care home,
  or a GP care-home resident code first recorded. Death in the window is reported beside it, and so is the
  24-month follow-up to a care home, death or leaving the GP list (``features.care_home_times``).

Registered with the kind registries on import (``features.build`` and ``features.spec_checks`` import
this module).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import duckdb
import numpy as np
import pandas as pd

import features.ld_population  # noqa: F401  registers the older-carer register's cohort and outcome kinds
from features.care_home_times import TIME_COLUMNS, attach_competing_times
from features.cohorts import COHORT_COLUMNS, COHORT_KINDS, Events
from features.outcomes import OUTCOME_KINDS
from features.window import events_in_window
from models.spec import ModelSpec

# written beside ``outcome`` for evaluation (features.build), where the outcome builder makes them
OUTCOME_COLUMNS = ("outcome_spells", "outcome_death", "outcome_state_funded", "outcome_any_move", *TIME_COLUMNS)


def died_before(events: Events, index_date: pd.Timestamp) -> np.ndarray:
    """``person_key`` of people with a date of death before ``index_date``, from ONS registrations or the GP record
    (sorted, unique)."""
    reg = events["gp_registration"]
    keys = [reg.loc[reg["death_date"] < index_date, "person_key"].to_numpy()]
    if "death" in events:
        deaths = events["death"]
        keys.append(deaths.loc[deaths["event_date"] < index_date, "person_key"].to_numpy())
    return np.unique(np.concatenate(keys))


@COHORT_KINDS.register("gp_registered")
def build_registered_cohort(events: Events, spec: ModelSpec, index_dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Adults aged ``cohort.min_age``..``max_age`` registered with a GP on each index date.

    People are found by their integer ``person_key``, not their text id: sets and index differences of millions of
    32-character ids were most of the cohort's time at scale (issue #17).

    Args:
        events: ``gp_registration`` (``person_key, event_date (start), registration_end, death_date``),
            ``death`` (``person_key, event_date``) when deaths are held, and ``person`` (``person_id,
            person_key, birth_year, birth_month``), as ``features.build.build_events`` keys them.

    Returns:
        ``COHORT_COLUMNS`` rows, one per person and index date, no exclusions.
    """
    reg = events["gp_registration"]
    born = events["person"].set_index("person_key")[["person_id", "birth_year", "birth_month"]]
    parts = []
    for index_date in index_dates:
        ended = reg["registration_end"]
        open_ = (reg["event_date"] < index_date) & (ended.isna() | (ended > index_date))
        keys = np.setdiff1d(np.unique(reg.loc[open_, "person_key"].to_numpy()), died_before(events, index_date),
                            assume_unique=True)
        person = born.reindex(keys)
        months = (index_date.year - person["birth_year"]) * 12 + (index_date.month - person["birth_month"])
        in_age = months.between(spec.cohort.min_age * 12, spec.cohort.max_age * 12 + 11).fillna(False)
        parts.append(pd.DataFrame({"person_key": keys[in_age.to_numpy(dtype=bool)], "index_date": index_date}))
    cohort = pd.concat(parts, ignore_index=True)
    person = born.reindex(cohort["person_key"].to_numpy())
    out = pd.DataFrame({"person_id": person["person_id"].to_numpy(), "index_date": cohort["index_date"],
                        "person_key": cohort["person_key"].astype(events["person"]["person_key"].dtype),
                        "birth_year": person["birth_year"].to_numpy(), "birth_month": person["birth_month"].to_numpy()})
    out["index_year"] = out["index_date"].dt.year.astype("int64")
    out["exclusion"] = pd.Series(pd.NA, index=out.index, dtype="str")
    out = out.sort_values(["index_date", "person_id"], ignore_index=True)
    out["row_id"] = range(len(out))
    return out[COHORT_COLUMNS]


@OUTCOME_KINDS.register("emergency_spell")
def attach_emergency_outcome(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    spec: ModelSpec,
    extract_date: date,
) -> pd.DataFrame:
    """One or more emergency spells admitted in ``[index date, index date + horizon)``; deaths beside it.

    Args:
        cohort: ``row_id, person_key, index_date, exclusion``.
        events: ``hes_spell`` (``person_key, event_date, emergency``), ``gp_registration`` (``person_key,
            death_date``) and, when held, ``death`` (``person_key, event_date``).

    Returns:
        ``cohort`` plus ``outcome`` (Int8, <NA> if immature), ``outcome_spells`` (emergency spells in the
        window), ``outcome_death`` (Int8: died in the window, by ONS or the GP record), ``matured`` and
        ``censoring`` (none: a death is a competing outcome, reported, not a reason to drop the row).
    """
    horizon = pd.DateOffset(months=spec.outcome.horizon_months or 12)
    out = cohort.copy(deep=False)  # columns are only added: a deep copy of the features frame would be wasted
    out["window_end"] = out["index_date"] + horizon
    spells = events_in_window(con, out, events["hes_spell"], start="index_date", end="window_end",
                              expressions={"outcome_spells": "count(*) FILTER (WHERE e.emergency = 1)"})
    out["outcome_spells"] = _by_row_id(out, spells, "outcome_spells")
    out["matured"] = (out["window_end"] <= pd.Timestamp(extract_date) + pd.Timedelta(days=1)).astype("bool")
    out["outcome_spells"] = out["outcome_spells"].fillna(0).astype("int64")
    out["outcome"] = (out["outcome_spells"] > 0).astype("Int8").where(out["matured"])
    out["outcome_death"] = died_in_window(con, out, events).astype("Int8").where(out["matured"])
    out["censoring"] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out.drop(columns=["window_end"])


def _by_row_id(rows: pd.DataFrame, found: pd.DataFrame, column: str) -> pd.Series:
    """``found[column]`` (``found``: one row per ``row_id``) aligned with ``rows``; missing where not found. A
    join would give the same column but copy every column of the features frame with it (issue #17)."""
    return rows["row_id"].map(found.set_index("row_id")[column])


def died_in_window(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, events: Mapping[str, pd.DataFrame]
                   ) -> pd.Series:
    """Whether each row's person died in ``[index_date, window_end)`` (ONS registration or GP record; aligned)."""
    gp_deaths = events["gp_registration"][["person_key", "death_date"]].dropna().rename(
        columns={"death_date": "event_date"})
    deaths = pd.concat([gp_deaths, *([events["death"][["person_key", "event_date"]]] if "death" in events else [])],
                       ignore_index=True)
    died = events_in_window(con, rows, deaths, start="index_date", end="window_end", expressions={"_died": "count(*)"})
    return rows["row_id"].map(died.set_index("row_id")["_died"]).fillna(0).gt(0)


def in_care_home_before(events: Events, cohort: pd.DataFrame) -> pd.Series:
    """Whether each cohort row's person was recorded as living in a care home before its index date: a GP
    care-home code, a discharge to a care home (hospital or ED), or residential or nursing care open then.
    People are matched by ``person_key`` (cohort and events as ``features.build.build_events`` keys them)."""
    flagged = pd.Series(False, index=cohort.index)
    signs = [(discharges(events) if domain == "hes_discharge" else events[domain], flag) for domain, flag in
             (("gp_code", "care_home"), ("hes_discharge", "to_care_home"), ("ecds", "to_care_home"))]
    cld = events["cld"]
    for index_date, rows in cohort.groupby("index_date"):
        keys = [ev.loc[(ev["event_date"] < index_date) & (ev[flag] == 1), "person_key"].to_numpy()
                for ev, flag in signs]
        open_ = (cld["event_date"] < index_date) & (cld["end_date"].isna() | (cld["end_date"] > index_date))
        keys.append(cld.loc[open_ & (cld["care_home"] == 1), "person_key"].to_numpy())
        flagged.loc[rows.index] = np.isin(rows["person_key"].to_numpy(), np.concatenate(keys))
    return flagged


@COHORT_KINDS.register("community_registered")
def build_community_cohort(events: Events, spec: ModelSpec, index_dates: list[pd.Timestamp]) -> pd.DataFrame:
    """``gp_registered`` rows, with ``exclusion = 'in_care_home_on_index'`` for people already in a care home
    (:func:`in_care_home_before`): decided from records before the index date only."""
    cohort = build_registered_cohort(events, spec, index_dates)
    inside = in_care_home_before(events, cohort)
    cohort["exclusion"] = cohort["exclusion"].mask(inside & cohort["exclusion"].isna(), "in_care_home_on_index")
    return cohort


CARE_HOME_SIGNS = {"cld": "care_home", "hes_discharge": "to_care_home", "ecds": "to_care_home",
                   "gp_code": "care_home", "death": "in_care_home"}  # a death registered in a care home
OPTIONAL_SIGNS = frozenset({"death"})  # a council may hold no death registrations: that sign is then unseen


def discharges(events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Hospital stays dated by their discharge (``person_id, person_key, event_date, to_care_home``): where
    someone went is known only when the stay ends."""
    spells = events["hes_spell"]
    out = spells[["person_id", "person_key", "discharge_date", "to_care_home"]].rename(
        columns={"discharge_date": "event_date"})
    return out.dropna(subset=["event_date"])


@OUTCOME_KINDS.register("care_home_entry")
def attach_care_home_outcome(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    spec: ModelSpec,
    extract_date: date,
) -> pd.DataFrame:
    """A move into a care home in ``[index date, index date + horizon)``, all tenures; deaths beside it.

    Args:
        cohort: ``row_id, person_key, index_date, exclusion``.
        events: ``cld``, ``hes_spell`` (by discharge date), ``ecds``, ``gp_code`` and, when held, ``death`` (a
            death registered in a care home), each with its care-home flag (``CARE_HOME_SIGNS``), and
            ``gp_registration``.

    Returns:
        ``cohort`` plus ``outcome`` (Int8, <NA> if immature), ``outcome_state_funded`` (council-funded entry:
        CLD residential or nursing long-term support starting), ``outcome_death``, ``matured``,
        ``censoring`` (none) and the 24-month follow-up ``features.care_home_times.TIME_COLUMNS``.
    """
    horizon = pd.DateOffset(months=spec.outcome.horizon_months or 12)
    out = cohort.copy(deep=False)  # columns are only added: a deep copy of the features frame would be wasted
    out["window_end"] = out["index_date"] + horizon
    held = {d: flag for d, flag in CARE_HOME_SIGNS.items() if d not in OPTIONAL_SIGNS or d in events}
    for domain, flag in held.items():
        frame = discharges(events) if domain == "hes_discharge" else events[domain]
        seen = events_in_window(con, out, frame, start="index_date", end="window_end",
                                expressions={f"_{domain}": f"count(*) FILTER (WHERE e.{flag} = 1)"})
        out[f"_{domain}"] = _by_row_id(out, seen, f"_{domain}")
    out["matured"] = (out["window_end"] <= pd.Timestamp(extract_date) + pd.Timedelta(days=1)).astype("bool")
    signs = out[[f"_{d}" for d in held]].fillna(0).sum(axis=1)
    out["outcome"] = (signs > 0).astype("Int8").where(out["matured"])
    out["outcome_state_funded"] = (out["_cld"].fillna(0) > 0).astype("Int8").where(out["matured"])
    out["outcome_death"] = died_in_window(con, out, events).astype("Int8").where(out["matured"])
    out["censoring"] = pd.Series(pd.NA, index=out.index, dtype="str")
    # time to a care home or death over 24 months, for the competing-risks evaluation (features.care_home_times)
    signs = {d: (discharges(events) if d == "hes_discharge" else events[d], flag) for d, flag in held.items()}
    out = attach_competing_times(con, out, signs, events, extract_date)
    return out.drop(columns=["window_end", *[f"_{d}" for d in held]])
