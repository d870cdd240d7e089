"""Detectors of direct identifiers in values, frames and text: what ``scan-pii`` and ``pseudonymise`` look for.

Detectors (each counts rows, never keeps a value):

- ``nhs_number``: 10 digits (optionally 3-3-4 with spaces or hyphens) passing the modulus-11 check;
- ``upn``: 13 characters, letter + 11 digits + digit/letter, with a correct check letter (the LA
  number is not checked against a list: new and synthetic LA numbers must still be caught);
- ``postcode``: a full UK postcode (districts and sectors alone are not identifiers);
- ``name_column``: a column named like a person's name holding anything other than tokens;
- ``local_id``: a council's or trust's own record ID (``LAchildID``, SSDA903 ``CHILD``, ``la_child_id``,
  ``ccis_id``, ``hes_id``; these carry no check digit, so they are found by their column's name, or in
  text by their label: ``LAchildID: 123456``, ``<LAchildID>LA1234567</LAchildID>``), any value but a token;
  an address key (``UPRN``, or the GP's ``RALF``) counts as one: it names a household;
- ``date_of_birth``: an exact date (with its day) in a column named like a date of birth (``dob``,
  ``PersonBirthDate``, ``MC_DOB``; not ``dob_year_tok`` or ``birth_year``), or after a label in text
  (``DOB: 07/03/2012``, ``date of birth 2012-03-07``);
- ``listed_name``: a whole word from a ``--names`` list (case-insensitive).

Matches must stand alone (no letter or digit on either side), so a 32-hex-character token, which
is one unbroken run, can never contain a finding. Detection runs once per distinct value.
Reading files is :mod:`pipeline.privacy.scan_pii`'s job.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

HEX_TOKEN = r"[0-9a-f]{32}"
_L, _R = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
NHS_NUMBER_PATTERN = _L + r"(\d{3})[ -]?(\d{3})[ -]?(\d{4})" + _R
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"  # DfE: no I, O or S
UPN_PATTERN = _L + r"([A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z])" + _R
POSTCODE_PATTERN = _L + r"(?i:[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})" + _R
NAME_COLUMN_WORDS = ("forename", "surname", "firstname", "lastname", "givenname", "familyname",
                     "middlename", "fullname", "childname")
# words that make a column a statement about a name (a comparison level, a token, a count), not a name
# (``_tok`` columns stay name columns: a token column holding anything but tokens is a leak)
ABOUT_A_NAME = frozenset({"level", "gamma", "tf", "bf", "count", "counts", "flag", "flagged", "missing", "valid",
                          "agree", "comparison"})
# squashed (lower case, letters only) names of columns holding a local person or record ID
LOCAL_ID_COLUMNS = frozenset({"lachildid", "childid", "localid", "localchildid", "child", "ccisid", "hesid",
                              "pupilrecordid", "clientid", "caseid", "childref", "personref", "mosaicid", "lcsid",
                              "patientid", "hospitalnumber", "mrn", "uprn", "ralf"})  # an address key too
_ID_LABEL = (r"(?:la[ _]?child[ _]?id|local[ _]?(?:child[ _]?)?id|child[ _]?id|ccis[ _]id|hes[ _]id"
             r"|pupil[ _]record[ _]id)")
LABELLED_LOCAL_ID = (r"(?i)(?<![a-z])" + _ID_LABEL + r"(?![a-z_])[\s:=,\"'|>]{1,4}(?![0-9a-f]{32})"
                     r"(?:[a-z]{0,4}\d[a-z0-9-]{3,})")
FULL_DATE = r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{1,2} [A-Za-z]{3,9} \d{4})"
FULL_DATE_VALUE = r"\s*(?:" + FULL_DATE + r"(?:[ T][\d:.]+)?|\d{8})\s*"
LABELLED_DOB = (r"(?i)(?<![a-z])(?:dob|d\.o\.b\.?|date[ _]of[ _]birth|birth[ _]?date|born(?: on)?)(?![a-z_])"
                r"[\s:=,\"'|>]{1,4}" + FULL_DATE)
_NOT_A_DOB = frozenset({"tok", "year", "month", "day", "age", "band", "flag", "missing", "valid", "count"})
_UPN_VALUE = np.full(256, 0, dtype=np.int64)
_UPN_VALUE[[ord(c) for c in UPN_ALPHABET]] = np.arange(len(UPN_ALPHABET))


def nhs_checksum_ok(digits: pd.Series) -> np.ndarray:
    """Modulus-11 check of 10-digit strings (weights 10..2; check 11 -> 0; 10 is never issued)."""
    if digits.empty:
        return np.zeros(0, dtype=bool)
    arr = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8).reshape(-1, 10).astype(np.int64) - 48
    check = (11 - (arr[:, :9] @ np.arange(10, 1, -1)) % 11) % 11
    return (check != 10) & (check == arr[:, 9])


def upn_checksum_ok(upns: pd.Series) -> np.ndarray:
    """Check letter of 13-character upper-case UPN strings: sum(position x value) over chars 2-13, mod 23."""
    if upns.empty:
        return np.zeros(0, dtype=bool)
    arr = _UPN_VALUE[np.frombuffer("".join(upns).encode("ascii"), dtype=np.uint8).reshape(-1, 13)]
    return arr[:, 0] == (arr[:, 1:] @ np.arange(2, 14)) % 23


def _matches(values: pd.Series, pattern: str) -> pd.DataFrame:
    """All matches of ``pattern`` in ``values`` (RangeIndex): rows indexed by (value position, match)."""
    return values.str.extractall(pattern)


def _hit_positions(matches: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
    return matches.index.get_level_values(0)[ok].unique().to_numpy()


def nhs_number_mask(values: pd.Series) -> np.ndarray:
    """Which text values contain a valid NHS number."""
    values = values.reset_index(drop=True)
    found = _matches(values[values.str.contains(r"\d{3}")], NHS_NUMBER_PATTERN)
    hits = _hit_positions(found, nhs_checksum_ok(found[0] + found[1] + found[2])) if len(found) else []
    return values.index.isin(hits)


def snomed_code_mask(values: pd.Series) -> np.ndarray:
    """Which text values are, as a whole, a SNOMED CT concept id (6-18 digits, Verhoeff check digit,
    concept partition ``00``/``10``)."""
    from stdnum import verhoeff

    digits = values.str.strip()
    shaped = digits.str.fullmatch(r"\d{6,18}").to_numpy(dtype=bool)
    mask = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(shaped):
        code = digits.iloc[i]
        mask[i] = code[-3:-1] in ("00", "10") and verhoeff.is_valid(code)
    return mask


def coded_nhs_lookalikes(values: pd.Series, nhs_hits: np.ndarray) -> np.ndarray:
    """NHS-number hits that are SNOMED CT codes in a column of SNOMED CT codes.

    A real 10-digit SNOMED id (such as 1149233001) can pass the NHS modulus-11 check. In a column whose
    distinct values are mostly SNOMED ids that are not NHS numbers (a GP event or ECDS diagnosis
    column), such values are codes, not people. A column of NHS numbers is still found: nearly all its
    values fail the SNOMED check (about 1 in 500 passes), so it is never "mostly codes".
    """
    values = values.reset_index(drop=True)
    if not nhs_hits.any():
        return np.zeros(len(values), dtype=bool)
    codes = snomed_code_mask(values)
    filled = values.str.strip().str.len().gt(0).to_numpy(dtype=bool)
    if (codes & ~nhs_hits).sum() < 0.5 * max(filled.sum(), 1):
        return np.zeros(len(values), dtype=bool)
    return codes & nhs_hits


def upn_mask(values: pd.Series) -> np.ndarray:
    """Which text values contain a UPN with a correct check letter."""
    values = values.reset_index(drop=True)
    found = _matches(values[values.str.contains(r"\d{11}")], UPN_PATTERN)
    hits = _hit_positions(found, upn_checksum_ok(found[0])) if len(found) else []
    return values.index.isin(hits)


def postcode_mask(values: pd.Series) -> np.ndarray:
    """Which text values contain a full UK postcode."""
    return values.str.contains(POSTCODE_PATTERN).to_numpy(dtype=bool)


def integer_nhs_number_mask(values: pd.Series) -> np.ndarray:
    """Which integers are valid 10-digit NHS numbers (NHS numbers are sometimes stored as int64)."""
    ints = values.to_numpy(dtype=np.int64)
    in_range = (ints >= 10**9) & (ints < 10**10)
    digits = pd.Series(ints[in_range].astype(str), dtype=object)
    mask = np.zeros(len(ints), dtype=bool)
    mask[in_range] = nhs_checksum_ok(digits)
    return mask


def is_name_column(column: str) -> bool:
    """Whether a column name says it holds people's names (``Forename``, ``family_name``, ``name``...).

    A column *about* a name (``level_forename`` in a linkage review, ``surname_count``)
    is not a name column: a word from ``ABOUT_A_NAME`` in the column name says so.
    """
    last = column.lower().rsplit(".", 1)[-1].rsplit("!", 1)[-1]
    if ABOUT_A_NAME & set(re.split(r"[^a-z]+", last)):
        return False
    squashed = re.sub(r"[^a-z]", "", last)
    return squashed in {"name", "names"} or any(word in squashed for word in NAME_COLUMN_WORDS)


def _words(column: str) -> list[str]:
    """Lower-case words of a column name: ``PersonBirthDate`` -> person, birth, date; ``MC_DOB`` -> mc, dob."""
    last = column.rsplit(".", 1)[-1].rsplit("!", 1)[-1]
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", last)
    return [w for w in re.split(r"[^a-z]+", spaced.lower()) if w]


def is_local_id_column(column: str) -> bool:
    """Whether a column name says it holds a local person or record ID (``LAchildID``, ``CHILD``, ``hes_id``)."""
    words = _words(column)
    return "tok" not in words and "".join(words) in LOCAL_ID_COLUMNS


def is_dob_column(column: str) -> bool:
    """Whether a column name says it holds a date of birth (``dob``, ``PersonBirthDate``), not a part of one."""
    words = set(_words(column))
    return not words & _NOT_A_DOB and ("dob" in words or {"birth", "date"} <= words or "birthdate" in words
                                       or "dateofbirth" in "".join(_words(column)))


def full_date_mask(values: pd.Series) -> np.ndarray:
    """Which text values are exact dates (with a day): ``2012-03-07``, ``07/03/2012``, ``20120307``."""
    return values.str.fullmatch(FULL_DATE_VALUE).to_numpy(dtype=bool)


def listed_name_mask(values: pd.Series, names: frozenset[str]) -> np.ndarray:
    """Which text values contain, as a whole word, one of ``names`` (case-folded single words)."""
    if not names or values.empty:
        return np.zeros(len(values), dtype=bool)
    words = values.reset_index(drop=True).str.casefold().str.findall(r"\w+").explode()
    return words.isin(names).groupby(level=0).any().reindex(range(len(values)), fill_value=False).to_numpy()


def scan_value_counts(
    values: pd.Series, counts: np.ndarray, column: str, names: frozenset[str] = frozenset()
) -> dict[str, int]:
    """Detect identifiers among distinct ``values`` (text or integer) seen ``counts`` times each.

    Returns:
        ``{kind: number of rows}`` for each kind found (kinds with no hit are left out).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if pd.api.types.is_integer_dtype(values):
        hits = {"nhs_number": integer_nhs_number_mask(values)}
        if is_local_id_column(column):
            hits["local_id"] = np.ones(len(values), dtype=bool)
        elif is_dob_column(column):  # 20120307 held as a number
            hits["date_of_birth"] = full_date_mask(values.astype("str"))
    else:
        values = values.astype("str").reset_index(drop=True)
        # tokens cannot hold a finding (one unbroken run of hex), so skip them: in pseudonymised
        # files they are most of the distinct values
        clear = ~values.str.fullmatch(HEX_TOKEN).to_numpy(dtype=bool)
        values, counts = values[clear].reset_index(drop=True), counts[clear]
        nhs = nhs_number_mask(values)
        hits = {
            "nhs_number": nhs & ~coded_nhs_lookalikes(values, nhs),
            "upn": upn_mask(values.str.upper()),
            "postcode": postcode_mask(values),
            "listed_name": listed_name_mask(values, names),
            "local_id": values.str.contains(LABELLED_LOCAL_ID).to_numpy(dtype=bool),
            "date_of_birth": values.str.contains(LABELLED_DOB).to_numpy(dtype=bool),
        }
        if is_local_id_column(column):
            hits["local_id"] = hits["local_id"] | values.str.strip().str.len().gt(0).to_numpy(dtype=bool)
        if is_dob_column(column):
            hits["date_of_birth"] = hits["date_of_birth"] | full_date_mask(values)
        if is_name_column(column):
            # a name has letters: counts and dates in a name-like column (report totals) are not names
            hits["name_column"] = values.str.contains(r"[^\W\d_]", regex=True).to_numpy(dtype=bool)
    return {kind: int(counts[mask].sum()) for kind, mask in hits.items() if mask.any()}


