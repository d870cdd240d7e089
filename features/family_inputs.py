"""The features stage's reading of family inputs: family links and the relatives' records, as ``family`` events.

Read only when a model spec opts into family features (``features.family``): ``data/linked/family_links.parquet``
and the pseudonymised tables holding the facts the family features use (``ecds_attendance``, ``cld_event``,
``gp_event``, ``hes_admission``), each linked to people through the person index. A table the project does not
hold gives no facts (a council without GP data still has the parents' emergency attendances); no family links
file gives no family events at all, so every family feature is 0 and the stage says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from features.events import record_keys
from features.events_link import attach_person_id
from features.family import deliveries, family_events, relative_events, with_family
from pipeline.core.io import parquet_columns, read_parquet
from pipeline.core.paths import ProjectPaths

log = logging.getLogger(__name__)

FACT_TABLES = {
    "ecds_attendance": ("arrival_date", "injury_intent", "diagnoses"),
    "cld_event": ("event_start", "primary_support_reason"),
    "gp_event": ("event_date", "snomed"),
    "hes_admission": ("admission_date", "diag_01"),
}


def family_links_path(paths: ProjectPaths) -> Path:
    """``data/linked/family_links.parquet`` (written by the link stage, ``pipeline.linkage.family_stage``)."""
    return paths.linked / "family_links.parquet"


def _linked(paths: ProjectPaths, table: str, person_index: pd.DataFrame) -> pd.DataFrame:
    """One fact table with ``person_id``; empty with its columns when the project does not hold it."""
    columns = list(FACT_TABLES[table])
    source, key = record_keys()[table]
    path = paths.pseudo_table(table)
    if not path.exists() or not set(columns) <= set(parquet_columns(path)):
        return pd.DataFrame({c: [] for c in ["person_id", *columns]})
    frame = read_parquet(path, columns=[key, *columns]).drop_duplicates()
    return attach_person_id(frame, table, person_index, source, key).drop(columns=key)


def read_family_events(paths: ProjectPaths, person_index: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                       relations: Sequence[str]) -> pd.DataFrame | None:
    """The ``family`` event frame for ``relations`` (``features.family.family_events``), or None without links.

    Args:
        person_index: ``table, record_key_tok, person_id``.
        events: the built event frames (``care`` and ``person`` are read).
    """
    links_file = family_links_path(paths)
    if not relations:
        return None
    if not links_file.exists():
        log.warning("family features asked for but %s is absent: every family feature is 0", links_file.name)
        return None
    links = read_parquet(links_file, columns=["person_id_a", "person_id_b", "relation", "first_seen"])
    facts = {t: _linked(paths, t, person_index) for t in FACT_TABLES}
    relatives = relative_events(facts["ecds_attendance"], facts["cld_event"], facts["gp_event"],
                                events["care"][["person_id", "event_date"]],
                                deliveries(facts["hes_admission"], events["person"]))
    return family_events(relatives, links, relations)


def add_family_events(paths: ProjectPaths, person_index: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                      relations: Sequence[str]) -> Mapping[str, pd.DataFrame]:
    """``events`` with the ``family`` domain when ``relations`` (the specs' ``features.family``, joined) name
    any relative; ``events`` unchanged otherwise, so a spec without family features builds what it did."""
    if not relations:
        return events
    return with_family(events, read_family_events(paths, person_index, events, relations))
