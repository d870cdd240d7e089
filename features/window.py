"""Point-in-time aggregation: events strictly before each index date, summarised by SQL expressions.

One DuckDB query per event domain joins the cohort (``row_id, person_id, index_date``) to that
domain's events on ``person_id`` with ``e.event_date < c.index_date`` in the join condition, so no
expression can see an event on or after the index date, whatever it computes. Windows are filters
on the same rows (``W12`` = the 12 months before the index date).
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd

W6Y = "e.event_date >= c.index_date - INTERVAL 72 MONTH"
W12 = "e.event_date >= c.index_date - INTERVAL 12 MONTH"
W36 = "e.event_date >= c.index_date - INTERVAL 36 MONTH"
OPEN_AT_INDEX = "(e.end_date IS NULL OR e.end_date > c.index_date)"
MONTHS_SINCE_LAST = "date_diff('month', max(e.event_date), c.index_date)"
# cohort rows per aggregation query: DuckDB's join and aggregate state grow with the rows of one query (1.3 GB
# for the outpatient domain at 3.5M rows, issue #17); each row's result depends on its own person's events only,
# so querying the cohort a range of people at a time, with only those people's events, gives the same rows
COHORT_ROWS_PER_QUERY = 500_000


def connect_duckdb(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection for one features run."""
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def query_registered(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], query: str) -> pd.DataFrame:
    """Run ``query`` with ``frames`` registered under their names, unregistering them however it ends."""
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        return con.execute(query).df()
    finally:
        for name in frames:
            con.unregister(name)


def aggregate_before_index(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: pd.DataFrame,
    expressions: Mapping[str, str],
) -> pd.DataFrame:
    """Summarise each cohort row's events dated strictly before its index date.

    Args:
        con: DuckDB connection.
        cohort: ``row_id, person_key, index_date`` (``person_key``: integer person code, see
            ``features.build.add_person_keys``).
        events: ``person_key, event_date`` plus the columns the expressions use (as ``e.<col>``;
            cohort columns as ``c.<col>``).
        expressions: output column -> DuckDB aggregate expression.

    Returns:
        ``row_id``, one column per expression and ``_max_event_date`` (the latest event seen), for
        cohort rows with at least one event before the index date; other rows are absent. The rows come in
        no set order; the cohort is queried about ``COHORT_ROWS_PER_QUERY`` rows at a time (``people_slices``).
    """
    selects = ",\n  ".join(f'{sql} AS "{name}"' for name, sql in expressions.items())
    query = f"""
        SELECT c.row_id, {selects},
          max(e.event_date) AS _max_event_date
        FROM _cohort c JOIN _events e
          ON e.person_key = c.person_key AND e.event_date < c.index_date
        GROUP BY c.row_id, c.index_date
    """
    rows = cohort[["row_id", "person_key", "index_date"]]
    events = events.drop(columns="person_id", errors="ignore")
    row_slice, event_slice, slices = people_slices(rows["person_key"].to_numpy(), events["person_key"].to_numpy(),
                                                   COHORT_ROWS_PER_QUERY)
    if slices <= 1:
        return query_registered(con, {"_cohort": rows, "_events": events}, query)
    # a slice's rows with only its people's events: slicing the cohort alone made every query join all the events,
    # so the work grew with the square of the county (24 passes over 29M outpatient events at 1M people, issue #17)
    parts = [query_registered(con, {"_cohort": rows[row_slice == s], "_events": events[event_slice == s]}, query)
             for s in range(slices)]
    return pd.concat(parts, ignore_index=True)


