"""Linking the pseudonymised tables to people and running the event builders over them, a table at a time.

``build_source_events`` gives each table ``person_id`` (``attach_person_id`` through the person index, a
child table through its parent, ``attach_parent_person``) just before the first builder that reads it, and
lets it go after the last: with tables read on demand (``features.stage.PseudoTablesOnDemand``) a whole
county's tables are never all held at once, unlinked or linked (the peak of the features stage at a million
people, issue #17). What each builder sees is what it saw when every table was linked first.
"""

from __future__ import annotations

import logging
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from features.event_registry import AttributeTable, EventBuilder, EventRegistryError, LinkedThrough
from features.events import (
    attribute_tables,
    build_person_attributes,
    columns_named,
    empty_table,
    event_builders,
    linked_through,
    record_keys,
    source_columns,
)
from features.person_lookup import positions_in
from pipeline.sources.registry import table_spec

log = logging.getLogger(__name__)


def unread_person_keys() -> set[str]:
    """Person-keyed tables whose person key token no builder, attribute reader or child table reads: once the
    table has ``person_id`` the 32-character token is dead weight (the largest column of the biggest tables)."""
    named, link_cols = columns_named()
    return {table for table, (_, key) in record_keys().items()
            if key not in named.get(table, ()) and key not in link_cols.get(table, ())}


def attach_person_id(table: pd.DataFrame, name: str, person_index: pd.DataFrame, source: str, key: str, *,
                     keep_key: bool = True) -> pd.DataFrame:
    """Add ``person_id`` to a person-keyed table from the person index; unlinked rows are dropped.

    Args:
        table: a pseudonymised table holding its source's person key token.
        name: the table's name (e.g. ``cla_episode``), for the log.
        person_index: ``table, record_key_tok, person_id``.
        source, key: the table's source in the person index and its person key token column (``record_keys()``).
        keep_key: keep the ``key`` column (False drops it: nothing downstream reads it, ``unread_person_keys``).

    Returns:
        ``table`` (rows in its order, a fresh 0..n-1 index) with a ``person_id`` (str) column last; rows whose
        key is not in the index are dropped.
    """
    keys = person_index.loc[person_index["table"] == source, ["record_key_tok", "person_id"]]
    keys = keys.astype({"record_key_tok": "str", "person_id": "str"}).drop_duplicates("record_key_tok")
    # a lookup of each row's position in the index, not a merge: the same rows in the same order (an inner
    # merge keeps the left order), without hashing and copying every column of a table of millions of rows
    found = positions_in(table[key], keys["record_key_tok"])
    linked = found >= 0
    out = table if linked.all() else table[linked]
    out = out.drop(columns=[] if keep_key else [key]).reset_index(drop=True)
    out["person_id"] = keys["person_id"].array.take(found[linked])
    if len(out) < len(table):
        unused = len(table) - len(out)
        log.info("%s: %d of %d rows have no person in the index and are not used", name, unused, len(table))
    return out


def attach_parent_person(child: pd.DataFrame, parent: pd.DataFrame, on: Iterable[str]) -> pd.DataFrame:
    """Give a child table (school attendance, exclusions …) the person of its parent row.

    Args:
        child: the ``on`` columns plus the table's own columns.
        parent: the linked parent table (the ``on`` columns and ``person_id``).
        on: the columns a child row shares with its parent (``census_date, pupil_record_id_tok``).
    """
    on = list(on)
    keys = parent[[*on, "person_id"]].drop_duplicates(on)
    return child.merge(keys, on=on, how="inner")


def link_tables(tables: Mapping[str, pd.DataFrame], person_index: pd.DataFrame, names: Iterable[str],
                linked: Mapping[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The named tables with ``person_id``: person-keyed tables through the person index, child tables
    through their (linked) parent. ``linked``: tables already linked (kept in the result, not linked again).

    Raises:
        KeyError: a named table (or a child's parent) is not in ``tables``.
        EventRegistryError: a table has neither a person key nor a declared parent.
    """
    keys, through, unread = record_keys(), linked_through(), unread_person_keys()
    out: dict[str, pd.DataFrame] = dict(linked or {})

    def link(name: str) -> pd.DataFrame:
        if name not in out:
            if name not in tables:
                raise KeyError(f"features need table {name!r}, which is not among the tables given")
            if name in keys:
                out[name] = attach_person_id(tables[name], name, person_index, *keys[name],
                                             keep_key=name not in unread)
            elif name in through:
                parent = link(through[name].parent)
                out[name] = attach_parent_person(tables[name], parent, through[name].on)
            else:
                raise EventRegistryError(f"table {name!r} has no person key and no parent declared to link through")
        return out[name]

    for name in names:
        link(name)
    return out


def last_reads(builders: Sequence[EventBuilder], attributes: Iterable[AttributeTable],
               through: Mapping[str, LinkedThrough]) -> dict[str, int]:
    """Table -> position of the last builder needing its linked copy: reading it, or linking a child table
    through it. Attribute tables are read after every builder (``len(builders)``)."""
    last: dict[str, int] = {}

    def need(table: str, at: int) -> None:
        last[table] = max(last.get(table, -1), at)
        if table in through:
            need(through[table].parent, at)

    for at, b in enumerate(builders):
        for table in b.tables:
            need(table, at)
    for a in attributes:
        need(a.table, len(builders))
    return last


def build_source_events(tables: Mapping[str, pd.DataFrame], person_index: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every source's event frames, keyed by domain (builders in registry order), then ``person``.

    Args:
        tables: pseudonymised tables by name (data/pseudo), at least the columns ``source_columns()`` names;
            an optional table (``TableSpec.optional``) may be left out and is read as empty. Each is looked up
            once, when first needed.
        person_index: data/linked/person_index.parquet (``table, record_key_tok, person_id``).

    Raises:
        KeyError: a table some builder reads, not declared optional, is missing from ``tables``.
    """
    absent = {t: empty_table(t, cols) for t, cols in source_columns().items()
              if t not in tables and table_spec(t).optional}
    # looked up, not copied into one dict: tables read on demand (features.stage) are then read one at a time
    tables = ChainMap(absent, tables)
    builders, attributes = event_builders(), attribute_tables()
    last = last_reads(builders, attributes, linked_through())
    linked: dict[str, pd.DataFrame] = {}
    events: dict[str, pd.DataFrame] = {}
    for at, b in enumerate(builders):
        linked = link_tables(tables, person_index, b.tables, linked)
        events[b.domain] = b.build(*(linked[t] for t in b.tables), *(events[d] for d in b.events))
        # a linked table no later builder needs goes now, before the next tables are read
        linked = {t: frame for t, frame in linked.items() if last[t] > at}
    linked = link_tables(tables, person_index, [a.table for a in attributes], linked)
    events["person"] = build_person_attributes(linked, attributes)
    return events
