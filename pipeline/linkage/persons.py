"""One row per source person, with its match-key tokens and the attributes the report needs.

Reads pseudonymised tables only (docs/contracts.md). Which sources hold people, where their people
are and what identifies them comes from the source registry (``pipeline.sources.registry``): each
person source's ``persons.table`` gives one row per ``person_key_token`` (``upn_tok``,
``la_child_id_tok`` …), which becomes the record's ``record_key_tok``. Where a source holds several
rows per person (school census years, NCCIS activity spells) the last row by ``persons.latest_by``
stands for the person; where it declares an ``address_table`` (school), the person's postcode tokens
and IMD decile come from that table's row for the chosen person row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
import pandas as pd

from pipeline.linkage.comparisons import FIELD_COLUMNS
from pipeline.sources.registry import Source, person_sources

MATCH_COLUMNS = tuple(c for cols in FIELD_COLUMNS.values() for c in cols)
ATTRIBUTE_COLUMNS = ("ethnicity_group", "lsoa_imd_decile", "birth_year", "birth_month")
NUMERIC_COLUMNS = ("lsoa_imd_decile", "birth_year", "birth_month")
# children in school-phase bands; adults in the bands adult services and the CPM literature report by
AGE_BANDS = ((0, 4, "0-4"), (5, 10, "5-10"), (11, 15, "11-15"), (16, 17, "16-17"), (18, 24, "18-24"),
             (25, 64, "25-64"), (65, 84, "65-84"), (85, 200, "85+"))
# what a person's address table contributes (school_address): postcode match keys and deprivation
ADDRESS_COLUMNS = ("postcode_tok", "postcode_sector_tok", "postcode_district_tok", "lsoa_imd_decile")


def identifier_columns() -> tuple[str, ...]:
    """Identifier token columns the registry declares beyond the match columns (``former_upn_tok``)."""
    declared = (i.column for s in person_sources() for i in s.identifiers)
    return tuple(c for c in dict.fromkeys(declared) if c not in MATCH_COLUMNS)


def person_columns() -> tuple[str, ...]:
    """The columns of person records: ``source``, ``record_key_tok``, match columns, the other
    declared identifier columns, then ``ATTRIBUTE_COLUMNS``."""
    return ("source", "record_key_tok", *MATCH_COLUMNS, *identifier_columns(), *ATTRIBUTE_COLUMNS)


def person_input_columns() -> frozenset[str]:
    """Every column the person builders read: callers load only these (school tables are wide and long)."""
    declared = {
        column
        for source in person_sources()
        for column in (source.person_key_token, *source.persons.latest_by, *source.persons.address_keys)
    }
    return frozenset({*person_columns(), *ADDRESS_COLUMNS, *declared})


def person_source_tables(source: Source) -> tuple[str, ...]:
    """The tables a person source's records are built from: its person table, then any address table."""
    persons = source.persons
    return (persons.table, *([persons.address_table] if persons.address_table else []))