def scan_frame(df: pd.DataFrame, names: frozenset[str] = frozenset()) -> list[tuple[str, str, int]]:
    """Scan every text and integer column of ``df``: ``[(column, kind, rows), ...]``."""
    found = []
    for column in df.columns:
        series = df[column]
        if not (pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)
                or pd.api.types.is_integer_dtype(series)):
            continue
        counts = series.dropna().value_counts(sort=False)
        if pd.api.types.is_object_dtype(series):
            counts.index = counts.index.astype("str")
        for kind, rows in scan_value_counts(counts.index.to_series(), counts.to_numpy(), str(column),
                                            names).items():
            found.append((str(column), kind, rows))
    return found


def scan_text(text: str, names: frozenset[str] = frozenset()) -> list[tuple[str, str, int]]:
    """Scan free text line by line (count = lines with a finding)."""
    counts = pd.Series(text.splitlines(), dtype="str").value_counts(sort=False)
    hits = scan_value_counts(counts.index.to_series(), counts.to_numpy(), "(text)", names)
    return [("(text)", kind, rows) for kind, rows in hits.items()]


def read_names_list(text: str) -> frozenset[str]:
    """Names to look for (one per line), case-folded; each name's words are matched as whole words."""
    return frozenset(w for line in text.splitlines() for w in re.findall(r"\w+", line.casefold()))
