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


def records_seen(coverage: pd.DataFrame, sources: Sequence[Source] | None = None) -> pd.Series:
    """'school (last 2025-01); NCCIS (last 2024-05)' per row of :func:`last_record_dates` output: the sources
    holding a record, with the month of the latest; "none" when no source does."""
    parts = []
    for source in person_sources() if sources is None else sources:
        dates = coverage[f"{source.name}_last_record"]
        parts.append(dates.dt.strftime(f"{source.display_name} (last {LIST_DATE_FORMAT})"))
    if not parts:
        return pd.Series("none", index=coverage.index, dtype="str")
    joined = pd.concat(parts, axis=1).apply(lambda row: "; ".join(row.dropna()), axis=1)
    return joined.replace("", "none").astype("str")


def cannot_see(coverage: pd.DataFrame, sources: Sequence[Source] | None = None) -> pd.Series:
    """What the model cannot see for each person: "no record in health or NCCIS", or "every linked source
    holds a record" (per row of :func:`last_record_dates` output)."""
    sources = person_sources() if sources is None else sources
    missing = pd.concat([coverage[f"{s.name}_last_record"].isna().rename(s.display_name) for s in sources], axis=1)

    def sentence(row: pd.Series) -> str:
        names = [name for name, absent in row.items() if absent]
        if not names:
            return "every linked source holds a record"
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f"no record in {listed}"

    return missing.apply(sentence, axis=1).astype("str")


def sources_on_list(feature_columns: Sequence[str], groups: Mapping[str, str], cohort: pd.DataFrame,
                    sources: Sequence[Source] | None = None) -> tuple[list[Source], list[Source]]:
    """Which person sources a list speaks of, and which hold no record of anyone scored.

    A source is the model's when one of its inputs is that source's (feature group = source name) or says
    whether the source holds the person (``in_<source>_ever``); of those, a source holding nobody in the
    scored cohort (``in_<source>_ever`` all 0: not supplied, or not about this population) is no blind spot
    of one child but of all, said once in the caveats rather than on every row.

    Args:
        feature_columns: the model's inputs; groups: feature name -> registry group.
        cohort: the scored cohort (its ``in_<source>_ever`` columns are read where present).

    Returns:
        ``(shown, held_by_nobody)``: sources in registry order (every source when no input can be placed).
    """
    sources = person_sources() if sources is None else sources
    used_groups = {groups.get(c) for c in feature_columns}
    used = [s for s in sources if s.name in used_groups or f"in_{s.name}_ever" in feature_columns]
    used = used or list(sources)  # inputs the registry cannot place: speak of every source rather than none
    nobody = [s for s in used if f"in_{s.name}_ever" in cohort and not (cohort[f"in_{s.name}_ever"] == 1).any()]
    return [s for s in used if s not in nobody], nobody


def format_list_dates(dates: pd.Series, missing: str = "no record") -> pd.Series:
    """Dates as they read on a list: ``YYYY-MM`` (``LIST_DATE_FORMAT``), ``missing`` where there is none."""
    return dates.dt.strftime(LIST_DATE_FORMAT).fillna(missing)
