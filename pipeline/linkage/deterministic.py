"""Deterministic links: shared NHS number or UPN tokens, the routes most councils rely on.

- NHS number: social care (where recorded) <-> health.
- UPN: school, social care and NCCIS on current UPN; a school record's former UPN also matches
  another record's current UPN (temporary -> permanent UPN, or a pupil re-registered).

A token that sits on more than one record of the same source and role is ambiguous (a shared
temporary UPN, a keying error) and links nothing; such tokens are counted for the report.
"""

from __future__ import annotations

import pandas as pd

# (rule, source, column holding the key, role); roles let a school record's former UPN match
# another school record's current UPN without matching itself.
KEY_OCCURRENCES: tuple[tuple[str, str, str, str], ...] = (
    ("nhs_number", "social_care", "nhs_number_tok", "current"),
    ("nhs_number", "health", "nhs_number_tok", "current"),
    ("upn", "school", "upn_tok", "current"),
    ("upn", "school", "former_upn_tok", "former"),
    ("upn", "social_care", "upn_tok", "current"),
    ("upn", "nccis", "upn_tok", "current"),
)
LINK_COLUMNS = ["source_l", "record_key_tok_l", "source_r", "record_key_tok_r", "rule"]


def _key_occurrences(persons: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for rule, source, column, role in KEY_OCCURRENCES:
        rows = persons.loc[
            (persons["source"] == source) & persons[column].notna(), ["source", "record_key_tok"]
        ]
        parts.append(rows.assign(rule=rule, role=role, key=persons.loc[rows.index, column]))
    return pd.concat(parts, ignore_index=True)


def _unambiguous(occurrences: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    counts = occurrences.groupby(["rule", "source", "role", "key"])["record_key_tok"].transform("nunique")
    return occurrences[counts == 1], occurrences[counts > 1]


def find_deterministic_links(persons: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Pairs of person records that share an NHS number or UPN token.

    Args:
        persons: ``source``, ``record_key_tok``, ``nhs_number_tok``, ``upn_tok``, ``former_upn_tok``
            (see pipeline/linkage/persons.py).

    Returns:
        (links, ambiguous): links with ``source_l``, ``record_key_tok_l``, ``source_r``,
        ``record_key_tok_r``, ``rule`` (``nhs_number`` | ``upn``), one row per unordered pair
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