def people_slices(row_keys: np.ndarray, event_keys: np.ndarray, rows_per_slice: int
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Cut people (``person_key``, integers from 0) into ranges of about ``rows_per_slice`` cohort rows each.

    A person's rows all fall in one slice, so a slice holds at most ``rows_per_slice`` plus one person's rows
    less one; a slice's events are those of its people.

    Args:
        row_keys: each cohort row's ``person_key``.
        event_keys: each event's ``person_key``.
        rows_per_slice: cohort rows wanted per slice.

    Returns:
        ``(row_slice, event_slice, slices)``: the slice of each row and of each event, and how many slices.
    """
    if len(row_keys) <= rows_per_slice:
        return np.zeros(len(row_keys), dtype=np.int32), np.zeros(len(event_keys), dtype=np.int32), 1
    people = int(max(row_keys.max(), event_keys.max(initial=-1))) + 1
    per_person = np.bincount(row_keys, minlength=people)
    rows_before = np.cumsum(per_person) - per_person
    slice_of = (rows_before // rows_per_slice).astype(np.int32)
    row_slice = slice_of[row_keys]
    return row_slice, slice_of[event_keys], int(row_slice.max()) + 1


def events_in_window(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: pd.DataFrame,
    *,
    start: str,
    end: str,
    expressions: Mapping[str, str],
) -> pd.DataFrame:
    """Summarise each cohort row's events in an outcome window ``start <= event_date < end``.

    Args:
        cohort: ``row_id, person_id`` plus the columns ``start``/``end`` name (dates).
        events: ``person_id, event_date`` plus columns the expressions use.
        start: cohort column holding the (inclusive) window start, never before the index date.
        end: cohort column holding the (exclusive) window end.
        expressions: output column -> aggregate expression.

    Returns:
        ``row_id`` and one column per expression for rows with any event in their window.
    """
    selects = ", ".join(f'{sql} AS "{name}"' for name, sql in expressions.items())
    query = f"""
        SELECT c.row_id, {selects}
        FROM _cohort c JOIN _events e
          ON e.person_key = c.person_key AND e.event_date >= c."{start}" AND e.event_date < c."{end}"
        GROUP BY c.row_id
    """
    return query_registered(con, {
        "_cohort": cohort[["row_id", "person_key", start, end]],
        "_events": events.drop(columns="person_id", errors="ignore"),
    }, query)


def rows_with_span_overlapping(
    con: duckdb.DuckDBPyConnection, cohort: pd.DataFrame, spans: pd.DataFrame, *, start: str, end: str
) -> pd.Series:
    """``row_id`` of cohort rows with any span overlapping ``[start, end)`` (a null span end = still open).

    Args:
        cohort: ``row_id, person_id`` plus the date columns ``start`` and ``end``.
        spans: ``person_id, event_date (span start), end_date``.
    """
    query = f"""
        SELECT DISTINCT c.row_id FROM _cohort c JOIN _spans e
          ON e.person_key = c.person_key AND e.event_date < c."{end}"
         AND (e.end_date IS NULL OR e.end_date >= c."{start}")
    """
    return query_registered(con, {
        "_cohort": cohort[["row_id", "person_key", start, end]],
        "_spans": spans[["person_key", "event_date", "end_date"]],
    }, query)["row_id"]


def activity_in_force(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: pd.DataFrame,
    *,
    since: str,
    at: str,
    value: str,
) -> pd.DataFrame:
    """The latest event in ``[since, at)`` of each cohort row: the spell still in force at ``at`` when spells
    run from one event to the next (NCCIS activities). Same-day ties go to the largest ``value``, so reruns agree.

    Args:
        cohort: ``row_id, person_key`` and the date columns ``since`` and ``at``.
        events: ``person_key, event_date`` and ``value``.

    Returns:
        ``row_id`` and ``value`` for rows with any event in ``[since, at)``.
    """
    query = f"""
        SELECT c.row_id, max(struct_pack(d := e.event_date, v := e."{value}")).v AS "{value}"
        FROM _cohort c JOIN _events e
          ON e.person_key = c.person_key AND e.event_date >= c."{since}" AND e.event_date < c."{at}"
        GROUP BY c.row_id
    """
    return query_registered(con, {
        "_cohort": cohort[["row_id", "person_key", since, at]],
        "_events": events[["person_key", "event_date", value]],
    }, query)
