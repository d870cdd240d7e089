"""Which sources hold each listed person, and when each last recorded them before the index date.

A child with no health record is not a child at low health risk: the model simply saw nothing. Dates
on a list are shown to the month (``LIST_DATE_FORMAT``): enough to judge how recent a record is, no
day that narrows down an event. The sources, their order, display names and the tables and date
columns that date their records all come from the source registry (``Source.record_dates``, keyed by
``Source.person_key_token``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from pipeline.sources.registry import Source, person_sources

# how a date reads on a risk list: year and month only
LIST_DATE_FORMAT = "%Y-%m"


def record_date_columns(sources: Sequence[Source] | None = None) -> list[tuple[str, str, str, str]]:
    """``(source, pseudonymised table, person key token, date column)`` for every dated table, sources in order."""
    return [(source.name, dates.table, source.person_key_token, dates.column)
            for source in (person_sources() if sources is None else sources) for dates in source.record_dates]


def collect_source_events(tables: Mapping[str, pd.DataFrame], sources: Sequence[Source] | None = None) -> pd.DataFrame:
    """Stack every record date per source person key from the pseudonymised tables present.

    Args:
        tables: pseudonymised table name -> frame holding the key and date columns of :func:`record_date_columns`.

    Returns:
        ``table`` (person source), ``record_key_tok``, ``event_date`` (datetime64).
    """
    parts = []
    for source, table, key, date in record_date_columns(sources):
        if table in tables:
            df = tables[table][[key, date]].dropna()
            parts.append(pd.DataFrame({"table": source, "record_key_tok": df[key].astype("str"),
                                       "event_date": pd.to_datetime(df[date])}))
    if not parts:
        return pd.DataFrame({"table": pd.Series(dtype="str"), "record_key_tok": pd.Series(dtype="str"),
                             "event_date": pd.Series(dtype="datetime64[us]")})
    return pd.concat(parts, ignore_index=True)


def last_record_dates(events: pd.DataFrame, person_index: pd.DataFrame, index_date: pd.Timestamp,
                      sources: Sequence[Source] | None = None) -> pd.DataFrame:
    """Latest record date strictly before ``index_date`` per person and source.

    Args:
        events: ``table`` (person source), ``record_key_tok``, ``event_date``.
        person_index: ``table``, ``record_key_tok``, ``person_id``.
        sources: the sources to show (default: the registry's person sources, in order).

    Returns:
        One row per ``person_id``: ``<source>_last_record`` (datetime64 or NaT) for each source.
    """
    names = [s.name for s in (person_sources() if sources is None else sources)]
    seen = events[events["event_date"] < index_date].merge(person_index[["table", "record_key_tok", "person_id"]],
                                                           on=["table", "record_key_tok"], how="inner")
    latest = seen.groupby(["person_id", "table"])["event_date"].max().unstack("table")
    latest = latest.reindex(columns=names)
    latest.columns = [f"{name}_last_record" for name in names]
    return latest.astype("datetime64[us]").reset_index()


def describe_sources(coverage: pd.DataFrame, sources: Sequence[Source] | None = None) -> pd.Series:
    """'school (last 2025-01); no health record; ...' per row of :func:`last_record_dates` output."""
    parts = []
    for source in person_sources() if sources is None else sources:
        dates = coverage[f"{source.name}_last_record"]
        label = source.display_name
        parts.append(dates.dt.strftime(f"{label} (last {LIST_DATE_FORMAT})").fillna(f"no {label} record"))
    return pd.concat(parts, axis=1).agg("; ".join, axis=1)


def format_list_dates(dates: pd.Series, missing: str = "no record") -> pd.Series:
    """Dates as they read on a list: ``YYYY-MM`` (``LIST_DATE_FORMAT``), ``missing`` where there is none."""
    return dates.dt.strftime(LIST_DATE_FORMAT).fillna(missing)
