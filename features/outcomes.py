"""Outcomes: what happens on or after each index date, within the spec's window.

A spec's ``outcome.kind`` names a builder registered in ``OUTCOME_KINDS``; a new kind is one more
decorated function with the same arguments. Outcome windows never start before the index date, and
an outcome is <NA> until its window has ended by the extract date (immature). Exclusions and
censoring are decided on matured rows only and recorded as reasons (``exclusion``, ``censoring``)
for the report; the rows are dropped later.

No exclusion or censoring rule reads the label or the outcome's own records: each is decided from
other evidence and applied to positive and negative rows alike (docs/contracts.md, "Who is evaluated").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import duckdb
import pandas as pd

from features.kinds import KindRegistry
from features.window import activity_in_force, events_in_window, rows_with_span_overlapping
from models.spec import ModelSpec

OutcomeBuilder = Callable[[duckdb.DuckDBPyConnection, pd.DataFrame, Mapping[str, pd.DataFrame], ModelSpec, date],
                          pd.DataFrame]
OUTCOME_KINDS: KindRegistry[OutcomeBuilder] = KindRegistry("outcome")

NEET_CODES = ("540", "610", "615", "616", "619", "620", "630", "640", "650", "660", "670", "680")
NOT_KNOWN_CODES = ("810", "820", "830")
CUSTODY_CODES = ("710",)  # out of the NEET denominator (DOMAIN.md)

# the event domain holding each outcome's own records: exclusion and censoring rules never read it
NEET_OUTCOME_DOMAIN = "nccis"
CARE_OUTCOME_DOMAIN = "care"


def neet_codes(definition: str, code_550_is_neet: bool) -> tuple[str, ...]:
    """NCCIS activity codes that make the NEET outcome under a spec's settings."""
    codes = NEET_CODES + (("550",) if code_550_is_neet else ())
    return codes + (NOT_KNOWN_CODES if definition == "neet_or_not_known" else ())


def _in_codes(codes: tuple[str, ...], column: str = "e.activity_code") -> str:
    return f"CAST(bool_or({column} IN (" + ", ".join(f"'{c}'" for c in codes) + ")) AS INTEGER)"


