"""Source tables to dated, person-keyed events: finds the event builders each source declares and the columns
they read (``features.events_link`` links the tables to people and runs the builders).

Every event frame has ``person_id`` (from the person index) and ``event_date`` (when the fact
happened or was observed) plus domain columns. Feature code downstream sees only these frames and
compares ``event_date`` with each index date, so the point-in-time rule lives in one place.

Sources come from the source registry (``pipeline.sources.registry``); a source's event builders,
child tables and person-attribute tables are declared in its features module ``features/<source>.py``
(``features.event_registry``), which is found by name, so a new source needs no edit here. The dating
rules are documented by each builder; in short:
- census status facts (on roll, SEN provision, address) are dated on the census day;
- autumn-term attendance is dated at the end of that term (31 December before the census);
- exclusions, FSM periods, referrals, plans, episodes, attendances and admissions by their own start;
- assessments (and their factors) when authorised (start date where not yet authorised);
- KS2 results on 1 July of the academic year they were sat.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Iterable, Mapping
from types import ModuleType

import pandas as pd

from features.event_registry import (
    ATTRIBUTE_COLUMNS,
    AttributeTable,
    EventBuilder,
    EventRegistryError,
    LinkedThrough,
    declared_attribute_tables,
    declared_builders,
    declared_linked_through,
)
from pipeline.sources.registry import all_sources, all_tables, person_keyed_tables, source_of_table, table_spec
from pipeline.sources.spec import Kind

log = logging.getLogger(__name__)

# event frames features.build adds across sources: no source may build one of these
CROSS_SOURCE_DOMAINS = ("person", "record", "address")


def source_feature_modules() -> list[ModuleType]:
    """The features modules ``features/<source name>.py`` and ``features/adult_<source name>.py`` (a source's
    adults' features, issue #18) of each registered source that has them, in source order (importing a
    module registers its event builders and declares its ``FEATURES``)."""
    import features as package

    found: dict[str, ModuleType] = {}  # by name: adult_social_care is both a source and social_care's adult_ name
    for name in all_sources():
        for qualified in (f"{package.__name__}.{m}" for m in source_module_names(name)):
            if qualified not in found and importlib.util.find_spec(qualified) is not None:
                found[qualified] = importlib.import_module(qualified)
    return list(found.values())


def source_module_names(source: str) -> tuple[str, ...]:
    """The module names (under ``features``) that may declare ``source``'s event builders and features."""
    return (source, f"adult_{source}")


def event_builders() -> list[EventBuilder]:
    """Every event builder of a registered source: sources in registry order, each source's own module's
    builders (``features/<source>.py``) before its adults' (``features/adult_<source>.py``), each in the order
    its module declares them (a module reloaded by a test keeps its place).

    Raises:
        EventRegistryError: a builder is not in its source's module, reads another source's tables,
            takes a cross-source domain name, or builds on a domain not built before it.
    """
    source_feature_modules()
    order = {name: i for i, name in enumerate(all_sources())}
    builders = sorted((b for b in declared_builders() if b.source in order),
                      key=lambda b: (order[b.source], b.module != f"features.{b.source}", b.sequence))
    built: set[str] = set()
    for b in builders:
        if b.module not in {f"features.{m}" for m in source_module_names(b.source)}:
            raise EventRegistryError(f"event builder {b.domain!r} of source {b.source!r} is declared in {b.module}; "
                                     f"a source's builders live in features/{b.source}.py or "
                                     f"features/adult_{b.source}.py")
        foreign = [t for t in b.tables if source_of_table(t).name != b.source]
        if foreign:
            raise EventRegistryError(f"event builder {b.domain!r} of {b.source!r} reads other sources' tables: "
                                     f"{foreign}")
        if b.domain in CROSS_SOURCE_DOMAINS:
            raise EventRegistryError(f"event domain {b.domain!r} is built across sources; choose another name")
        unbuilt = [d for d in b.events if d not in built]
        if unbuilt:
            raise EventRegistryError(f"event builder {b.domain!r} builds on {unbuilt}, not built before it")
        built.add(b.domain)
    return builders


def linked_through() -> dict[str, LinkedThrough]:
    """Child tables of registered sources (no person key; linked through a parent table), by table."""
    source_feature_modules()
    return {t: link for t, link in declared_linked_through().items() if t in all_tables()}


