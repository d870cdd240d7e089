"""Outcomes: what happens on or after each index date, within the spec's window.

A spec's ``outcome.kind`` names a builder registered in ``OUTCOME_KINDS``; a new kind is one more
decorated function with the same arguments. Outcome windows never start before the index date, and
an outcome is <NA> until its window has ended by the extract date (immature). Exclusions and
censoring are decided on matured rows only and recorded as reasons (``exclusion``, ``censoring``)
for the report; the rows are dropped later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import duckdb
import pandas as pd

from features.kinds import KindRegistry
from features.window import events_in_window, rows_with_span_overlapping
from models.spec import ModelSpec

OutcomeBuilder = Callable[[duckdb.DuckDBPyConnection, pd.DataFrame, Mapping[str, pd.DataFrame], ModelSpec, date],
                          pd.DataFrame]
OUTCOME_KINDS: KindRegistry[OutcomeBuilder] = KindRegistry("outcome")

NEET_CODES = ("540", "610", "615", "616", "619", "620", "630", "640", "650", "660", "670", "680")
NOT_KNOWN_CODES = ("810", "820", "830")


def neet_codes(definition: str, code_550_is_neet: bool) -> tuple[str, ...]:
    """NCCIS activity codes that make the NEET outcome under a spec's settings."""
    codes = NEET_CODES + (("550",) if code_550_is_neet else ())
    return codes + (NOT_KNOWN_CODES if definition == "neet_or_not_known" else ())


def _in_codes(codes: tuple[str, ...]) -> str:
    return "CAST(bool_or(e.activity_code IN (" + ", ".join(f"'{c}'" for c in codes) + ")) AS INTEGER)"


def neet_window(birth_year: pd.Series, birth_month: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Start of academic age 16 (1 September after the 16th birthday's academic year began) and the
    exclusive end of the 18th-birthday month (birth day is not known to features)."""
    start_year = birth_year + 16 + (birth_month >= 9).astype("Int64")
    start = pd.to_datetime(start_year.astype("str") + "-09-01", errors="coerce")
    end_month = pd.to_datetime(
        (birth_year + 18).astype("str") + "-" + birth_month.astype("str") + "-01", errors="coerce"
    )
    return start, end_month + pd.DateOffset(months=1)


@OUTCOME_KINDS.register("nccis_neet")
def attach_neet_outcome(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    spec: ModelSpec,
    extract_date: date,
) -> pd.DataFrame:
    """NEET between academic age 16 and the 18th birthday, from NCCIS activity starts in that window.

    Args:
        cohort: ``row_id, person_id, index_date, birth_year, birth_month, exclusion``.
        events: ``nccis`` (``person_id, event_date (activity start), activity_code``).

    Returns:
        ``cohort`` plus ``outcome`` (Int8, <NA> if immature), ``outcome_neet`` and
        ``outcome_neet_or_not_known`` (both ways, with the spec's 550 setting, for the report), and
        ``exclusion = 'no_nccis_record'`` for matured rows with no NCCIS activity in the window.
    """
    o = spec.outcome
    out = cohort.copy()
    start, end = neet_window(out["birth_year"], out["birth_month"])
    out["window_start"] = start.where(start >= out["index_date"], out["index_date"])
    out["window_end"] = end
    expressions = {
        "any_record": "1",
        "outcome_neet": _in_codes(neet_codes("neet", o.code_550_is_neet)),
        "outcome_neet_or_not_known": _in_codes(neet_codes("neet_or_not_known", o.code_550_is_neet)),
    }
    seen = events_in_window(con, out.dropna(subset=["window_end"]), events["nccis"], start="window_start",
                            end="window_end", expressions=expressions)
    out = out.join(seen.set_index("row_id"), on="row_id")
    matured = (out["window_end"] <= pd.Timestamp(extract_date) + pd.Timedelta(days=1)).fillna(False)
    out["matured"] = matured.astype("bool")
    for col in ("outcome_neet", "outcome_neet_or_not_known"):
        out[col] = out[col].fillna(0).astype("Int8").where(out["matured"])
    out["outcome"] = out[f"outcome_{o.definition}"]
    no_birth = out["window_end"].isna()
    out["exclusion"] = out["exclusion"].mask(no_birth & out["exclusion"].isna(), "no_birth_month")
    if spec.exclusions.no_nccis_record:
        moved = out["matured"] & out["any_record"].isna() & out["exclusion"].isna()
        out["exclusion"] = out["exclusion"].mask(moved, "no_nccis_record")
    out["censoring"] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out.drop(columns=["any_record", "window_start", "window_end"])


@OUTCOME_KINDS.register("care_entry")
def attach_care_outcome(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    spec: ModelSpec,
    extract_date: date,
) -> pd.DataFrame:
    """A looked-after episode starting within ``horizon_months`` on or after the index date.

    Children with no record in any source from the index date to ``horizon + months_without_record``
    months after it (or the extract date) and no care entry are censored as having left.

    Args:
        cohort: ``row_id, person_id, index_date, exclusion``.
        events: ``care`` (``person_id, event_date``) and ``record`` (``person_id, event_date, end_date``).

    Returns:
        ``cohort`` plus ``outcome`` (Int8, <NA> if immature), ``matured`` and ``censoring`` reasons.
    """
    horizon_months = spec.outcome.horizon_months or 12
    horizon = pd.DateOffset(months=horizon_months)
    extract = pd.Timestamp(extract_date)
    out = cohort.copy()
    out["window_end"] = out["index_date"] + horizon
    entered = events_in_window(con, out, events["care"], start="index_date", end="window_end",
                               expressions={"entered": "1"})
    out = out.join(entered.set_index("row_id"), on="row_id")
    out["matured"] = (out["window_end"] <= extract + pd.Timedelta(days=1)).astype("bool")
    out["outcome"] = out["entered"].fillna(0).astype("Int8").where(out["matured"])
    out["censoring"] = pd.Series(pd.NA, index=out.index, dtype="str")
    if spec.censoring.left_all_sources:
        look = pd.DateOffset(months=horizon_months + spec.censoring.months_without_record)
        seen_until = out["index_date"] + look
        out["seen_until"] = seen_until.where(seen_until <= extract, extract)
        seen = rows_with_span_overlapping(con, out, events["record"], start="index_date", end="seen_until")
        out["seen_after"] = out["row_id"].isin(seen)
        left = out["matured"] & ~out["seen_after"] & (out["outcome"] == 0).fillna(False)
        out["censoring"] = out["censoring"].mask(left & out["exclusion"].isna(), "left_all_sources")
        out = out.drop(columns=["seen_after", "seen_until"])
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
