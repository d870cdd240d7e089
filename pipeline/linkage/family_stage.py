"""The link stage's family and household links: read what records them, build, evaluate, write.

Reads the pseudonymised tables that record a relation (``cld_event`` with ``cld_carer_link``; any person
source's person table with a ``uprn_tok`` column; ``csc_relationship`` with the NHS number tokens of the
person tables, :mod:`pipeline.linkage.family_relations`; ``gp_patient`` with a ``ralf_tok`` column and
``gp_event``, :mod:`pipeline.linkage.family_gp`) through ``pipeline.core.io``, builds
``data/linked/family_links.parquet`` (:mod:`pipeline.linkage.family`) and, when the synthetic county
wrote the adults' truth (``data/truth/adults_caring.parquet``, ``adults_addresses.parquet``,
``adults_people.parquet``), evaluates it (:mod:`pipeline.linkage.family_quality`).
A project with none of those tables (children only) writes no file and reports nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.io import parquet_columns, read_parquet, write_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.family import (
    READS_SOURCE,
    UPRN_TOKEN,
    address_links,
    carer_links,
    count_by_relation,
    empty_family_links,
    evaluate_family_links,
    one_row_per_link,
    true_person_of,
)
from pipeline.linkage.family_gp import EVENT_COLUMNS as GP_EVENT_COLUMNS
from pipeline.linkage.family_gp import HOUSEHOLD_TOKEN, PATIENT_COLUMNS, gp_family_links
from pipeline.linkage.family_quality import carer_quality, household_quality, person_groups
from pipeline.linkage.family_relations import (
    evaluate_relations,
    parent_links,
    person_by_nhs_token,
    recorded_parents,
    sibling_links,
)
from pipeline.linkage.timing import phase
from pipeline.sources.registry import person_sources

CARER_SOURCE, CARER_EVENTS, CARER_LINKS = "adult_social_care", "cld_event", "cld_carer_link"
EVENT_COLUMNS = ("la_person_id_tok", "client_type", "period_end", "_source_file", "_source_row")
CARING_TRUTH, ADDRESS_TRUTH, PEOPLE_TRUTH = "adults_caring.parquet", "adults_addresses.parquet", "adults_people.parquet"
RELATIONSHIPS = "csc_relationship"  # children's social care relationship records (parent_of, sibling_of)
RELATIONSHIP_COLUMNS = ("la_child_id_tok", "la_person_id_tok", "related_nhs_number_tok", "relationship", "start_date")
NHS_TOKEN = "nhs_number_tok"
GP_PATIENTS, GP_EVENTS = "gp_patient", "gp_event"
# groups with fewer true or predicted pairs are suppressed in the linkage report (its own setting: pairs, not people)
MIN_GROUP_PAIRS = 10


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
    patients, events = paths.pseudo_table(GP_PATIENTS), paths.pseudo_table(GP_EVENTS)
    if patients.exists() and HOUSEHOLD_TOKEN in parquet_columns(patients):
        parts.append(gp_family_links(read_parquet(patients, columns=list(PATIENT_COLUMNS)),
                                     read_parquet(events, columns=list(GP_EVENT_COLUMNS)) if events.exists() else None,
                                     index))
    if not parts:
        return None
    return one_row_per_link(pd.concat([empty_family_links(), *parts], ignore_index=True))


def run_family_links(paths: ProjectPaths, index: pd.DataFrame, truth: pd.DataFrame | None,
                     as_of: date | None = None, min_group: int = MIN_GROUP_PAIRS) -> dict[str, Any] | None:
    """Build and write ``data/linked/family_links.parquet``; the report's ``family_links`` section.

    Args:
        index: the person index as written (``table``, ``record_key_tok``, ``person_id``).
        truth: tokenised person map (``pipeline.linkage.read.read_truth``), or None.
        as_of: the extract date the quality report's age bands are taken on (``link.extract_date``); None
            leaves the GP links' ``by_age_band`` out.
        min_group: groups with fewer true or predicted pairs are reported as suppressed.

    Returns:
        ``{"links": count per relation, "links_by_source": relation -> source -> count, "truth": precision/recall
        per relation (synthetic truth only), "min_group_pairs"}``, or None (and a stale file removed) when no
        pseudonymised table records a relation.
    """
    with phase("family links"):
        links = build_family_links(paths, index)
    out_file = family_links_file(paths)
    if links is None:
        out_file.unlink(missing_ok=True)  # a file from an earlier run with adults would describe other data
        return None
    with phase("writing outputs"):
        write_parquet(links, out_file)
    by_source: dict[str, dict[str, int]] = {}  # a link two sources give counts for each
    each = links.assign(source=links["source"].str.split("+")).explode("source")
    for (relation, source), n in each.groupby(["relation", "source"]).size().items():
        by_source.setdefault(str(relation), {})[str(source)] = int(n)
    section: dict[str, Any] = {"links": count_by_relation(links), "links_by_source": by_source}
    with phase("family links quality against truth"):
        _add_truth_quality(section, paths, links, index, truth, as_of, min_group)
    return section


def _add_truth_quality(section: dict[str, Any], paths: ProjectPaths, links: pd.DataFrame, index: pd.DataFrame,
                       truth: pd.DataFrame | None, as_of: date | None, min_group: int) -> None:
    """``section["truth"]``: each relation's quality against the synthetic truth files present."""
    truth_files = [paths.truth / name for name in (CARING_TRUTH, ADDRESS_TRUTH, PEOPLE_TRUTH)]
    if truth is not None and all(f.exists() for f in truth_files):
        caring = read_parquet(truth_files[0], columns=["carer_id", "cared_for_id"])
        addresses = read_parquet(truth_files[1], columns=["person_id", "uprn", "start", "end"])
        people = read_parquet(truth_files[2], columns=["person_id", "household_id", "ethnicity_group", "dob",
                                                        "death_date"])
        section["truth"] = evaluate_family_links(links, index, truth, caring, addresses,
                                                 people[["person_id", "household_id"]])
        _add_gp_quality(section["truth"], links, index, truth, caring, addresses, people, as_of, min_group)
        section["min_group_pairs"] = min_group
    people_truth = paths.truth / "people.parquet"
    if truth is not None and people_truth.exists() and paths.pseudo_table(RELATIONSHIPS).exists():
        section.setdefault("truth", {}).update(evaluate_relations(
            links, index, truth, read_parquet(people_truth, columns=["person_id", "household_id", "role",
                                                                     "ethnicity_group"]), min_group))
        section["min_group_pairs"] = min_group


def _add_gp_quality(report: dict, links: pd.DataFrame, index: pd.DataFrame, truth: pd.DataFrame,
                    caring: pd.DataFrame, addresses: pd.DataFrame, people: pd.DataFrame, as_of: date | None,
                    min_group: int) -> None:
    """``same_household`` quality, and ``carer_of``'s ``by_source`` (each source's links with its groups)."""
    true_of = true_person_of(index, truth)
    groups = person_groups(people, as_of)
    homes = links[links["relation"] == "same_household"]
    if not homes.empty:
        report["same_household"] = household_quality(homes, true_of, truth, addresses, people, groups, min_group)
    carers = links[links["relation"] == "carer_of"]
    if not carers.empty:
        report["carer_of"]["by_source"] = {
            str(source): carer_quality(rows, true_of, truth, caring, people, groups, min_group,
                                       {READS_SOURCE.get(str(source), str(source))})
            for source, rows in _by_each_source(carers)}


def _by_each_source(links: pd.DataFrame):
    """(source, its links) for each source named in ``source`` (a link recorded by two counts for both)."""
    named = links["source"].str.split("+")
    for source in sorted({s for parts in named for s in parts}):
        yield source, links[named.map(lambda parts, s=source: s in parts)]