def attribute_tables() -> list[AttributeTable]:
    """Tables of registered sources that person attributes are read from, most trusted first."""
    source_feature_modules()
    return [a for a in declared_attribute_tables() if a.table in all_tables()]


def record_keys() -> dict[str, tuple[str, str]]:
    """Person-keyed table -> (its source in the person index, the person key token column)."""
    return {table: (source.name, source.person_key_token) for table, source in person_keyed_tables().items()}


def source_columns() -> dict[str, list[str]]:
    """The columns features read from each pseudonymised table (reading no more keeps memory small).

    The columns each builder and attribute table names, plus the person key token of person-keyed
    tables and the link columns of child tables and their parents; tables in registry order.
    """
    keys = record_keys()
    named, link_cols = columns_named()
    out = {}
    for table in all_tables():
        if table in named or table in link_cols:
            key = [keys[table][1]] if table in keys else []
            out[table] = list(dict.fromkeys([*link_cols.get(table, []), *key, *named.get(table, [])]))
    return out


def columns_named() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per table, the columns its builders and attribute readers name, and the columns linking a child table
    to its parent (on both tables)."""
    through = linked_through()
    named: dict[str, list[str]] = {}
    for b in event_builders():
        for table, cols in b.tables.items():
            named.setdefault(table, []).extend(cols)
    for a in attribute_tables():
        named.setdefault(a.table, []).extend([*([a.latest_by] if a.latest_by else []), *a.columns])
    link_cols: dict[str, list[str]] = {}
    for table in list(named):
        if table in through:
            link = through[table]
            link_cols.setdefault(table, []).extend(link.on)
            link_cols.setdefault(link.parent, []).extend(link.on)
    return named, link_cols


def empty_table(name: str, columns: Iterable[str]) -> pd.DataFrame:
    """A table with no rows and ``columns`` (dates typed as dates): an optional extract that is not there
    (``TableSpec.optional``: GP, deaths, ECDS …), so its event builders run and build nothing."""
    kinds = {c.name: c.kind for c in table_spec(name).columns}
    dtypes = {Kind.DATE: "datetime64[s]", Kind.INT: "Int64", Kind.FLOAT: "float64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(kinds.get(c), "str")) for c in columns})


def build_person_attributes(linked: Mapping[str, pd.DataFrame], attributes: Iterable[AttributeTable]) -> pd.DataFrame:
    """Time-invariant attributes per person: ``person_id, birth_year, birth_month, sex, ethnicity_group``.

    Each attribute is taken from the most trusted table holding it (``attributes``, most trusted first;
    today school (latest census), health, social care, SSDA903, CIN, NCCIS); ``U``/``Unknown`` count as
    not holding it.

    Args:
        linked: linked tables by name, holding ``person_id`` and the columns each attribute table names.
        attributes: the attribute tables, most trusted first.
    """
    cols = list(ATTRIBUTE_COLUMNS)
    frames = []
    for rank, attr in enumerate(attributes):
        frame = linked[attr.table]
        if attr.latest_by:
            frame = frame.sort_values(attr.latest_by, ascending=False)
        part = frame[["person_id", *[c for c in cols if c in attr.columns]]].copy()
        part["_rank"] = rank
        frames.append(part)
    stacked = pd.concat(frames, ignore_index=True).sort_values("_rank", kind="stable")
    stacked["sex"] = stacked["sex"].where(stacked["sex"].isin(["M", "F"]))
    stacked["ethnicity_group"] = stacked["ethnicity_group"].where(stacked["ethnicity_group"] != "Unknown")
    out = stacked.groupby("person_id")[cols].first().reset_index()
    out["sex"] = out["sex"].fillna("U")
    out["ethnicity_group"] = out["ethnicity_group"].fillna("Unknown")
    return out


def record_domains() -> dict[str, tuple[str, str | None]]:
    """Event domain -> (its source, the column ending its span or None), for domains whose events are
    records of the child (coverage features, ``record`` spans), in builder order."""
    return {b.domain: (b.source, b.end_column) for b in event_builders() if b.record}


def address_domains() -> list[str]:
    """Event domains whose frames date the child's home deprivation (``imd_decile``), in builder order."""
    return [b.domain for b in event_builders() if b.address]
