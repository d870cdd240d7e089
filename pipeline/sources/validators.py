"""Field checks named by a Column's ``validator``: each returns the failing rule per value.

A validator takes a text Series and returns a Series of rule names (null where the value passes
or is null). Identifier checks use python-stdnum; each distinct value is checked once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
from stdnum import exceptions as stdnum_errors
from stdnum import verhoeff
from stdnum.gb import nhs, upn

from pipeline.sources import codes
from pipeline.sources.free_text import FREE_TEXT_RULES, check_free_text

CIN_FACTORS = frozenset(
    {
        "1A",
        "1B",
        "1C",
        "2A",
        "2B",
        "2C",
        "3A",
        "3B",
        "3C",
        "4A",
        "4B",
        "4C",
        "5A",
        "5B",
        "5C",
        "6A",
        "6B",
        "6C",
        "7A",
        "8B",
        "8C",
        "8D",
        "8E",
        "8F",
        "9A",
        "10A",
        "11A",
        "12A",
        "13A",
        "14A",
        "15A",
        "16A",
        "17A",
        "18A",
        "18B",
        "18C",
        "19A",
        "19B",
        "19C",
        "20",
        "21",
        "22A",
        "23A",
        "24A",
    }
)
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"
POSTCODE_PATTERN = r"^(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$"


def _by_unique(values: pd.Series, rules_of: Callable[[np.ndarray], np.ndarray]) -> pd.Series:
    """Apply ``rules_of`` (distinct values in, one rule or None each out) once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    rules = np.append(np.asarray(rules_of(np.asarray(uniques, dtype=object)), dtype=object), None)
    return pd.Series(rules[codes], index=values.index, dtype="object")