def _conform(df: pd.DataFrame, source: str, key: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """Keep ``columns`` (missing ones as null), the key copied to ``record_key_tok``; rows without a key go."""
    out = df.assign(record_key_tok=df[key], source=source)
    for col in columns:
        if col not in out:
            out[col] = pd.NA
    out = out[list(columns)]
    return out[out["record_key_tok"].notna()].reset_index(drop=True)


def _latest_per_key(df: pd.DataFrame, key: str, order_by: tuple[str, ...]) -> pd.DataFrame:
    present = [c for c in order_by if c in df]
    ordered = df.sort_values([*present, key], kind="stable") if present else df
    return ordered.drop_duplicates(key, keep="last")


def build_source_persons(source: Source, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per distinct person key token of ``source``, from its latest row, with its address.

    Args:
        source: a registry source holding people.
        tables: pseudonymised tables by name; ``source.persons.table`` must be present, its
            ``address_table`` is joined when present on the ``address_keys`` both tables hold.

    Returns:
        ``person_columns()`` with ``source`` = ``source.name`` and ``record_key_tok`` = the person key token.
    """
    persons, key, columns = source.persons, source.person_key_token, person_columns()
    table = tables[persons.table]
    address = tables.get(persons.address_table) if persons.address_table else None
    # The latest row per person is chosen before the address join: a county's censuses hold
    # several rows per pupil, and joining them all first would copy every census into memory.
    join = [c for c in persons.address_keys if c in table and (address is None or c in address)]
    wanted = [c for c in dict.fromkeys([*join, *persons.latest_by, key, *columns]) if c in table]
    latest = _latest_per_key(table.loc[table[key].notna(), wanted], key, persons.latest_by)
    if address is not None and len(address):
        address_cols = [c for c in ADDRESS_COLUMNS if c in address]
        addresses = address[join + address_cols].drop_duplicates(join, keep="last")
        latest = latest.drop(columns=[c for c in address_cols if c in latest]).merge(
            addresses, on=join, how="left", validate="m:1"
        )
    return _conform(latest, source.name, key, columns)


def person_tables_expected() -> str:
    """The person tables of every person source, comma-joined: what a "none found" error names."""
    return ", ".join(s.persons.table for s in person_sources())


def build_person_records(tables: dict[str, pd.DataFrame], *, sources: Iterable[Source] | None = None) -> pd.DataFrame:
    """Stack the person records of every person source whose person table is present.

    Args:
        tables: pseudonymised table name -> frame; each person source's ``persons.table`` (and its
            ``address_table``) where present.
        sources: the person sources to build, in this order (default: every person source, in
            registry order); those whose person table is absent from ``tables`` are skipped.

    Returns:
        ``person_columns()``, one row per (source, record_key_tok), sources in registry order.

    Raises:
        ValueError: none of ``sources`` has its person table in ``tables``.
    """
    parts = [
        _person_dtypes(build_source_persons(source, tables))
        for source in (person_sources() if sources is None else sources)
        if source.persons.table in tables
    ]
    if not parts:
        raise ValueError(f"no person source table found ({person_tables_expected()})")
    return pd.concat(parts, ignore_index=True)


def _person_dtypes(part: pd.DataFrame) -> pd.DataFrame:
    """Tokens and codes as ``string``, the numeric attributes as ``Int64`` (one source at a time)."""
    out = part.astype({c: "string" for c in part.columns if c not in NUMERIC_COLUMNS})
    for col in NUMERIC_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


def count_records_without_key(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Rows of each present person table that have no person key token (excluded from linkage)."""
    return {
        s.persons.table: int(tables[s.persons.table][s.person_key_token].isna().sum())
        for s in person_sources()
        if s.persons.table in tables
    }


def add_report_attributes(persons: pd.DataFrame, extract_date: date) -> pd.DataFrame:
    """Add ``imd_quintile`` (1 = most deprived) and ``age_band`` at ``extract_date``.

    Args:
        persons: ``ethnicity_group``, ``lsoa_imd_decile``, ``birth_year``, ``birth_month``, ``sex``.
    """
    out = persons.copy()
    out["ethnicity_group"] = out["ethnicity_group"].fillna("Unknown")
    out["sex"] = out["sex"].where(out["sex"].isin(["M", "F"]), "U")
    decile = out["lsoa_imd_decile"].astype("Float64")
    out["imd_quintile"] = np.ceil(decile / 2).astype("Int64").astype("string").fillna("Unknown")
    months = (extract_date.year - out["birth_year"]) * 12 + (
        extract_date.month - out["birth_month"].fillna(1)
    )
    age = (months // 12).astype("Int64")
    band = pd.Series(pd.NA, index=out.index, dtype="string")
    for low, high, label in AGE_BANDS:
        band = band.mask((age >= low) & (age <= high), label)
    out["age_band"] = band.fillna("Unknown")
    return out
