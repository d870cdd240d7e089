"""Declarative specs of every source table riskpipe ingests (one module per source)."""

from __future__ import annotations

from pipeline.sources import education, health, reference, social_care
from pipeline.sources.spec import TableSpec

SOURCES: dict[str, list[TableSpec]] = {
    "education": education.TABLES,
    "social_care": social_care.TABLES,
    "health": health.TABLES,
    "reference": reference.TABLES,
}
ALL_TABLES: dict[str, TableSpec] = {spec.name: spec for specs in SOURCES.values() for spec in specs}


def table_spec(name: str) -> TableSpec:
    """Return the spec of staged table ``name`` (KeyError naming the known tables if unknown)."""
    try:
        return ALL_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(ALL_TABLES))}") from None
