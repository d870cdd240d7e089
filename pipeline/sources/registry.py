"""The source registry: every source riskpipe reads, declared once, found by every stage.

A source is one system a council or NHS partner extracts from (the school census, NCCIS, children's
social care, hospital records, reference lookups …). Its module in ``pipeline/sources/`` declares a
module-level ``SOURCE = Source(...)``: its tables (``TableSpec``s, each column with a privacy action),
the person key that identifies its people, the identifiers a deterministic link may rest on, the
tables and dates that say when it last recorded someone, its display name on lists, the most records
one person may hold in it and the directions in which its link rates are reported.

Ingest, pseudonymise, linkage, features, lists, reidentify and the governance checks all read this
registry; nothing else lists sources. Adding a source is one new module here (plus, if its records
should become features, one event builder in ``features/``).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache

from pipeline.privacy.actions import Privacy
from pipeline.sources.spec import TableSpec


class SourceRegistryError(ValueError):
    """A source declaration is inconsistent, or a name is not in the registry."""


@dataclass(frozen=True)
class Identifier:
    """An identifier a deterministic link may rest on.

    Attributes:
        rule: the link rule; records of different sources sharing a token under one rule link
            (``nhs_number``, ``upn``).
        column: the token column on the source's person records (``nhs_number_tok``).
        role: ``current`` or ``former`` (a school's former UPN matches others' current UPNs).
    """

    rule: str
    column: str
    role: str = "current"


@dataclass(frozen=True)
class RecordDates:
    """A table whose rows date a person's records in the source (``table.column``, keyed by the person key)."""

    table: str
    column: str


@dataclass(frozen=True)
class MonitoredCodes:
    """Coded columns whose recording practice the monitor watches (``riskpipe monitor``).

    Attributes:
        table: a table of the source holding the person key token.
        date_column: the date that places each row in a month.
        columns: coded columns; each code's share of the table's rows per month is one series. A column
            without a code list (ICD-10 diagnoses) is watched by its first ``prefix`` characters.
        prefix: characters of a free code kept (3: the ICD-10 category); None keeps the whole code.
    """

    table: str
    date_column: str
    columns: tuple[str, ...]
    prefix: int | None = None


@dataclass(frozen=True)
class PersonRecords:
    """Where linkage finds a source's people: one row per person key, the latest standing for the person.

    Attributes:
        table: the pseudonymised table holding the people (``school_pupil``).
        latest_by: columns ordering a person's rows; the last row's tokens stand for the person.
        address_table: a table holding the person's address (postcode tokens, IMD), joined on
            ``address_keys`` where the person table has none of its own.
        address_keys: the join columns of ``address_table`` (those present in both are used).
    """

    table: str
    latest_by: tuple[str, ...] = ()
    address_table: str | None = None
    address_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """One source system, declared once (see the module docstring).

    Attributes:
        name: the one name used everywhere (``school``, ``social_care`` …): params, person index
            ``table`` column, features ``in_<name>_ever``, list columns ``<name>_last_record``.
        display_name: how lists and reports name it (``social care``).
        description: one line for reports and docs.
        order: position among sources (lower first): person index, features and lists follow it.
        raw_dir: default folder of its extracts, relative to the project root; ``ingest.sources.<name>``
            in params.yaml may point elsewhere.
        tables: its tables; each ``TableSpec.source`` must equal ``name``.
        person_key: the staged column identifying a person in this source (``upn``); its token
            (``upn_tok``) is the record key of the person index. None for sources about places.
        persons: where linkage finds its people; None when it holds none (reference lookups).
        identifiers: the identifiers a deterministic link may rest on.
        record_dates: when the source recorded someone (lists show each person's latest).
        max_records_per_person: the most records of this source one person may hold; links past it
            are refused (params ``link.max_records_per_person`` may override it).
        link_rates_to: sources this one's link rates are reported towards (reports/linkage.*).
        link_rates_gated: whether the governance gate judges the gaps in those link rates between
            groups (``max_link_rate_gap``); a reported-only direction is shown, not gated.
        record_holder: the source as the subject of a sentence about its records, for feature
            descriptions ("A school census" holds a record of the child); blank = the display name.
        monitored: coded columns whose monthly recording rates ``riskpipe monitor`` watches for breaks.
        coverage_features: whether ``in_<name>_ever`` and ``months_since_<name>_record`` are declared for it
            (``features.context``); False for a source whose holding a person is itself special-category
            information (a learning-disability register), which must not become an input of every model.
    """

    name: str
    display_name: str
    description: str
    order: int
    raw_dir: str
    tables: tuple[TableSpec, ...]
    person_key: str | None = None
    persons: PersonRecords | None = None
    identifiers: tuple[Identifier, ...] = ()
    record_dates: tuple[RecordDates, ...] = ()
    max_records_per_person: int | None = None
    link_rates_to: tuple[str, ...] = ()
    link_rates_gated: bool = True
    record_holder: str = ""
    monitored: tuple[MonitoredCodes, ...] = ()
    coverage_features: bool = True

    def __post_init__(self) -> None:
        wrong = [t.name for t in self.tables if t.source != self.name]
        if wrong:
            raise SourceRegistryError(f"source {self.name!r}: tables {wrong} declare another source")
        names = {t.name for t in self.tables}
        used = [r.table for r in self.record_dates] + ([self.persons.table] if self.persons else [])
        used += [m.table for m in self.monitored]
        if self.persons and self.persons.address_table:
            used.append(self.persons.address_table)
        missing = sorted(set(used) - names)
        if missing:
            raise SourceRegistryError(f"source {self.name!r} refers to tables it does not declare: {missing}")
        if self.persons and not self.person_key:
            raise SourceRegistryError(f"source {self.name!r} has person records but no person_key")

    @property
    def person_key_token(self) -> str | None:
        """The pseudonymised person key column (``upn_tok``), or None."""
        return f"{self.person_key}_tok" if self.person_key else None

    @property
    def person_key_privacy(self) -> Privacy | None:
        """The privacy action of the person key column in the persons table (how its token is made), or None."""
        if self.persons is None or self.person_key is None:
            return None
        return self.table(self.persons.table).column(self.person_key).privacy

    @property
    def holds_people(self) -> bool:
        return self.persons is not None

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise SourceRegistryError(f"source {self.name!r} has no table {name!r}")


