"""The link stage's family and household links: read what records them, build, evaluate, write.

Reads the pseudonymised tables that record a relation (``cld_event`` with ``cld_carer_link``; any person
source's person table with a ``uprn_tok`` column; ``csc_relationship`` with the NHS number tokens of the
person tables, :mod:`pipeline.linkage.family_relations`) through ``pipeline.core.io``, builds
``data/linked/family_links.parquet`` (:mod:`pipeline.linkage.family`) and, when the synthetic county
wrote the adults' truth (``data/truth/adults_caring.parquet``, ``adults_addresses.parquet``,
``adults_people.parquet``), evaluates it.
A project with none of those tables (children only) writes no file and reports nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.io import parquet_columns, read_parquet, write_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.family import (
    UPRN_TOKEN,
    address_links,
    carer_links,
    count_by_relation,
    empty_family_links,
    evaluate_family_links,
)
from pipeline.linkage.family_relations import (
    evaluate_relations,
    parent_links,
    person_by_nhs_token,
    recorded_parents,
    sibling_links,
)
from pipeline.sources.registry import person_sources

CARER_SOURCE, CARER_EVENTS, CARER_LINKS = "adult_social_care", "cld_event", "cld_carer_link"
EVENT_COLUMNS = ("la_person_id_tok", "client_type", "period_end", "_source_file", "_source_row")
CARING_TRUTH, ADDRESS_TRUTH, PEOPLE_TRUTH = "adults_caring.parquet", "adults_addresses.parquet", "adults_people.parquet"
RELATIONSHIPS = "csc_relationship"  # children's social care relationship records (parent_of, sibling_of)
RELATIONSHIP_COLUMNS = ("la_child_id_tok", "la_person_id_tok", "related_nhs_number_tok", "relationship", "start_date")
NHS_TOKEN = "nhs_number_tok"


def family_links_file(paths: ProjectPaths) -> Path:
    """``data/linked/family_links.parquet``."""
    return paths.linked / "family_links.parquet"


def _address_tables(paths: ProjectPaths) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    tables, keys = {}, {}
    for source in person_sources():
        path = paths.pseudo_table(source.persons.table)
        if path.exists() and UPRN_TOKEN in parquet_columns(path) and source.person_key_token in parquet_columns(path):
            tables[source.name] = read_parquet(path, columns=[source.person_key_token, UPRN_TOKEN])
            keys[source.name] = source.person_key_token
    return tables, keys


def _nhs_tokens(paths: ProjectPaths, index: pd.DataFrame) -> pd.DataFrame:
    """``nhs_number_tok, person_id`` of every person table holding NHS number tokens."""
    parts = []
    for source in person_sources():
        path = paths.pseudo_table(source.persons.table)
        if path.exists() and NHS_TOKEN in parquet_columns(path) and source.person_key_token in parquet_columns(path):
            rows = read_parquet(path, columns=[source.person_key_token, NHS_TOKEN])
            person = index[index["table"] == source.name].drop_duplicates("record_key_tok")
            person = person.set_index("record_key_tok")["person_id"]
            parts.append(pd.DataFrame({NHS_TOKEN: rows[NHS_TOKEN].to_numpy(),
                                       "person_id": rows[source.person_key_token].map(person).to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[NHS_TOKEN, "person_id"])


def relationship_links(paths: ProjectPaths, index: pd.DataFrame) -> pd.DataFrame | None:
    """``parent_of`` and ``sibling_of`` links from ``csc_relationship``, or None when the table is absent."""
    path = paths.pseudo_table(RELATIONSHIPS)
    if not path.exists():
        return None
    parents = recorded_parents(read_parquet(path, columns=list(RELATIONSHIP_COLUMNS)), index,
                               person_by_nhs_token(_nhs_tokens(paths, index)))
    return pd.concat([parent_links(parents), sibling_links(parents)], ignore_index=True)


def build_family_links(paths: ProjectPaths, index: pd.DataFrame) -> pd.DataFrame | None:
    """Family links of the pseudonymised tables present, or None when no table records a relation."""
    parts = []
    relations = relationship_links(paths, index)
    if relations is not None:
        parts.append(relations)
    events, links = paths.pseudo_table(CARER_EVENTS), paths.pseudo_table(CARER_LINKS)
    if events.exists() and links.exists():
        parts.append(carer_links(read_parquet(events, columns=list(EVENT_COLUMNS)),
                                 read_parquet(links, columns=["la_person_id_tok", "_source_file", "_source_row"]),
                                 index, CARER_SOURCE))
    tables, keys = _address_tables(paths)
    if tables:
        parts.append(address_links(tables, keys, index))
    if not parts:
        return None
    return pd.concat([empty_family_links(), *parts], ignore_index=True)


def run_family_links(paths: ProjectPaths, index: pd.DataFrame, truth: pd.DataFrame | None) -> dict[str, Any] | None:
    """Build and write ``data/linked/family_links.parquet``; the report's ``family_links`` section.

    Args:
        index: the person index as written (``table``, ``record_key_tok``, ``person_id``).
        truth: tokenised person map (``pipeline.linkage.read.read_truth``), or None.

    Returns:
        ``{"links": count per relation, "truth": precision/recall per relation (synthetic truth only)}``,
        or None (and a stale file removed) when no pseudonymised table records a relation.
    """
    links = build_family_links(paths, index)
    out_file = family_links_file(paths)
    if links is None:
        out_file.unlink(missing_ok=True)  # a file from an earlier run with adults would describe other data
        return None
    write_parquet(links, out_file)
    section: dict[str, Any] = {"links": count_by_relation(links)}
    truth_files = [paths.truth / name for name in (CARING_TRUTH, ADDRESS_TRUTH, PEOPLE_TRUTH)]
    if truth is not None and all(f.exists() for f in truth_files):
        caring, addresses, people = truth_files
        section["truth"] = evaluate_family_links(
            links, index, truth, read_parquet(caring, columns=["carer_id", "cared_for_id"]),
            read_parquet(addresses, columns=["person_id", "uprn", "start"]),
            read_parquet(people, columns=["person_id", "household_id"]))
    people_truth = paths.truth / "people.parquet"
    if truth is not None and people_truth.exists() and paths.pseudo_table(RELATIONSHIPS).exists():
        section.setdefault("truth", {}).update(evaluate_relations(
            links, index, truth, read_parquet(people_truth, columns=["person_id", "household_id", "role",
                                                                     "ethnicity_group"])))
    return section
