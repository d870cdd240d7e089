"""How a source's features module declares what it reads: event builders, child tables, person attributes.

Each source with features has one module ``features/<source name>.py`` (``features/school.py`` …).
It declares, with the functions here:
- its **event builders** (``@event_builder``): pure functions from the source's linked tables (each
  row carrying ``person_id``) to one dated event frame (``person_id, event_date`` plus domain columns),
  with the tables and columns each reads and whether its events are records of the child (coverage
  features) or dated addresses;
- its **child tables** (``link_through``): tables with no person key of their own, linked to a person
  through a parent table (school attendance through the pupil's census record);
- its **person attribute tables** (``person_attributes``): where birth month, sex and ethnicity are
  read from, and how far each is trusted.

``features.events`` finds these modules from the source registry and runs what they declare. This
module only records declarations; it imports nothing from the sources, so declaring never imports
the feature modules (and the registry has no import cycle).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

Builder = Callable[..., pd.DataFrame]

ATTRIBUTE_COLUMNS = ("birth_year", "birth_month", "sex", "ethnicity_group")
_sequence = itertools.count()  # declaration order: builders of one source run in the order they are written


class EventRegistryError(ValueError):
    """An event builder, child table or attribute table is declared inconsistently."""


@dataclass(frozen=True)
class EventBuilder:
    """One registered event builder.

    Attributes:
        domain: the event frame it builds (``referral``), the name features' ``domain`` refers to.
        source: the source whose tables it reads (a name in ``pipeline.sources.registry``).
        build: the function; called with the linked tables in ``tables`` order, then the event
            frames named in ``events``.
        tables: table -> the columns it reads (the person key and link columns are added for it).
        events: event domains it builds on (built earlier; ``school_move`` builds on ``census``).
        record: its events are records of the child in the source (coverage features, record spans).
        end_column: the column ending an event's span (a null end = still open); None = a point event.
        address: its frame has ``imd_decile``, the deprivation of the child's home on ``event_date``.
        coverage_from: a column of its frame dating when the source began holding each row (CLD: the reporting
            period it was submitted in); its earliest value is the date the source holds records from
            (``features.coverage``). None = the first month with events.
        module: the module declaring it (``features.school``).
        sequence: declaration order across all modules.
    """

    domain: str
    source: str
    build: Builder
    tables: Mapping[str, tuple[str, ...]]
    events: tuple[str, ...]
    record: bool
    end_column: str | None
    address: bool
    module: str
    sequence: int
    coverage_from: str | None = None


@dataclass(frozen=True)
class LinkedThrough:
    """A child table linked to people through its parent: ``child`` rows take the ``person_id`` of the
    ``parent`` row sharing the ``on`` columns (``census_date, pupil_record_id_tok``)."""

    table: str
    parent: str
    on: tuple[str, ...]


@dataclass(frozen=True)
class AttributeTable:
    """A table the person attributes (``ATTRIBUTE_COLUMNS``) are read from.

    Attributes:
        table: the linked table (person-keyed).
        trust: lower is trusted first; each attribute comes from the most trusted table holding it
            (today: school census 10, NHS demographics 20, social care 30-32, NCCIS 40).
        columns: the attributes it holds.
        latest_by: a column ordering a person's rows, latest first (``census_date``); None keeps the
            table's order.
    """

    table: str
    trust: int
    columns: tuple[str, ...]
    latest_by: str | None


_BUILDERS: dict[str, EventBuilder] = {}
_LINKED_THROUGH: dict[str, LinkedThrough] = {}
_ATTRIBUTE_TABLES: dict[str, AttributeTable] = {}


def _register(registry: dict, key: str, item, what: str) -> None:
    """Record ``item``. Declaring the same thing again (a module imported twice) is harmless; declaring
    another thing under a taken name is an error."""
    known = registry.get(key)
    if known is not None and known != item:
        raise EventRegistryError(f"{what} {key!r} is declared twice, differently: {known} and {item}")
    registry[key] = item


def event_builder(
    domain: str,
    *,
    source: str,
    tables: Mapping[str, Sequence[str]] | None = None,
    events: Sequence[str] = (),
    record: bool = False,
    end_column: str | None = None,
    address: bool = False,
    coverage_from: str | None = None,
) -> Callable[[Builder], Builder]:
    """Register the decorated function as the builder of event domain ``domain`` (see ``EventBuilder``).

    Returns the function unchanged, so it can still be called (and tested) on its own.
    """

    def register(build: Builder) -> Builder:
        declared = {name: tuple(cols) for name, cols in (tables or {}).items()}
        known = _BUILDERS.get(domain)
        if known is not None and known.module != build.__module__:
            raise EventRegistryError(f"event domain {domain!r} is built in {known.module} and {build.__module__}")
        # the same module declaring it again (a reload) replaces its own builder
        _BUILDERS[domain] = EventBuilder(domain, source, build, declared, tuple(events), record, end_column,
                                         address, build.__module__, next(_sequence), coverage_from)
        return build

    return register


def link_through(parent: str, *, on: Sequence[str], tables: Sequence[str]) -> None:
    """Declare ``tables`` as child tables of ``parent``, linked on the columns ``on``."""
    for table in tables:
        _register(_LINKED_THROUGH, table, LinkedThrough(table, parent, tuple(on)), "child table")


def person_attributes(
    table: str, *, trust: int, columns: Sequence[str] = ATTRIBUTE_COLUMNS, latest_by: str | None = None
) -> None:
    """Declare ``table`` as holding person attributes (see ``AttributeTable``)."""
    unknown = sorted(set(columns) - set(ATTRIBUTE_COLUMNS))
    if unknown:
        raise EventRegistryError(f"{table}: {unknown} are not person attributes ({', '.join(ATTRIBUTE_COLUMNS)})")
    item = AttributeTable(table, trust, tuple(columns), latest_by)
    _register(_ATTRIBUTE_TABLES, table, item, "attribute table")


def declared_builders() -> list[EventBuilder]:
    """Every builder declared so far by an imported module, in declaration order."""
    return sorted(_BUILDERS.values(), key=lambda b: b.sequence)


def declared_linked_through() -> dict[str, LinkedThrough]:
    """Every child table declared so far, by table name."""
    return dict(_LINKED_THROUGH)


def declared_attribute_tables() -> list[AttributeTable]:
    """Every attribute table declared so far, most trusted first."""
    return sorted(_ATTRIBUTE_TABLES.values(), key=lambda a: (a.trust, a.table))
