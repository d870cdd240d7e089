"""Time to a care home or to death: the competing-risks follow-up of ``care_home_admission`` (issue #18).

The 12-month label says only whether a move into a care home was recorded; it cannot say that someone
died first (a person who dies cannot then enter a care home). For the cause-specific survival models and
the cumulative incidence by risk band (``models.competing_risks``) each row also gets, over the longest
horizon (``FOLLOW_UP_MONTHS``, the 24-month secondary outcome):

- ``followup_days``: days from the index date to the first of: the first care-home sign, death, the end of
  the person's GP registration (left the practice list, so the county's records stop: censored), the end
  of the 24 months, or the extract date (administrative censoring);
- ``followup_event``: what ended the follow-up: ``1`` a care home, ``2`` death, ``0`` censored. A care home
  and a death on the same day count as the care home (a death in a care home is a care-home entry);
- ``outcome_24m``: any care-home sign within 24 months (Int8, <NA> until the 24 months have ended by the
  extract date) and ``matured_24m``.

Signs are the outcome's own (a council residential or nursing placement starting, a hospital or ED
discharge to a care home, a GP care-home code); deaths are ONS registrations and the GP record's date of
death. Nothing here is a feature: these columns are written beside the outcome for evaluation only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import duckdb
import pandas as pd

from features.window import events_in_window

FOLLOW_UP_MONTHS = 24
CARE_HOME, DEATH, CENSORED = 1, 2, 0
TIME_COLUMNS = ("followup_days", "followup_event", "outcome_24m", "matured_24m")


def death_dates(events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every recorded date of death (``person_key, event_date``): the GP record's and ONS registrations."""
    gp = events["gp_registration"][["person_key", "death_date"]].dropna().rename(columns={"death_date": "event_date"})
    ons = [events["death"][["person_key", "event_date"]]] if "death" in events else []
    return pd.concat([gp, *ons], ignore_index=True)


def registered_until(registrations: pd.DataFrame) -> pd.Series:
    """The last day each person (``person_key``) is on a GP list: NaT while any registration is still open.

    A gap between two registrations is not treated as leaving: only the end of the last one censors.
    """
    ends = registrations[["person_key", "registration_end"]].assign(_open=registrations["registration_end"].isna())
    by_person = ends.groupby("person_key").agg(last=("registration_end", "max"), still_open=("_open", "any"))
    return by_person["last"].mask(by_person["still_open"])


def _as_dates(values: pd.Series) -> pd.Series:
    """Dates at one resolution (an all-missing column maps to floats; DuckDB may return date or timestamp)."""
    return pd.to_datetime(values.astype("object"), errors="coerce").astype("datetime64[ns]")


def _by_row(rows: pd.DataFrame, found: pd.DataFrame, column: str) -> pd.Series:
    """``found[column]`` aligned with ``rows`` by ``row_id`` (NaT where a row had no event), as dates."""
    values = found.set_index("row_id")[column].reindex(rows["row_id"]).to_numpy()
    return _as_dates(pd.Series(values, index=rows.index))


def attach_competing_times(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame,
                           signs: Mapping[str, tuple[pd.DataFrame, str]], events: Mapping[str, pd.DataFrame],
                           extract_date: date) -> pd.DataFrame:
    """``rows`` plus ``TIME_COLUMNS`` (see the module docstring).

    Args:
        rows: ``row_id, person_key, index_date``.
        signs: domain -> (its events ``person_key, event_date`` and the 0/1 care-home flag column named).
        events: ``gp_registration`` (``person_key, registration_end, death_date``) and, when held, ``death``
            (``person_key, event_date``).
        extract_date: the date the extracts were taken: nothing later is known.
    """
    extract = pd.Timestamp(extract_date)
    out = rows.copy(deep=False)  # columns are only added (copy-on-write): no deep copy of the features frame
    out["_end"] = out["index_date"] + pd.DateOffset(months=FOLLOW_UP_MONTHS)
    firsts = []
    for domain, (frame, flag) in signs.items():
        seen = events_in_window(con, out, frame, start="index_date", end="_end",
                                expressions={f"_{domain}": f"min(e.event_date) FILTER (WHERE e.{flag} = 1)"})
        firsts.append(_by_row(out, seen, f"_{domain}"))
    care_home = pd.concat(firsts, axis=1).min(axis=1) if firsts else _as_dates(pd.Series(pd.NaT, index=out.index))
    died = events_in_window(con, out, death_dates(events), start="index_date", end="_end",
                            expressions={"_died": "min(e.event_date)"})
    death = _by_row(out, died, "_died")
    until = registered_until(events["gp_registration"])
    left = _as_dates(pd.Series(until.reindex(out["person_key"]).to_numpy(), index=out.index))
    # censored at the end of follow-up, the extract date or the last GP registration's end, whichever comes first
    censor = out["_end"].where(out["_end"] <= extract, extract)
    censor = censor.where(left.isna() | (left >= censor), left)
    event_date = care_home.where(care_home.notna() & ~(death < care_home), death)
    ends_in_event = event_date.notna() & (event_date <= censor)
    kind = pd.Series(CENSORED, index=out.index, dtype="int8")
    kind = kind.mask(ends_in_event & (event_date == care_home), CARE_HOME).mask(
        ends_in_event & (event_date != care_home), DEATH)
    stop = event_date.where(ends_in_event, censor)
    out["followup_days"] = (stop - out["index_date"]).dt.days.clip(lower=0).astype("int64")
    out["followup_event"] = kind
    out["matured_24m"] = (out["_end"] <= extract + pd.Timedelta(days=1)).astype("bool")
    out["outcome_24m"] = care_home.notna().astype("Int8").where(out["matured_24m"])
    return out.drop(columns="_end")
