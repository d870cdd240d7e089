"""What the link stage reads: person records one source at a time, and synthetic truth tokenised.

Every read goes through ``pipeline.core.io``. Which tables hold people comes from the source
registry (``Source.persons``): a source's person table and address table are read (only the columns
the person builders use), reduced to its person records and dropped before the next source is read,
since a county's school censuses dwarf its person records.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from pipeline.core.io import parquet_columns, read_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.as_of import existing_keys, records_existing_on
from pipeline.linkage.evaluation import tokenise_truth_keys
from pipeline.linkage.memory import release_unused_memory
from pipeline.linkage.persons import (
    build_person_records,
    count_records_without_key,
    person_input_columns,
    person_source_tables,
    person_tables_expected,
)
from pipeline.privacy.keys import load_key
from pipeline.sources.registry import Source, person_sources

TRUTH_FILE = "person_map.parquet"  # under data/truth/: written by the synthetic county only


class LinkInputError(ValueError):
    """The link stage has nothing to link: no person source's pseudonymised table is there."""


def read_person_tables(paths: ProjectPaths, names: tuple[str, ...], columns: frozenset[str]) -> dict[str, pd.DataFrame]:
    """The pseudonymised tables ``names`` that exist, each with only its columns in ``columns``."""
    files = {name: paths.pseudo_table(name) for name in names if paths.pseudo_table(name).exists()}
    return {name: read_parquet(f, columns=[c for c in parquet_columns(f) if c in columns]) for name, f in files.items()}


def read_dated_keys(paths: ProjectPaths, source: Source) -> dict[str, pd.DataFrame]:
    """Each of a source's ``RecordDates`` tables as ``<person key token>, date`` (those in data/pseudo)."""
    key, out = source.person_key_token, {}
    for dated in source.record_dates:
        path = paths.pseudo_table(dated.table)
        if path.exists() and key in parquet_columns(path):
            out[dated.table] = read_parquet(path, columns=[key, dated.column]).rename(columns={dated.column: "date"})
    return out


def read_person_records(paths: ProjectPaths, *, as_of: date | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Person records of every person source whose table is in ``data/pseudo``, and rows without a key.

    Args:
        as_of: keep only what existed strictly before this date (:mod:`pipeline.linkage.as_of`); None keeps all.

    Returns:
        (``build_person_records`` of the present sources, ``count_records_without_key`` of their tables).

    Raises:
        LinkInputError: no person source's pseudonymised table exists.
    """
    present = [s for s in person_sources() if paths.pseudo_table(s.persons.table).exists()]
    if not present:
        raise LinkInputError(
            f"no pseudonymised person tables ({person_tables_expected()}) under {paths.pseudo}; run pseudonymise"
        )
    columns = person_input_columns()
    parts, without_key = [], {}
    for source in present:  # one source's tables in memory at a time
        tables = read_person_tables(paths, person_source_tables(source), columns)
        if as_of is not None:
            keys = existing_keys(read_dated_keys(paths, source), source.person_key_token, as_of)
            tables = records_existing_on(source, tables, keys, as_of)
        parts.append(build_person_records(tables, sources=[source]))
        without_key.update(count_records_without_key(tables))
        del tables
        release_unused_memory()
    return pd.concat(parts, ignore_index=True), without_key


def read_truth(paths: ProjectPaths, key_file: Path) -> pd.DataFrame | None:
    """Tokenised truth (``tokenise_truth_keys``) when ``data/truth/person_map.parquet`` exists, else None.

    Raises:
        PseudonymisationKeyError: truth exists but the key to tokenise it cannot be loaded.
    """
    truth_file = paths.truth / TRUTH_FILE
    if not truth_file.exists():
        return None
    return tokenise_truth_keys(read_parquet(truth_file), load_key(key_file))
