"""Map each event row of the interventions source to a person of the person index.

An event names its child by ``person_token`` (already the index's ``person_id``), ``nhs_number_tok`` or
``upn_tok``. Tokens are looked up through the person records of every source whose registry
``identifiers`` declare that rule (``nhs_number``, ``upn``; current and former UPNs alike), then through
``data/linked/person_index.parquet`` (``table, record_key_tok, person_id``). The first identifier that
names exactly one person wins (person token, then NHS number, then UPN). A token met on records of two
persons is reported as ambiguous, never guessed; every unmapped row is counted with its reason.

Pure functions: the impact stage's IO (``pipeline.impact.events_io``) reads the tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.linkage.membership import is_in
from pipeline.sources.registry import Source, person_sources

# event columns in the order they are tried, and the link rule whose tokens each holds (None: a person_id)
IDENTIFIER_ORDER = (("person_token", None), ("nhs_number_tok", "nhs_number"), ("upn_tok", "upn"))
NO_IDENTIFIER = "no_identifier"
NOT_IN_INDEX = "not_in_person_index"


def ambiguous(column: str) -> str:
    """The unmapped reason of a row whose ``column`` token is held by records of two or more persons."""
    return f"ambiguous_{column}"


@dataclass(frozen=True)
class PersonLookup:
    """Which person each identifier names.

    Attributes:
        person_ids: every ``person_id`` of the index, once each (a ``person_token`` must be one of them).
        by_rule: rule -> ``token, person_id, persons`` (one row per distinct token; ``person_id`` NA where
            ``persons`` > 1: the token is ambiguous).
    """

    person_ids: pd.Index
    by_rule: Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class MappedPersons:
    """Per event row: ``person_id`` (NA when unmapped), ``mapped_by`` (the column used) and ``unmapped``
    (the reason, NA when mapped); ``disagreeing`` counts rows whose identifiers name different persons
    (the first in order was used)."""

    person_id: pd.Series
    mapped_by: pd.Series
    unmapped: pd.Series
    disagreeing: int

    def counts(self) -> dict:
        """``{rows, mapped, mapped_by: {column: n}, unmapped: {reason: n}, identifiers_disagree}``."""
        return {
            "rows": len(self.person_id),
            "mapped": int(self.person_id.notna().sum()),
            "mapped_by": {str(k): int(v) for k, v in self.mapped_by.value_counts().sort_index().items()},
            "unmapped": {str(k): int(v) for k, v in self.unmapped.value_counts().sort_index().items()},
            "identifiers_disagree": self.disagreeing,
        }


def identifier_sources(rule: str) -> list[Source]:
    """Person sources declaring an identifier under ``rule`` (registry order)."""
    return [s for s in person_sources() if any(i.rule == rule for i in s.identifiers)]


def person_table_columns() -> dict[str, list[str]]:
    """The columns :func:`person_lookup` reads from each person table: its person key token and its
    identifier token columns under the rules events carry."""
    rules = {rule for _, rule in IDENTIFIER_ORDER if rule}
    out: dict[str, list[str]] = {}
    for source in person_sources():
        columns = [i.column for i in source.identifiers if i.rule in rules]
        if columns:
            out[source.persons.table] = list(dict.fromkeys([source.person_key_token, *columns]))
    return out


def _tokens_to_persons(rule: str, person_index: pd.DataFrame, person_tables: Mapping[str, pd.DataFrame]
                       ) -> pd.DataFrame:
    pairs = []
    for source in identifier_sources(rule):
        table = person_tables.get(source.persons.table)
        if table is None:
            continue
        keys = person_index.loc[person_index["table"] == source.name, ["record_key_tok", "person_id"]]
        for identifier in (i for i in source.identifiers if i.rule == rule and i.column in table.columns):
            held = table[[source.person_key_token, identifier.column]].dropna()
            held = held.set_axis(["record_key_tok", "token"], axis=1)
            pairs.append(held.merge(keys, on="record_key_tok", how="inner")[["token", "person_id"]])
    if not pairs:
        return pd.DataFrame({"token": pd.Series(dtype="str"), "person_id": pd.Series(dtype="str"),
                             "persons": pd.Series(dtype="int64")})
    found = pd.concat(pairs, ignore_index=True).astype("str").drop_duplicates()
    persons = found.groupby("token")["person_id"].agg(["first", "nunique"]).reset_index()
    persons = persons.rename(columns={"first": "person_id", "nunique": "persons"})
    persons["person_id"] = persons["person_id"].where(persons["persons"] == 1)
    return persons.astype({"person_id": "str", "persons": "int64"})


def person_lookup(person_index: pd.DataFrame, person_tables: Mapping[str, pd.DataFrame]) -> PersonLookup:
    """Build the lookup from the person index and the pseudonymised person tables.

    Args:
        person_index: ``table, record_key_tok, person_id`` (data/linked/person_index.parquet).
        person_tables: person table name -> its pseudonymised frame, with at least the columns
            :func:`person_table_columns` names (a missing table contributes nothing).
    """
    index = person_index[["table", "record_key_tok", "person_id"]].astype("str")
    rules = [rule for _, rule in IDENTIFIER_ORDER if rule]
    return PersonLookup(pd.Index(index["person_id"].unique()),
                        {rule: _tokens_to_persons(rule, index, person_tables) for rule in rules})


def map_persons(events: pd.DataFrame, lookup: PersonLookup) -> MappedPersons:
    """Map each row of ``events`` (any of ``person_token``, ``nhs_number_tok``, ``upn_tok``) to a person.

    Returns:
        MappedPersons aligned with ``events.index``. Unmapped reasons: ``no_identifier`` (none of the three
        given), ``ambiguous_<column>`` (the row's token is held by records of two or more persons, and no
        earlier identifier mapped), ``not_in_person_index`` (identifiers given, none names a person).
    """
    index = events.index
    person = pd.Series(pd.NA, index=index, dtype="str")
    used = pd.Series(pd.NA, index=index, dtype="str")
    ambiguous_at = pd.Series(pd.NA, index=index, dtype="str")
    any_given = pd.Series(False, index=index)
    named: list[pd.Series] = []
    for column, rule in IDENTIFIER_ORDER:
        if column not in events.columns:
            continue
        values = events[column].astype("str")
        any_given |= values.notna()
        if rule is None:
            found = values.where(is_in(values, lookup.person_ids))
            ambiguous_here = pd.Series(False, index=index)
        else:
            table = lookup.by_rule[rule].set_index("token")
            found = values.map(table["person_id"]).astype("str")
            ambiguous_here = values.map(table["persons"]).gt(1).fillna(False).astype(bool)
        named.append(found)
        take = person.isna() & found.notna()
        person = person.where(~take, found)
        used = used.where(~take, column)
        ambiguous_at = ambiguous_at.where(~(ambiguous_here & ambiguous_at.isna()), ambiguous(column))
    reason = pd.Series(pd.NA, index=index, dtype="str")
    unmapped = person.isna()
    reason = reason.where(~(unmapped & ~any_given), NO_IDENTIFIER)
    reason = reason.where(~(unmapped & any_given & ambiguous_at.notna()), ambiguous_at)
    reason = reason.where(~(unmapped & any_given & ambiguous_at.isna()), NOT_IN_INDEX)
    return MappedPersons(person, used, reason, _disagreeing(named))


def _disagreeing(named: list[pd.Series]) -> int:
    """Rows where two of the persons ``named`` (one Series per identifier, NA where it names none) differ:
    compared two by two, so a county's events need no Python call per row."""
    differ = 0
    for i, first in enumerate(named):
        for second in named[i + 1:]:
            differ |= (first.notna() & second.notna() & (first != second)).fillna(False).to_numpy(dtype=bool)
    return int(np.sum(differ))


def person_ids_for(events: pd.DataFrame, person_index: pd.DataFrame,
                   person_tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """The person index ``person_id`` of each event row (NA where unmapped; see :func:`map_persons`)."""
    return map_persons(events, person_lookup(person_index, person_tables)).person_id