def _each(rule_of: Callable[[str], str | None]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda uniques: np.array([rule_of(v) for v in uniques], dtype=object)


def _with_plain_path(
    pattern: str, plain: Callable[[np.ndarray], np.ndarray], rule_of: Callable[[str], str | None]
) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised ``plain`` for values already in compact form (``pattern``); ``rule_of`` for the rest.

    Only values that python-stdnum's ``compact`` leaves unchanged take the fast path, so both
    paths give the same rule for a value.
    """
    regex = re.compile(pattern)

    def rules_of(uniques: np.ndarray) -> np.ndarray:
        out = np.empty(len(uniques), dtype=object)
        is_plain = np.fromiter((regex.fullmatch(v) is not None for v in uniques), bool, len(uniques))
        if is_plain.any():
            ascii_bytes = np.array(uniques[is_plain].tolist(), dtype="S")
            out[is_plain] = plain(ascii_bytes.view(np.uint8).reshape(len(ascii_bytes), -1))
        out[~is_plain] = [rule_of(v) for v in uniques[~is_plain]]
        return out

    return rules_of


def _nhs_rule(value: str) -> str | None:
    # ten equal digits pass mod 11 (the weights sum to 55) but are placeholders, never a person's number
    if len(set(nhs.compact(value))) == 1 and len(nhs.compact(value)) == 10:
        return "invalid_nhs_placeholder"
    try:
        nhs.validate(value)
    except stdnum_errors.InvalidChecksum:
        return "invalid_nhs_check_digit"
    except stdnum_errors.ValidationError:
        return "invalid_nhs_format"
    return None


def _nhs_rules_plain(digits: np.ndarray) -> np.ndarray:
    # rows are 10 ASCII digits: only the mod-11 check can fail (weights 10..1, as in stdnum)
    checksum = ((digits - ord("0")).astype(np.int64) @ np.arange(10, 0, -1)) % 11
    placeholder = (digits == digits[:, :1]).all(axis=1)
    return np.select([placeholder, checksum != 0], ["invalid_nhs_placeholder", "invalid_nhs_check_digit"], None)


def _upn_rule(value: str) -> str | None:
    # the check letter is tested before the LA number so a wrong letter is reported as such
    number = upn.compact(value)
    if len(number) != 13 or not number[1:12].isdigit() or number[12] not in UPN_ALPHABET:
        return "invalid_upn_format"
    if number[0] not in UPN_ALPHABET or upn.calc_check_digit(number[1:]) != number[0]:
        return "invalid_upn_check_letter"
    try:
        upn.validate(number)
    except stdnum_errors.InvalidComponent:
        return "invalid_upn_la_number"
    except stdnum_errors.ValidationError:
        return "invalid_upn_format"
    # a temporary UPN (final character a letter) is valid but will be replaced: counted, kept
    return "temporary_upn" if number[12].isalpha() else None


def _upn_rules_plain(chars: np.ndarray) -> np.ndarray:
    # rows are 13 ASCII characters from A-Z0-9: the same rules, in the same order, as _upn_rule
    index = np.full(256, -1, dtype=np.int64)
    index[np.frombuffer(UPN_ALPHABET.encode(), np.uint8)] = np.arange(len(UPN_ALPHABET))
    alphabet = np.frombuffer(UPN_ALPHABET.encode(), np.uint8)
    is_digit = (chars >= ord("0")) & (chars <= ord("9"))
    well_formed = is_digit[:, 1:12].all(axis=1) & (index[chars[:, 12]] >= 0)
    check = (index[chars[:, 1:13]] @ np.arange(2, 14)) % 23
    letter_ok = (index[chars[:, 0]] >= 0) & (alphabet[check] == chars[:, 0])
    la = (chars[:, 1:4].astype(np.int64) - ord("0")) @ np.array([100, 10, 1])
    la_ok = np.isin(la, list(upn._la_numbers))
    return np.select(
        [~well_formed, ~letter_ok, ~la_ok, ~is_digit[:, 12]],
        ["invalid_upn_format", "invalid_upn_check_letter", "invalid_upn_la_number", "temporary_upn"],
        default=None,
    )


def check_nhs_number(values: pd.Series) -> pd.Series:
    """Rules: ``invalid_nhs_format`` (not 10 digits), ``invalid_nhs_check_digit`` (mod-11 fails),
    ``invalid_nhs_placeholder`` (ten equal digits such as ``0000000000``: they pass mod 11)."""
    return _by_unique(values, _with_plain_path(r"[0-9]{10}", _nhs_rules_plain, _nhs_rule))


def check_upn(values: pd.Series) -> pd.Series:
    """Rules: ``invalid_upn_format``, ``invalid_upn_la_number``, ``invalid_upn_check_letter``,
    and ``temporary_upn`` (valid, but temporary: kept and counted)."""
    return _by_unique(values, _with_plain_path(r"[A-Z0-9]{13}", _upn_rules_plain, _upn_rule))


def _pattern_rule(values: pd.Series, pattern: str, rule: str) -> pd.Series:
    def rules_of(uniques: np.ndarray) -> np.ndarray:
        ok = pd.Series(uniques, dtype="str").str.strip().str.upper().str.fullmatch(pattern)
        return np.where(ok.eq(False).to_numpy(dtype=bool), rule, None)

    # a null has never matched the pattern, so it carries the rule (pandera skips nulls anyway)
    return _by_unique(values, rules_of).where(values.notna(), rule)


def check_postcode(values: pd.Series) -> pd.Series:
    """Rule ``invalid_postcode_format``: not a UK postcode shape (spacing and case are forgiven)."""
    return _pattern_rule(values, POSTCODE_PATTERN, "invalid_postcode_format")


def check_icd10(values: pd.Series) -> pd.Series:
    """Rule ``invalid_icd10_format``: not an ICD-10 code written without the dot (e.g. X780, J45X)."""
    return _pattern_rule(values, r"^[A-Z][0-9]{2}[0-9A-Z]{0,2}$", "invalid_icd10_format")


def _snomed_rule(value: str) -> str | None:
    # a concept id: 6-18 digits, no leading zero, Verhoeff check digit last, partition 00 or 10 before it
    code = value.strip()
    if not re.fullmatch(r"[1-9][0-9]{5,17}", code):
        return "invalid_snomed_format"
    if not verhoeff.is_valid(code):
        return "invalid_snomed_check_digit"
    return None if code[-3:-1] in ("00", "10") else "snomed_not_a_concept"


def check_snomed(values: pd.Series) -> pd.Series:
    """Rules ``invalid_snomed_format`` (not 6-18 digits), ``invalid_snomed_check_digit`` (Verhoeff check
    fails: a mistyped code), ``snomed_not_a_concept`` (a description or relationship id)."""
    return _by_unique(values, _each(_snomed_rule))


def check_snomed_list(values: pd.Series) -> pd.Series:
    """A comma-separated list of SNOMED concept ids (ECDS ``Der_EC_Diagnosis_All``): the first failing rule."""
    def rule_of(value: str) -> str | None:
        return next((r for r in map(_snomed_rule, value.split(",")) if r), None)

    return _by_unique(values, _each(rule_of))


def check_bnf_code(values: pd.Series) -> pd.Series:
    """Rule ``invalid_bnf_code``: not a BNF presentation code (chapter and section digits, then letters
    and digits, 7-15 characters, e.g. ``0407010H0AAAMAM``) nor a dotted section (``4.7.1``)."""
    return _pattern_rule(values, r"^([0-9]{4}[0-9A-Z]{3,11}|[0-9]{1,2}(\.[0-9]{1,2}){1,3})$", "invalid_bnf_code")


def check_treatment_specialty(values: pd.Series) -> pd.Series:
    """Rule ``invalid_treatment_specialty``: not a three-digit HES treatment specialty (``TRETSPEF``, e.g. 430)."""
    return _pattern_rule(values, r"^[0-9]{3}$", "invalid_treatment_specialty")


def check_academic_year(values: pd.Series) -> pd.Series:
    """Rule ``invalid_academic_year``: not written as ``2018/2019``."""
    return _pattern_rule(values, r"^[0-9]{4}/[0-9]{4}$", "invalid_academic_year")


def check_dfe_ethnicity(values: pd.Series) -> pd.Series:
    """Rule ``unknown_code``: neither a main DfE code nor an extended code of a known group."""

    def rules_of(uniques: np.ndarray) -> np.ndarray:
        upper = pd.Series(uniques, dtype="str").str.strip().str.upper()
        ok = upper.isin(list(codes.DFE_ETHNICITY)) | upper.str.fullmatch(r"^[WMABO][A-Z]{3}$").fillna(False)
        return np.where(ok.to_numpy(dtype=bool), None, "unknown_code")

    return _by_unique(values, rules_of)


def check_assessment_factors(values: pd.Series) -> pd.Series:
    """Rule ``unknown_code``: a ';'-joined factor list holding a code the CIN census does not define."""
    return _by_unique(values, _each(lambda v: None if set(v.split(";")) <= CIN_FACTORS else "unknown_code"))


def check_person_token(values: pd.Series) -> pd.Series:
    """Rule ``invalid_person_token``: not a person index ID (``P`` and at least eight digits, ``P00000042``)."""
    return _pattern_rule(values, r"^P\d{8,}$", "invalid_person_token")


VALIDATORS: dict[str, tuple[Callable[[pd.Series], pd.Series], tuple[str, ...]]] = {
    "nhs_number": (
        check_nhs_number,
        ("invalid_nhs_format", "invalid_nhs_check_digit", "invalid_nhs_placeholder"),
    ),
    "upn": (
        check_upn,
        ("invalid_upn_format", "invalid_upn_la_number", "invalid_upn_check_letter", "temporary_upn"),
    ),
    "postcode": (check_postcode, ("invalid_postcode_format",)),
    "icd10": (check_icd10, ("invalid_icd10_format",)),
    "academic_year": (check_academic_year, ("invalid_academic_year",)),
    "snomed": (check_snomed, ("invalid_snomed_format", "invalid_snomed_check_digit", "snomed_not_a_concept")),
    "snomed_list": (
        check_snomed_list, ("invalid_snomed_format", "invalid_snomed_check_digit", "snomed_not_a_concept")
    ),
    "bnf_code": (check_bnf_code, ("invalid_bnf_code",)),
    "treatment_specialty": (check_treatment_specialty, ("invalid_treatment_specialty",)),
    "dfe_ethnicity": (check_dfe_ethnicity, ("unknown_code",)),
    "assessment_factors": (check_assessment_factors, ("unknown_code",)),
    "free_text": (check_free_text, FREE_TEXT_RULES),
    "person_token": (check_person_token, ("invalid_person_token",)),
}
# rules that describe a usable value (counted, never nulled)
INFORMATIONAL_RULES = frozenset({"temporary_upn"})
