"""Identifier normalisers: idempotent, and blind to the recording variants they exist to absorb."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.privacy.normalise import (
    name_initial,
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    phonetic,
    postcode_district,
    postcode_sector,
    surname_parts,
)

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèëêçñåäöüøíóúàÉÖÅÇ '-’"
names = st.text(alphabet=NAME_CHARS, max_size=25)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def one(func, value):
    return func(pd.Series([value], dtype="str")).iloc[0]


def strip_accents(text: str) -> str:
    """Independent accent removal, for the invariance property."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(names)
def test_normalise_name_is_idempotent(name):
    once = normalise_name(pd.Series([name], dtype="str"))
    assert normalise_name(once).equals(once)


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(names)
def test_normalise_name_ignores_case_accents_and_spacing(name):
    expected = one(normalise_name, name)
    for variant in (name.upper(), name.lower(), strip_accents(name), f"  {name.replace(' ', '   ')} "):
        got = one(normalise_name, variant)
        assert got == expected or (pd.isna(got) and pd.isna(expected))


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(names)
def test_normalised_names_are_lowercase_words(name):
    got = one(normalise_name, name)
    if not pd.isna(got):
        assert got == got.strip() and "  " not in got and got.casefold() == got
        assert not any(c in got for c in "'-’")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("O'Brien", "obrien"), ("Smith-Jones", "smith jones"), ("  ZOË  ", "zoe"), ("Søren", "soren"),
     ("", None), ("'-", None), (None, None)],
)
def test_normalise_name_examples(raw, expected):
    got = one(normalise_name, raw)
    assert got == expected if expected else pd.isna(got)


def test_surname_parts_split_hyphenated_names():
    parts = surname_parts(pd.Series(["Smith-Jones", "Khan", None], dtype="str"))
    assert parts.iloc[0] == ["smith", "jones"] and parts.iloc[1] == ["khan"] and pd.isna(parts.iloc[2])


def test_phonetic_collapses_spelling_variants_and_keeps_na():
    codes = phonetic(pd.Series(["Mohammed", "Muhammad", "Catherine", "Katherine", None, ""], dtype="str"))
    assert codes.iloc[0] == codes.iloc[1]
    assert codes.iloc[2] == codes.iloc[3]
    assert codes.iloc[0] != codes.iloc[2]
    assert codes.iloc[4:].isna().all()
    assert str(codes.dtype) == "str"


def test_name_initial():
    assert name_initial(pd.Series(["émile", None], dtype="str")).iloc[0] == "e"


outward = st.builds(lambda area, d, extra: area + d + extra,
                    st.text(LETTERS, min_size=1, max_size=2), st.sampled_from("0123456789"),
                    st.sampled_from(["", *"0123456789", *LETTERS]))
inward = st.builds(lambda d, ab: d + ab, st.sampled_from("0123456789"),
                   st.text(LETTERS, min_size=2, max_size=2))


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(outward, inward, st.sampled_from(["", " ", "  "]), st.booleans())
def test_postcode_with_or_without_space_any_case_agrees(out_code, in_code, gap, lower):
    raw = f" {out_code}{gap}{in_code} "
    raw = raw.lower() if lower else raw
    got = one(normalise_postcode, raw)
    assert got == f"{out_code} {in_code}"
    assert one(normalise_postcode, got) == got
    assert one(postcode_sector, raw) == f"{out_code} {in_code[0]}"
    assert one(postcode_district, raw) == out_code


@pytest.mark.parametrize("raw", ["AB1", "AB1 2", "12345", "ABC 1DE", "AB1 2C", "", None, "AB1 2CD X"])
def test_invalid_postcodes_are_na(raw):
    for func in (normalise_postcode, postcode_sector, postcode_district):
        assert pd.isna(one(func, raw))


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(st.text("0123456789", min_size=10, max_size=10).filter(lambda d: len(set(d)) > 1),
       st.sampled_from(["", " ", "-"]))
def test_nhs_number_keeps_ten_digits(digits, sep):
    raw = f"{digits[:3]}{sep}{digits[3:6]}{sep}{digits[6:]}"
    assert one(normalise_nhs_number, raw) == digits
    assert one(normalise_nhs_number, digits) == digits


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(st.text("0123456789", max_size=14).filter(lambda d: len(d) != 10))
def test_nhs_number_of_other_length_is_na(digits):
    assert pd.isna(one(normalise_nhs_number, digits))


@pytest.mark.parametrize("placeholder", ["0000000000", "999 999 9999", "1111111111"])
def test_an_nhs_number_of_ten_equal_digits_is_a_placeholder_not_a_number(placeholder):
    assert pd.isna(one(normalise_nhs_number, placeholder))  # else every "unknown" would link to every other


def test_nhs_number_from_integers():
    got = normalise_nhs_number(pd.Series([9434765919, None], dtype="Int64"))
    assert got.iloc[0] == "9434765919" and pd.isna(got.iloc[1])


@pytest.mark.parametrize(("raw", "expected"),
                         [("b801200005001", "B801200005001"), (" B801 2000 05001 ", "B801200005001"),
                          ("UN1", None), ("", None), (None, None)])
def test_normalise_upn(raw, expected):
    got = one(normalise_upn, raw)
    assert got == expected if expected else pd.isna(got)
    if expected:
        assert one(normalise_upn, got) == got
