"""Normalisers for identifiers, applied before tokens are made so that recording variants agree.

Every function takes and returns a pandas Series (``str`` dtype out, NA for missing or unusable
values) and is vectorised through pandas string methods. Each is idempotent: normalising a
normalised value gives it back, so pseudonymise and on-the-fly linkage (link-pair) can share them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jellyfish
import pandas as pd

# Letters that NFKD does not decompose into a base letter plus accent.
_UNDECOMPOSED = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe",
                               "ı": "i", "ħ": "h", "ŧ": "t"})
_COMBINING_MARKS = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_APOSTROPHES = r"['\u2018\u2019\u02bc`´]"
# Outward code: area (1-2 letters), district digit, optional digit/letter; inward: digit + 2 letters.
POSTCODE_COMPACT = r"([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})"


def _per_distinct(normalise: Callable[[pd.Series], pd.Series]) -> Callable[[pd.Series], pd.Series]:
    """Run an element-wise normaliser once per distinct value and broadcast back (same index).

    Identifier columns repeat each value across years and events, so this does far less string work.
    """

    @functools.wraps(normalise)
    def per_distinct(values: pd.Series) -> pd.Series:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        done = normalise(pd.Series(uniques, dtype=values.dtype, name=values.name)).astype("str")
        taken = done.array.take(codes, allow_fill=True)
        return pd.Series(taken, index=values.index, dtype="str", name=done.name)

    return per_distinct


def _as_text(values: pd.Series) -> pd.Series:
    """Return ``values`` as ``str`` dtype with missing values as NA, keeping the index."""
    return values.astype("str").where(values.notna())


def _blank_to_na(values: pd.Series) -> pd.Series:
    return values.where(values.str.len() > 0).astype("str")


@_per_distinct
def normalise_name(names: pd.Series) -> pd.Series:
    """Case-fold, strip accents, drop apostrophes, turn other punctuation into spaces, collapse spaces.

    ``"O'Brien-Smith "`` -> ``"obrien smith"``; ``"ZOË"`` -> ``"zoe"``. A hyphenated surname keeps its
    parts as words (see :func:`surname_parts`), so ``Smith-Jones`` and ``Smith Jones`` agree.
    Empty or punctuation-only names become NA.
    """
    text = _as_text(names).str.normalize("NFKD").str.casefold().str.normalize("NFKD")
    text = text.str.replace(_COMBINING_MARKS, "", regex=True).str.translate(_UNDECOMPOSED)
    text = text.str.replace(_APOSTROPHES, "", regex=True)
    text = text.str.replace(r"[\W_]+", " ", regex=True).str.strip()
    return _blank_to_na(text)


def surname_parts(names: pd.Series) -> pd.Series:
    """Split normalised names into their parts (lists), e.g. ``"smith jones"`` -> ``["smith", "jones"]``.

    Linkage can compare any part, since children often carry one parent's surname or both.
    """
    return normalise_name(names).str.split(" ")


def phonetic(names: pd.Series) -> pd.Series:
    """Metaphone code of each normalised name (NA stays NA).

    Metaphone (jellyfish) rather than Soundex or NYSIIS: Soundex keeps the first letter, so
    Catherine/Katherine and Philip/Filip never agree, and NYSIIS also keeps initial vowels;
    Metaphone codes sounds (C/K, PH/F) and collapses the transliteration variants linkage meets
    most (Mohammed/Muhammad/Mohammad -> ``MHMT``). It is applied once per distinct name.
    """
    normalised = normalise_name(names)
    uniques = normalised.dropna().unique()
    codes = {name: jellyfish.metaphone(name) for name in uniques}
    return _blank_to_na(normalised.map(codes).astype("str").where(normalised.notna()))


def name_initial(names: pd.Series) -> pd.Series:
    """First letter of the normalised name."""
    return normalise_name(names).str.slice(0, 1).astype("str")


@_per_distinct
def normalise_postcode(postcodes: pd.Series) -> pd.Series:
    """Upper-case, remove spaces, check the UK format and write as ``"AB1 2CD"``; invalid -> NA."""
    compact = _as_text(postcodes).str.upper().str.replace(r"\s+", "", regex=True)
    parts = compact.str.extract(f"^{POSTCODE_COMPACT}$")
    return (parts[0] + " " + parts[1]).astype("str")


def postcode_sector(postcodes: pd.Series) -> pd.Series:
    """Postcode sector, e.g. ``"AB1 2CD"`` -> ``"AB1 2"`` (NA when the postcode is invalid)."""
    return normalise_postcode(postcodes).str.slice(0, -2).astype("str")


def postcode_district(postcodes: pd.Series) -> pd.Series:
    """Postcode district (outward code), e.g. ``"AB1 2CD"`` -> ``"AB1"``."""
    return normalise_postcode(postcodes).str.slice(0, -4).astype("str")  # the inward code is " 9AA"


@_per_distinct
def normalise_nhs_number(numbers: pd.Series) -> pd.Series:
    """Digits only; exactly 10 digits, else NA. Integer columns are accepted.

    Ten equal digits (``0000000000``, ``9999999999``) are placeholders systems write for "unknown", not
    numbers: they become NA, or every record carrying one would link to every other.
    """
    if pd.api.types.is_float_dtype(numbers):
        numbers = numbers.round().astype("Int64")
    digits = _as_text(numbers).str.replace(r"\D", "", regex=True)
    placeholder = digits.str.fullmatch(r"(\d)\1{9}").fillna(False).astype(bool)
    return digits.where((digits.str.len() == 10) & ~placeholder).astype("str")


@_per_distinct
def normalise_upn(upns: pd.Series) -> pd.Series:
    """Upper-case, spaces removed; exactly 13 characters, else NA (so ``UN1``-``UN7`` become NA)."""
    text = _as_text(upns).str.upper().str.replace(r"\s+", "", regex=True)
    return text.where(text.str.len() == 13).astype("str")


@_per_distinct
def normalise_record_key(keys: pd.Series) -> pd.Series:
    """A system's own record key (LAchildID, PSEUDO_HESID, ...) as trimmed text; blank -> NA."""
    if pd.api.types.is_float_dtype(keys):
        keys = keys.round().astype("Int64")
    return _blank_to_na(_as_text(keys).str.strip())

