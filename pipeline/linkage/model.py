"""The linkage model declared as data: comparisons, blocking rules and prior parameters.

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

# Identity field -> match-key token columns it produces (docs/contracts.md, pseudonymised tables).
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "forename": ("forename_tok", "forename_phon_tok", "forename_initial_tok"),
    "surname": ("surname_tok", "surname_phon_tok", "surname_initial_tok"),
    "dob": ("dob_tok", "dob_year_tok", "dob_month_tok", "dob_day_tok"),
    "sex": ("sex",),
    "postcode": ("postcode_tok", "postcode_sector_tok", "postcode_district_tok"),
    "nhs_number": ("nhs_number_tok",),
    "upn": ("upn_tok",),
}
IDENTITY_FIELDS = tuple(FIELD_COLUMNS)
# Optional token columns: a comparison gains a level when they are present (link-pair makes them
# from clear names; pseudonymised tables do not hold them).
EDIT_COLUMNS: dict[str, str] = {"forename": "forename_edit_tok", "surname": "surname_edit_tok"}


def _null_level(*columns: str) -> dict[str, Any]:
    either_null = " OR ".join(f"{c}_l IS NULL OR {c}_r IS NULL" for c in columns)
    return {"sql_condition": either_null, "label_for_charts": "null", "is_null_level": True}


def _level(sql: str, label: str, m: float, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, "m_probability": m, **extra}


def _else_level(m: float) -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "else", "m_probability": m}


def name_comparison(field: str, *, edits: bool = False, sql_dialect: str = "duckdb") -> dict[str, Any]:
    """Forename or surname: exact token -> phonetic token -> [one edit] -> initial -> else.

    Term-frequency adjustment on the exact level, so a shared common name counts for less than a
    shared rare one. Needs ``<field>_tok``, ``<field>_phon_tok``, ``<field>_initial_tok``; with
    ``edits``, also ``<field>_edit_tok`` (``name_edit_tokens``: lists that intersect when the names
    are one typing error apart), compared with Splink's array-intersection level, whose SQL
    depends on ``sql_dialect``.
    """
    tok, phon, initial = FIELD_COLUMNS[field]
    levels = [
        _null_level(tok),
        _level(f"{tok}_l = {tok}_r", "exact", 0.88, tf_adjustment_column=tok, tf_adjustment_weight=1.0),
        _level(f"{phon}_l = {phon}_r", "phonetic", 0.06),
        _level(f"{initial}_l = {initial}_r", "initial", 0.03),
        _else_level(0.03),
    ]
    if edits:
        import splink.comparison_level_library as cll

        edit = cll.ArrayIntersectLevel(EDIT_COLUMNS[field], 1).get_comparison_level(sql_dialect).as_dict()
        levels.insert(len(levels) - 2, _level(edit["sql_condition"], "one edit", 0.05))
    return {
        "output_column_name": field,
        "comparison_description": f"{field}: " + ", ".join(str(lvl["label_for_charts"]) for lvl in levels[1:]),
        "comparison_levels": levels,
    }


def names_swapped_comparison() -> dict[str, Any]:
    """Forename and surname recorded the other way round: swapped -> else.

    Both names share one token domain, so a swap shows as the left forename equal to the right
    surname and vice versa. It is a comparison of its own rather than a level of the forename's:
    random pairs almost never reach it, and Splink samples u until every level of a comparison
    has been seen 100 times, which here is cheap only without the name comparisons' other levels.
    """
    forename, surname = FIELD_COLUMNS["forename"][0], FIELD_COLUMNS["surname"][0]
    return {
        "output_column_name": "names_swapped",
        "comparison_description": "forename and surname swapped, else",
        "comparison_levels": [
            _null_level(forename, surname),
            _level(f"{forename}_l = {surname}_r AND {surname}_l = {forename}_r", "swapped", 0.01),
            _else_level(0.99),
        ],
    }


def dob_comparison() -> dict[str, Any]:
    """Date of birth: exact -> day/month swapped -> day+month (year typo) -> year+month -> year -> else.

    Month and day tokens share one domain (contracts), so a swap shows as the left day token equal
    to the right month token and vice versa, in the same year.
    """
    return {
        "output_column_name": "dob",
        "comparison_description": "date of birth: exact, day/month swap, year typo, year+month, year, else",
        "comparison_levels": [
            _null_level("dob_tok"),
            _level("dob_tok_l = dob_tok_r", "exact", 0.96),
            _level(
                "dob_year_tok_l = dob_year_tok_r AND dob_day_tok_l = dob_month_tok_r "
                "AND dob_month_tok_l = dob_day_tok_r",
                "day/month swapped",
                0.008,
            ),
            _level(
                "dob_day_tok_l = dob_day_tok_r AND dob_month_tok_l = dob_month_tok_r",
                "day+month (year differs)",
                0.008,
            ),
            _level(
                "dob_year_tok_l = dob_year_tok_r AND dob_month_tok_l = dob_month_tok_r",
                "year+month",
                0.012,
            ),
            _level("dob_year_tok_l = dob_year_tok_r", "year", 0.006),
            _else_level(0.006),
        ],
    }


def postcode_comparison() -> dict[str, Any]:
    """Postcode: exact -> sector -> district -> else (families move; records lag)."""
    return {
        "output_column_name": "postcode",
        "comparison_description": "postcode: exact, sector, district, else",
        "comparison_levels": [
            _null_level("postcode_tok"),
            _level("postcode_tok_l = postcode_tok_r", "exact", 0.70),
            _level("postcode_sector_tok_l = postcode_sector_tok_r", "sector", 0.10),
            _level("postcode_district_tok_l = postcode_district_tok_r", "district", 0.08),
            _else_level(0.12),
        ],
    }


def sex_comparison() -> dict[str, Any]:
    """Sex (clear M/F; U and missing count as null): exact -> else.

    m is fixed, not trained: sex almost never disagrees between true matches, so EM drives the
    else level's m towards zero until it underflows, and an estimate that small would make one
    miskeyed sex veto any match.
    """
    known = "{side} IS NULL OR {side} NOT IN ('M', 'F')"
    return {
        "output_column_name": "sex",
        "comparison_description": "sex: exact, else",
        "comparison_levels": [
            {
                "sql_condition": f"{known.format(side='sex_l')} OR {known.format(side='sex_r')}",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            _level("sex_l = sex_r", "exact", 0.98, fix_m_probability=True),
            {**_else_level(0.02), "fix_m_probability": True},
        ],
    }


def identifier_comparison(field: str) -> dict[str, Any]:
    """NHS number or UPN token: exact -> else (a recorded disagreement is strong evidence)."""
    tok = FIELD_COLUMNS[field][0]
    return {
        "output_column_name": field,
        "comparison_description": f"{field}: exact, else",
        "comparison_levels": [
            _null_level(tok),
            _level(f"{tok}_l = {tok}_r", "exact", 0.95),
            _else_level(0.05),
        ],
    }


IDENTIFIER_COMPARISONS = ("nhs_number", "upn")

COMPARISON_BUILDERS = {
    "forename": lambda: name_comparison("forename"),
    "surname": lambda: name_comparison("surname"),
    "dob": dob_comparison,
    "postcode": postcode_comparison,
    "sex": sex_comparison,
    "nhs_number": lambda: identifier_comparison("nhs_number"),
    "upn": lambda: identifier_comparison("upn"),
}

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
) -> dict[str, Any]:
    """Splink settings dict for the given identity fields (backend-independent).

    Args:
        fields: identity fields to compare (see ``IDENTITY_FIELDS``); their token columns must
            exist in every input table, plus ``unique_id``.
        link_type: ``link_and_dedupe`` for the person index, ``link_only`` for link-pair.
        probability_two_random_records_match: prior, re-estimated by training.
        additional_columns_to_retain: columns carried through to predictions.
        columns: every column of the input tables; optional ones (``EDIT_COLUMNS``) add levels.
        extra_blocking_rules: prediction rules added after ``PREDICTION_BLOCKING_RULES``.
        sql_dialect: Splink dialect of the optional levels' SQL (``duckdb`` or ``spark``).
        retain_matching_columns: carry both sides' token columns into the predictions.

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
    rules = rules_for_columns(PREDICTION_BLOCKING_RULES + tuple(extra_blocking_rules), available)
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
