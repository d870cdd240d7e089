"""The linkage model declared as data: comparisons (:mod:`pipeline.linkage.comparisons`), blocking rules, priors.

Everything here is plain SQL over the contract's match-key token columns (docs/contracts.md), so
the settings dictionary is backend-independent (DuckDB or Spark) and is saved as a reviewable JSON
file beside the trained parameters. Comparisons are graded from strongest to weakest agreement;
a comparison is only included when its fields are present, which lets ``link-pair`` reuse the same
design for any subset of identity fields.

Prior m-probabilities (share of true matches at each level) are stated here, from the error rates
councils see (DOMAIN.md "Linkage realities"). They seed EM and are kept when EM cannot run or does
not converge on a small table pair.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.core.io import read_json, write_json
from pipeline.linkage.comparisons import (
    COMPARISON_BUILDERS,
    EDIT_COLUMNS,
    FIELD_COLUMNS,
    IDENTITY_FIELDS,
    name_comparison,
    names_swapped_comparison,
)

# Blocking rules for prediction: a pair is scored if any rule admits it. A link needs dob evidence
# (a dob level the model weighs for a match) or an agreeing identifier, so every rule carries part
# of the date of birth and a second, independent key: exact dob with a forename initial, a surname initial or a
# postcode district (a name typo or change, both names wrong but no move); year with both phonetic
# names (a day/month swap or a day wrong); year+month or day+month with one phonetic name and the
# other's initial (a day or year wrong, and a name misspelt); birth year at one postcode.
# Date, name and postcode pools are fixed for a county, so a rule on one of them alone (a date of
# birth: ~80 records each at 300k children) grows with the square of the county's size; each rule
# here joins on cells that outnumber its records (``count_comparisons_from_blocking_rules`` at
# 231k records: 1.1M pairs, where the earlier dob-alone and name+year rules gave 21M).
PREDICTION_BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("dob_tok", "forename_initial_tok"),
    ("dob_tok", "surname_initial_tok"),
    ("dob_tok", "postcode_district_tok"),
    ("dob_year_tok", "forename_phon_tok", "surname_phon_tok"),
    ("dob_year_tok", "dob_month_tok", "surname_phon_tok", "forename_initial_tok"),
    ("dob_year_tok", "dob_month_tok", "forename_phon_tok", "surname_initial_tok"),
    ("dob_month_tok", "dob_day_tok", "surname_phon_tok", "forename_initial_tok"),
    ("dob_month_tok", "dob_day_tok", "forename_phon_tok", "surname_initial_tok"),
    ("postcode_tok", "dob_year_tok"),
    ("nhs_number_tok",),
    ("upn_tok",),
)
# National scale (``link.blocking_geography``): the county's dob + name-initial rules and its year/month/day +
# phonetic-name rules join on cells whose number is fixed (about 5,100 birth dates x 26 initials), so once a
# cell holds several records their pairs grow with the square of the records (benchmarks/linkage_scale.py:
# 5.5x the pairs for 3x the records between 100k and 300k). Here those rules also need the same geography
# (a postcode district: its number grows with the population), which keeps every rule's pairs growing with
# the records. Movers, whose districts differ, are still met by exact dob with one phonetic name and the
# other's initial (cells of date x name: sparse at any size), by postcode + year, and by the identifiers.
BLOCKING_GEOGRAPHIES: dict[str, str] = {"postcode_district": "postcode_district_tok"}


def _rules_within(geography: str) -> tuple[tuple[str, ...], ...]:
    return (
        ("dob_tok", geography),
        ("dob_tok", "forename_phon_tok", "surname_initial_tok"),
        ("dob_tok", "surname_phon_tok", "forename_initial_tok"),
        ("dob_year_tok", "forename_phon_tok", "surname_phon_tok", geography),
        ("dob_year_tok", "dob_month_tok", "surname_phon_tok", "forename_initial_tok", geography),
        ("dob_year_tok", "dob_month_tok", "forename_phon_tok", "surname_initial_tok", geography),
        ("dob_month_tok", "dob_day_tok", "surname_phon_tok", "forename_initial_tok", geography),
        ("dob_month_tok", "dob_day_tok", "forename_phon_tok", "surname_initial_tok", geography),
        ("postcode_tok", "dob_year_tok"),
        ("nhs_number_tok",),
        ("upn_tok",),
    )


def prediction_blocking_rules(
    geography: str | None = None, available: set[str] | None = None
) -> tuple[tuple[str, ...], ...]:
    """The prediction blocking rules: the county's (``geography`` None), or the national ones within a geography.

    Args:
        geography: a key of ``BLOCKING_GEOGRAPHIES`` (``postcode_district``), or None.
        available: the token columns the tables hold; without the geography's column the county rules are
            used (a rule on a missing column would admit nothing).

    Raises:
        ValueError: an unknown geography.
    """
    if geography is None:
        return PREDICTION_BLOCKING_RULES
    if geography not in BLOCKING_GEOGRAPHIES:
        raise ValueError(f"unknown blocking geography {geography!r}; expected one of {sorted(BLOCKING_GEOGRAPHIES)}")
    column = BLOCKING_GEOGRAPHIES[geography]
    if available is not None and column not in available:
        return PREDICTION_BLOCKING_RULES
    return _rules_within(column)


# EM sessions: each trains the comparisons not used in its rule; together they cover all.
TRAINING_BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("dob_tok",),
    ("forename_tok", "surname_tok"),
)
# Near-certain rules used to estimate the prior probability that two records match.
DETERMINISTIC_PRIOR_RULES: tuple[tuple[str, ...], ...] = (
    ("forename_tok", "surname_tok", "dob_tok"),
    ("nhs_number_tok",),
    ("upn_tok",),
)


def blocking_rule_sql(columns: tuple[str, ...]) -> str:
    """SQL for an equi-join blocking rule on ``columns`` (Splink's ``l.``/``r.`` convention)."""
    return " AND ".join(f"l.{c} = r.{c}" for c in columns)


def rules_for_columns(rules: tuple[tuple[str, ...], ...], available: set[str]) -> list[str]:
    """The rules whose columns are all available, as SQL strings."""
    return [blocking_rule_sql(rule) for rule in rules if set(rule) <= available]


def fields_present(columns: set[str]) -> list[str]:
    """Identity fields whose token columns are all in ``columns``, in the canonical order."""
    return [f for f in IDENTITY_FIELDS if set(FIELD_COLUMNS[f]) <= columns]


def build_linkage_settings(
    fields: list[str],
    *,
    link_type: str = "link_and_dedupe",
    probability_two_random_records_match: float = 1e-4,
    additional_columns_to_retain: list[str] | None = None,
    columns: set[str] | None = None,
    extra_blocking_rules: tuple[tuple[str, ...], ...] = (),
    sql_dialect: str = "duckdb",
    retain_matching_columns: bool = True,
    blocking_geography: str | None = None,
) -> dict[str, Any]:
    """Splink settings dict for the given identity fields (backend-independent).

    Args:
        fields: identity fields to compare (see ``IDENTITY_FIELDS``); their token columns must
            exist in every input table, plus ``unique_id``.
        link_type: ``link_and_dedupe`` for the person index, ``link_only`` for link-pair.
        probability_two_random_records_match: prior, re-estimated by training.
        additional_columns_to_retain: columns carried through to predictions.
        columns: every column of the input tables; optional ones (``EDIT_COLUMNS``) add levels.
        extra_blocking_rules: prediction rules added after the county's or national rules.
        sql_dialect: Splink dialect of the optional levels' SQL (``duckdb`` or ``spark``).
        retain_matching_columns: carry both sides' token columns into the predictions.
        blocking_geography: None for the county's prediction rules, or ``postcode_district`` for the
            national ones (``prediction_blocking_rules``).

    Returns:
        A settings dict accepted by ``splink.Linker``.
    """
    unknown = set(fields) - set(IDENTITY_FIELDS)
    if unknown:
        raise ValueError(f"unknown identity fields {sorted(unknown)}; expected some of {IDENTITY_FIELDS}")
    available = {c for f in fields for c in FIELD_COLUMNS[f]}
    comparisons = [
        name_comparison(f, edits=EDIT_COLUMNS[f] in (columns or ()), sql_dialect=sql_dialect)
        if f in EDIT_COLUMNS
        else COMPARISON_BUILDERS[f]()
        for f in fields
    ]
    if {"forename", "surname"} <= set(fields):
        comparisons.insert(fields.index("surname") + 1, names_swapped_comparison())
    base_rules = prediction_blocking_rules(blocking_geography, available)
    rules = rules_for_columns(base_rules + tuple(extra_blocking_rules), available)
    return {
        "link_type": link_type,
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": probability_two_random_records_match,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": list(dict.fromkeys(rules)),
        "retain_matching_columns": retain_matching_columns,
        "retain_intermediate_calculation_columns": False,
        "additional_columns_to_retain": list(additional_columns_to_retain or []),
        "em_convergence": 0.0001,
        "max_iterations": 25,
    }


def save_linkage_model(model: dict[str, Any], path) -> None:
    """Write a settings/model dict as indented JSON (reviewable, diffable)."""
    write_json(model, path)


def load_linkage_model(path) -> dict[str, Any]:
    """Read a settings/model dict saved by ``save_linkage_model`` (or Splink)."""
    return read_json(path)


def settings_fingerprint(model: dict[str, Any]) -> str:
    """Canonical JSON text of a model, for equality checks in tests and lineage."""
    return json.dumps(model, sort_keys=True, default=str)
