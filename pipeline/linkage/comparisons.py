"""The linkage model's comparisons: how each identity field's match-key tokens are graded.

Plain SQL over the contract's token columns (docs/contracts.md), strongest agreement first, each level
with its prior m-probability (DOMAIN.md "Linkage realities"); :mod:`pipeline.linkage.model` assembles them,
with the blocking rules, into Splink settings.
"""

from __future__ import annotations

from typing import Any

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
