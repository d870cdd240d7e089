"""Cohort and outcome kinds of the older-carer planning register, ``ld_older_carer`` (issue #18).

- cohort ``ld_older_carer``: on each index date, adults (18+) on the council's learning-disability register
  living with a family carer, at least one carer aged 70 or over, as the register had recorded them before
  the day (``features.ld_register.register_dyads``: a carer link counts from when it was entered, a move
  out takes the person off the register once entered);
- outcome ``ld_unplanned_move``: a move into a care home, supported living or Shared Lives within
  ``horizon_months`` that starts within 30 days after a crisis of one of the row's carers (death, emergency
  admission, a move into a care home), dated by when it happened (``features.ld_older_carer.attach_outcome``);
  ``outcome_any_move`` (any such move, planned or not) and ``outcome_death`` (the person died in the window,
  a competing event) are written beside it.

Registered with the kind registries on import (``features.adult_population`` imports this module).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import duckdb
import pandas as pd

from features.cohorts import COHORT_COLUMNS, COHORT_KINDS, Events
from features.ld_older_carer import attach_outcome, carer_crises
from features.ld_register import register_dyads
from features.outcomes import OUTCOME_KINDS
from models.spec import ModelSpec


class RegisterMissing(ValueError):
    """The model reads the learning-disability register and the county's linked data holds none of it."""


@COHORT_KINDS.register("ld_older_carer")
def build_register_cohort(events: Events, spec: ModelSpec, index_dates: list[pd.Timestamp]) -> pd.DataFrame:
    """One row per person on the older-carer register and index date (``COHORT_COLUMNS``, no exclusions).

    Args:
        events: ``ld_arrangement``, ``ld_carer``, ``person`` and the carers' domains
            (``features.ld_register.linked_frames``).

    Raises:
        RegisterMissing: no register rows at all (a county without the extract).
    """
    if events["ld_arrangement"].empty:
        raise RegisterMissing(f"{spec.name} reads the learning-disability register (source ld_register: "
                                   "ld_register_person, ld_arrangement, ld_carer), and this county's linked data "
                                   "holds none of it")
    dyads, _ = register_dyads(dict(events), [pd.Timestamp(d) for d in index_dates])
    rows = dyads[dyads["age"].between(spec.cohort.min_age, spec.cohort.max_age + 1, inclusive="left")]
    rows = rows[["person_id", "index_date"]].drop_duplicates()
    person = events["person"][["person_id", "person_key", "birth_year", "birth_month"]]
    out = rows.merge(person.assign(person_id=person["person_id"].astype("str")), on="person_id")
    out["index_date"] = pd.to_datetime(out["index_date"]).astype("datetime64[s]")
    out["index_year"] = out["index_date"].dt.year.astype("int64")
    out["exclusion"] = pd.Series(pd.NA, index=out.index, dtype="str")
    out = out.sort_values(["index_date", "person_id"], ignore_index=True)
    out["row_id"] = range(len(out))
    return out[COHORT_COLUMNS]


@OUTCOME_KINDS.register("ld_unplanned_move")
def attach_move_outcome(con: duckdb.DuckDBPyConnection, cohort: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                        spec: ModelSpec, extract_date: date) -> pd.DataFrame:
    """``cohort`` plus ``outcome`` (Int8, <NA> if immature), ``outcome_any_move``, ``outcome_death``,
    ``matured`` and ``censoring`` (none: a death is a competing event, reported beside the outcome)."""
    dates = [pd.Timestamp(d) for d in cohort["index_date"].drop_duplicates()]
    dyads, f = register_dyads(dict(events), dates)
    crises = carer_crises(f["people"], f["admissions"], f["care_home"])
    keyed = cohort.assign(person_id=cohort["person_id"].astype("str"))
    labelled = attach_outcome(keyed[["person_id", "index_date"]].drop_duplicates(), dyads, f["moves"], crises,
                              f["people"], pd.Timestamp(extract_date), horizon_months=spec.outcome.horizon_months or 12)
    columns = ["outcome", "outcome_any_move", "outcome_death", "matured"]
    out = keyed.merge(labelled[["person_id", "index_date", *columns]], on=["person_id", "index_date"], how="left")
    out["matured"] = out["matured"].fillna(False).astype("bool")
    for column in columns[:3]:
        out[column] = out[column].astype("Int8").where(out["matured"])
    out["censoring"] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out