def _sources_in_package() -> list[Source]:
    import pipeline.sources as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        declared = getattr(module, "SOURCE", None)
        if isinstance(declared, Source):
            found.append(declared)
    return found


@cache
def all_sources() -> dict[str, Source]:
    """Every declared source by name, in ``order``.

    Raises:
        SourceRegistryError: two sources share a name or an order, or two tables share a name.
    """
    found = sorted(_sources_in_package(), key=lambda s: (s.order, s.name))
    by_name: dict[str, Source] = {}
    tables: dict[str, str] = {}
    for source in found:
        if source.name in by_name:
            raise SourceRegistryError(f"source {source.name!r} is declared twice")
        by_name[source.name] = source
        for spec in source.tables:
            if spec.name in tables:
                raise SourceRegistryError(
                    f"table {spec.name!r} is declared by {tables[spec.name]!r} and {source.name!r}"
                )
            tables[spec.name] = source.name
    orders = [s.order for s in found]
    if len(set(orders)) != len(orders):
        raise SourceRegistryError("two sources share an order; give each its own")
    for source in found:
        unknown = sorted(set(source.link_rates_to) - set(by_name))
        if unknown:
            raise SourceRegistryError(f"source {source.name!r}: link_rates_to names unknown sources {unknown}")
    return by_name


def get_source(name: str) -> Source:
    """The source called ``name`` (error naming the known sources if there is none)."""
    sources = all_sources()
    if name not in sources:
        raise SourceRegistryError(f"unknown source {name!r}; known: {', '.join(sources)}")
    return sources[name]


def person_sources() -> list[Source]:
    """Sources that hold people (linked into the person index), in order."""
    return [s for s in all_sources().values() if s.holds_people]


def all_tables() -> dict[str, TableSpec]:
    """Every declared table by name, sources in order."""
    return {spec.name: spec for source in all_sources().values() for spec in source.tables}


def table_spec(name: str) -> TableSpec:
    """The spec of staged table ``name`` (error naming the known tables if unknown)."""
    tables = all_tables()
    if name not in tables:
        raise SourceRegistryError(f"unknown table {name!r}; known: {', '.join(sorted(tables))}")
    return tables[name]


def source_of_table(name: str) -> Source:
    """The source that declares table ``name``."""
    return get_source(table_spec(name).source)


def person_keyed_tables() -> dict[str, Source]:
    """Tables holding their source's person key column, by table name: each row belongs to one person."""
    return {
        spec.name: source
        for source in person_sources()
        for spec in source.tables
        if any(col.name == source.person_key for col in spec.columns)
    }


def link_rate_pairs(*, gated_only: bool = False) -> list[tuple[str, str]]:
    """(records of, linked to) for every declared link-rate direction (only the gated ones if asked).

    Sources in registry order; ``link_rate_directions`` names each pair ``<from>_to_<to>``.
    """
    return [
        (s.name, target)
        for s in all_sources().values()
        if s.link_rates_gated or not gated_only
        for target in s.link_rates_to
    ]


def link_rate_directions(*, gated_only: bool = False) -> list[str]:
    """``<from>_to_<to>`` for every declared link-rate direction (only the gated ones if asked), sources in order."""
    return [f"{source}_to_{target}" for source, target in link_rate_pairs(gated_only=gated_only)]
