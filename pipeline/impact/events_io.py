"""Read the interventions events and the person lookup from a project (IO through ``pipeline.core.io``).

The impact stage's own IO module (``pipeline.impact.io``) calls :func:`load_events`; the frames are typed
by the pure functions of :mod:`pipeline.impact.events`.
"""

from __future__ import annotations

import pandas as pd

from pipeline.core.io import parquet_columns, read_parquet
from pipeline.core.paths import ProjectPaths, require_input
from pipeline.impact.events import EVENT_TABLES, Events, build_events
from pipeline.impact.persons import PersonLookup, person_lookup, person_table_columns
from pipeline.privacy.fingerprint import verify_pseudo_key


def read_person_lookup(paths: ProjectPaths) -> PersonLookup:
    """The person lookup from ``data/linked/person_index.parquet`` and the person tables in ``data/pseudo/``.

    Raises:
        StageInputMissing: no person index (the message names the command that makes it).
    """
    index = read_parquet(require_input(paths.person_index, paths.root),
                         columns=["table", "record_key_tok", "person_id"])
    tables = {}
    for name, wanted in person_table_columns().items():
        path = paths.pseudo_table(name)
        if path.exists():
            tables[name] = read_parquet(path, columns=[c for c in wanted if c in parquet_columns(path)])
    return person_lookup(index, tables)


def read_event_tables(paths: ProjectPaths) -> dict[str, pd.DataFrame]:
    """The interventions tables present in ``data/pseudo/`` (each optional), by table name."""
    return {name: read_parquet(paths.pseudo_table(name)) for name in EVENT_TABLES if paths.pseudo_table(name).exists()}


def load_events(paths: ProjectPaths, key: bytes | None = None) -> Events:
    """Every interventions event of the project as typed frames with ``person_id`` (:func:`build_events`).

    Args:
        paths: the project's paths.
        key: the current pseudonymisation key, if configured; tokens made with another key, an unfinished
            pseudonymise run or a person index linked from other tables are refused either way.

    Raises:
        KeyFingerprintMismatch: see :func:`pipeline.privacy.fingerprint.verify_pseudo_key`.
        StageInputMissing: no person index.
    """
    verify_pseudo_key(paths, key, linked=True)  # under another key every token misses: "0 mapped" is no answer
    return build_events(read_event_tables(paths), read_person_lookup(paths))
