"""Linkage as it could have been done on a past date: only the records that existed then.

The person index ``riskpipe link`` builds uses every record up to the extract date. A child who later
enters care gets a social-care record that can bridge their school and health records, so their
*earlier* histories look more complete than they could have at an index date: evaluation flatters the
live list. ``riskpipe link --as-of DATE`` rebuilds the index from the records that existed strictly
before DATE — a source's person exists once it has a dated record (``RecordDates``) before DATE, and a
dated person table keeps only its rows from before DATE, so identifiers are the ones recorded then —
and :func:`compare_indexes` says how much of the full index rests on later records.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.sources.registry import Source


def existing_keys(dated: dict[str, pd.DataFrame], key: str, as_of: date) -> pd.Series:
    """Person-key tokens with any dated record strictly before ``as_of``.

    Args:
        dated: table -> frame with ``key`` and a ``date`` column (the table's ``RecordDates`` column).
    """
    cut = pd.Timestamp(as_of)
    keys = [frame.loc[pd.to_datetime(frame["date"], errors="coerce") < cut, key] for frame in dated.values()]
    return pd.concat(keys, ignore_index=True).dropna().drop_duplicates() if keys else pd.Series(dtype="string")


def records_existing_on(source: Source, tables: dict[str, pd.DataFrame], keys: pd.Series, as_of: date
                        ) -> dict[str, pd.DataFrame]:
    """``tables`` (a source's person and address tables) cut to what existed strictly before ``as_of``.

    The person table keeps the persons in ``keys``; a table with a dated column of its own (the school
    census's ``census_date``, NCCIS's ``date_ascertained``) keeps only its rows from before ``as_of``, so
    the identifiers linked are the ones recorded by then.
    """
    cut = pd.Timestamp(as_of)
    own_dates = {r.table: r.column for r in source.record_dates}
    out = {}
    for name, frame in tables.items():
        kept = frame
        date_column = own_dates.get(name) or ("census_date" if "census_date" in frame.columns else None)
        if date_column and date_column in frame.columns:
            kept = kept[pd.to_datetime(kept[date_column], errors="coerce") < cut]
        key = source.person_key_token
        if name == source.persons.table and key in kept.columns:
            kept = kept[kept[key].isin(keys)]
        out[name] = kept.reset_index(drop=True)
    return out


def compare_indexes(full: pd.DataFrame, as_of: pd.DataFrame) -> dict[str, float | int]:
    """How much the full index's people rest on records made after the as-of date.

    Both are person indexes (``table, record_key_tok, person_id``). Over the records the as-of index
    holds: ``people_as_of`` and ``people_full`` (the same records grouped as the full index groups them),
    ``records_joined_only_later`` (records whose full-index person holds another as-of record that the
    as-of index keeps apart: joined only through later records) and its share, and
    ``records_split_later`` (records the as-of index joins but the full index keeps apart).
    """
    keys = ["table", "record_key_tok"]
    both = as_of[[*keys, "person_id"]].merge(full[[*keys, "person_id"]], on=keys, suffixes=("_as_of", "_full"))
    # a record is "joined only later" when its full person spans several as-of people
    spans = both.groupby("person_id_full")["person_id_as_of"].nunique()
    later = both["person_id_full"].map(spans) > 1
    splits = both.groupby("person_id_as_of")["person_id_full"].nunique()
    split = both["person_id_as_of"].map(splits) > 1
    records = len(both)
    return {"records_as_of": int(len(as_of)), "records_in_both": int(records),
            "people_as_of": int(both["person_id_as_of"].nunique()),
            "people_full": int(both["person_id_full"].nunique()),
            "records_joined_only_later": int(later.sum()),
            "share_joined_only_later": float(later.mean()) if records else 0.0,
            "records_split_later": int(split.sum())}
