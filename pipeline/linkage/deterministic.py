"""Deterministic links: shared identifier tokens (NHS number, UPN), the routes most councils rely on.

Each person source declares its identifiers in the source registry (``Source.identifiers``: rule,
token column, role). Records of different sources holding the same token under one rule link: NHS
number between social care and health, UPN between school, social care and NCCIS. Roles let a
school record's former UPN match another record's current UPN (temporary -> permanent UPN, or a
pupil re-registered) without matching itself.

A token that sits on more than one record of the same source and role is ambiguous (a shared
temporary UPN, a keying error) and links nothing; such tokens are counted for the report.
"""

from __future__ import annotations

import pandas as pd

from pipeline.sources.registry import person_sources

LINK_COLUMNS = ["source_l", "record_key_tok_l", "source_r", "record_key_tok_r", "rule"]


def key_occurrences() -> list[tuple[str, str, str, str]]:
    """(rule, source, token column, role) for every declared identifier.

    Rules in name order, then sources in registry order, then each source's identifiers as declared:
    where a pair shares tokens under two rules, the first rule names the link.
    """
    declared = [
        (identifier.rule, source.name, identifier.column, identifier.role)
        for source in person_sources()
        for identifier in source.identifiers
    ]
    return sorted(declared, key=lambda occurrence: occurrence[0])  # stable: registry order within a rule


def _key_occurrences(persons: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for rule, source, column, role in key_occurrences():
        rows = persons.loc[
            (persons["source"] == source) & persons[column].notna(), ["source", "record_key_tok"]
        ]
        parts.append(rows.assign(rule=rule, role=role, key=persons.loc[rows.index, column]))
    return pd.concat(parts, ignore_index=True)


def _unambiguous(occurrences: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = occurrences.groupby(["rule", "source", "role", "key"])["record_key_tok"].transform("nunique")
    return occurrences[counts == 1], occurrences[counts > 1]


def find_deterministic_links(persons: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Pairs of person records that share a token under one of the declared identifier rules.

    Args:
        persons: ``source``, ``record_key_tok`` and every declared identifier column
            (``nhs_number_tok``, ``upn_tok``, ``former_upn_tok``; see pipeline/linkage/persons.py).

    Returns:
        (links, ambiguous): links with ``source_l``, ``record_key_tok_l``, ``source_r``,
        ``record_key_tok_r``, ``rule`` (``nhs_number`` | ``upn`` …), one row per unordered pair
        (left sorts before right); ambiguous: rule -> number of tokens held by several records.
    """
    clean, ambiguous = _unambiguous(_key_occurrences(persons))
    pairs = clean.merge(clean, on=["rule", "key"], suffixes=("_l", "_r"))
    different_record = (pairs["source_l"] != pairs["source_r"]) | (
        pairs["record_key_tok_l"] != pairs["record_key_tok_r"]
    )
    pairs = pairs[different_record]
    ordered = (pairs["source_l"] + ":" + pairs["record_key_tok_l"]) < (
        pairs["source_r"] + ":" + pairs["record_key_tok_r"]
    )
    links = pairs[ordered][LINK_COLUMNS].drop_duplicates(
        ["source_l", "record_key_tok_l", "source_r", "record_key_tok_r"]
    )
    ambiguous_counts = ambiguous.groupby("rule")["key"].nunique().to_dict()
    return links.reset_index(drop=True), {k: int(v) for k, v in ambiguous_counts.items()}