def neet_window(birth_year: pd.Series, birth_month: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Start of academic age 16 (1 September after the 16th birthday's academic year began) and the
    exclusive end of the 18th-birthday month (birth day is not known to features)."""
    start_year = birth_year + 16 + (birth_month >= 9).astype("Int64")
    start = pd.to_datetime(start_year.astype("str") + "-09-01", errors="coerce")
    end_month = pd.to_datetime(
        (birth_year + 18).astype("str") + "-" + birth_month.astype("str") + "-01", errors="coerce"
    )
    return start, end_month + pd.DateOffset(months=1)


def records_other_than(events: Mapping[str, pd.DataFrame], domain: str) -> pd.DataFrame:
    """The cross-source ``record`` spans without the outcome's own domain: the evidence that a child is
    still around which cannot itself be the outcome (``person_key, event_date, end_date``)."""
    record = events["record"]
    return record[record["domain"].astype("str") != domain]


def left_before(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                domain: str, *, start: str, end: str) -> pd.Series:
    """Whether each row has no record outside ``domain`` overlapping ``[start, end)`` (aligned with ``rows``)."""
    seen = rows_with_span_overlapping(con, rows, records_other_than(events, domain), start=start, end=end)
    return ~rows["row_id"].isin(seen)


@OUTCOME_KINDS.register("nccis_neet")
def attach_neet_outcome(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    spec: ModelSpec,
    extract_date: date,
) -> pd.DataFrame:
    """NEET between academic age 16 and the 18th birthday, from the NCCIS activities in force in that window.

    An activity is in force from its start until the next activity starts: one starting in the window
    counts, and so does the latest one started before the window (on or after the index date) that is
    still in force when the window opens (a NEET spell from the summer after Year 11 is NEET at 16).

    Exclusions, on matured rows and whatever the outcome: ``custody_in_window`` (an NCCIS 710 activity in
    force in the window: out of the NEET denominator, DOMAIN.md) and ``left_before_window`` (no record in
    any source but NCCIS in the ``months_before_window`` before the window: moved away).

    Args:
        cohort: ``row_id, person_id, person_key, index_date, birth_year, birth_month, exclusion``.
        events: ``nccis`` (``person_key, event_date (activity start), activity_code``) and ``record``
            (``person_key, event_date, end_date, domain``).

    Returns:
        ``cohort`` plus ``outcome`` (Int8, <NA> if immature), ``outcome_neet`` and
        ``outcome_neet_or_not_known`` (both ways, with the spec's 550 setting, for the report),
        ``matured`` and ``censoring`` (none), with the exclusion reasons above.
    """
    o, ex = spec.outcome, spec.exclusions
    out = cohort.copy()
    start, end = neet_window(out["birth_year"], out["birth_month"])
    out["window_start"] = start.where(start >= out["index_date"], out["index_date"])
    out["window_end"] = end
    codes = {"outcome_neet": neet_codes("neet", o.code_550_is_neet),
             "outcome_neet_or_not_known": neet_codes("neet_or_not_known", o.code_550_is_neet),
             "custody": CUSTODY_CODES}
    dated = out.dropna(subset=["window_end"])
    seen = events_in_window(con, dated, events["nccis"], start="window_start", end="window_end",
                            expressions={name: _in_codes(c) for name, c in codes.items()})
    in_force = activity_in_force(con, dated, events["nccis"], since="index_date", at="window_start",
                                 value="activity_code")
    out = out.join(seen.set_index("row_id"), on="row_id").join(in_force.set_index("row_id"), on="row_id")
    matured = (out["window_end"] <= pd.Timestamp(extract_date) + pd.Timedelta(days=1)).fillna(False)
    out["matured"] = matured.astype("bool")
    for col, c in codes.items():
        found = out[col].fillna(0).astype("bool") | out["activity_code"].isin(c)
        out[col] = found.astype("Int8").where(out["matured"])
    out["outcome"] = out[f"outcome_{o.definition}"]
    no_birth = out["window_end"].isna()
    out["exclusion"] = out["exclusion"].mask(no_birth & out["exclusion"].isna(), "no_birth_month")
    if ex.custody_in_window:
        custody = out["matured"] & (out["custody"] == 1).fillna(False) & out["exclusion"].isna()
        out["exclusion"] = out["exclusion"].mask(custody, "custody_in_window")
    if ex.left_before_window:
        out["looked_from"] = out["window_start"] - pd.DateOffset(months=ex.months_before_window)
        undecided = out[out["matured"] & out["exclusion"].isna()]
        left = left_before(con, undecided, events, NEET_OUTCOME_DOMAIN, start="looked_from", end="window_start")
        out["exclusion"] = out["exclusion"].mask(out.index.isin(undecided.index[left.to_numpy()]),
                                                 "left_before_window")
        out = out.drop(columns="looked_from")
    out["censoring"] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out.drop(columns=["custody", "activity_code", "window_start", "window_end"])


@OUTCOME_KINDS.register("care_entry")
def attach_care_outcome(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    spec: ModelSpec,
    extract_date: date,
) -> pd.DataFrame:
    """A new period of care (SSDA903 reason for new episode ``S``) starting within ``horizon_months`` on
    or after the index date; an episode that only changes placement or legal status within a continuing
    period (RNE P, L, T, U, B) is not an entry.

    Censoring ``left_all_sources``, applied to every matured row whatever its outcome: no record in any
    source other than the SSDA903 episodes themselves from the index date to ``horizon +
    months_without_record`` months after it (or the extract date).

    Args:
        cohort: ``row_id, person_id, person_key, index_date, exclusion``.
        events: ``care`` (``person_key, event_date, new_period``) and ``record`` (``person_key,
            event_date, end_date, domain``).

    Returns:
        ``cohort`` plus ``outcome`` (Int8, <NA> if immature), ``matured`` and ``censoring`` reasons.
    """
    horizon_months = spec.outcome.horizon_months or 12
    horizon = pd.DateOffset(months=horizon_months)
    extract = pd.Timestamp(extract_date)
    out = cohort.copy()
    out["window_end"] = out["index_date"] + horizon
    entered = events_in_window(con, out, events["care"], start="index_date", end="window_end",
                               expressions={"entered": "CAST(bool_or(e.new_period = 1) AS INTEGER)"})
    out = out.join(entered.set_index("row_id"), on="row_id")
    out["matured"] = (out["window_end"] <= extract + pd.Timedelta(days=1)).astype("bool")
    out["outcome"] = out["entered"].fillna(0).astype("Int8").where(out["matured"])
    out["censoring"] = pd.Series(pd.NA, index=out.index, dtype="str")
    if spec.censoring.left_all_sources:
        look = pd.DateOffset(months=horizon_months + spec.censoring.months_without_record)
        seen_until = out["index_date"] + look
        out["seen_until"] = seen_until.where(seen_until <= extract, extract)
        left = left_before(con, out, events, CARE_OUTCOME_DOMAIN, start="index_date", end="seen_until")
        out["censoring"] = out["censoring"].mask(out["matured"] & left & out["exclusion"].isna(), "left_all_sources")
        out = out.drop(columns="seen_until")
    return out.drop(columns=["entered", "window_end"])


def attach_outcome(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    spec: ModelSpec,
    extract_date: date,
) -> pd.DataFrame:
    """The outcome of the builder the spec's ``outcome.kind`` names (see ``OUTCOME_KINDS``).

    Raises:
        UnknownKindError: no builder is registered for ``outcome.kind``.
    """
    return OUTCOME_KINDS.get(spec.outcome.kind)(con, cohort, events, spec, extract_date)
