"""Turn a text frame with canonical column names into the spec's canonical types.

Every value that cannot be typed becomes null and is listed as a problem (row index, column,
rule, level), so nothing disappears silently: an unparseable date of birth is row-level (the
row is quarantined), any other unparseable value is field-level (counted in the DQ report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.privacy.actions import Privacy
from pipeline.sources.codes import UPN_UNKNOWN
from pipeline.sources.readers import parse_dates
from pipeline.sources.schema import empty_problems
from pipeline.sources.spec import Column, Kind, TableSpec

TRUE_WORDS = {
    "TRUE": True,
    "T": True,
    "Y": True,
    "YES": True,
    "1": True,
    "FALSE": False,
    "F": False,
    "N": False,
    "NO": False,
    "0": False,
}


def clean_text(values: pd.Series) -> pd.Series:
    """Strip surrounding whitespace; blank becomes null. Returns a ``str`` Series."""
    text = values.astype("str").str.strip()
    return text.where(text != "", None).astype("str")


def _problems(mask: pd.Series, column: str, rule: str, level: str) -> pd.DataFrame:
    rows = mask.index[mask.fillna(False).astype(bool)]
    return pd.DataFrame({"row": rows.astype("int64"), "column": column, "rule": rule, "level": level})


def _canonical_codes(text: pd.Series, col: Column) -> pd.Series:
    upper = text.str.upper()
    if col.recode:
        text = upper.map({k.upper(): v for k, v in col.recode.items()}).fillna(text).astype("str")
        upper = text.str.upper()
    if col.codes:
        text = upper.map({c.upper(): c for c in col.codes}).fillna(text).astype("str")
    return text


def _type_distinct(text: pd.Series, col: Column) -> tuple[pd.Series, list[tuple[pd.Series, str, str]]]:
    """Type distinct, non-null cleaned text values: (typed values, [(failing, rule, level), ...])."""
    if col.kind == Kind.DATE:
        typed = parse_dates(text)
        if col.privacy == Privacy.DOB:
            return typed, [(typed.isna(), "unparseable_dob", "row")]
        return typed, [(typed.isna(), "unparseable_date", "field")]
    if col.kind in (Kind.INT, Kind.FLOAT):
        number = pd.to_numeric(text, errors="coerce").astype("Float64")
        failed = [(number.isna(), "not_a_number", "field")]
        if col.kind == Kind.FLOAT:
            return number, failed
        fractional = number.notna() & (number % 1 != 0)
        number = number.where(~fractional.fillna(False), None)
        return number.round().astype("Int64"), [*failed, (fractional, "not_an_integer", "field")]
    if col.kind == Kind.BOOL:
        typed = text.str.upper().map(TRUE_WORDS).astype("boolean")
        return typed, [(typed.isna(), "not_a_boolean", "field")]
    return _canonical_codes(text, col), []


def coerce_column(text: pd.Series, col: Column) -> tuple[pd.Series, pd.DataFrame, np.ndarray]:
    """Type one cleaned text column. Returns (typed values, problems, value codes).

    Each distinct value is typed once and the result mapped back to the rows: a column repeats
    few distinct codes, dates and numbers, and typing is what costs. The value codes (int64, -1
    for null) are equal exactly where the typed values are, so duplicates can be found on them.
    """
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    typed, failures = _type_distinct(pd.Series(uniques, dtype="str", name=text.name), col)
    rows = pd.Series(typed.array.take(codes, allow_fill=True), index=text.index, dtype=typed.dtype)
    typed_codes, _ = pd.factorize(typed, use_na_sentinel=True)
    value_codes = np.append(typed_codes.astype(np.int64), -1)[codes]
    problems = []
    for failing, rule, level in failures:
        # code -1 (a null) takes the appended False: a missing value is never a typing failure
        by_row = np.append(failing.to_numpy(dtype=bool, na_value=False), False)[codes]
        problems.append(_problems(pd.Series(by_row, index=text.index), col.name, rule, level))
    return rows, pd.concat(problems) if problems else empty_problems(), value_codes


def move_upn_unknown(df: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """UN1–UN7 recorded in a UPN column are 'UPN unknown' reasons, not UPNs.

    The code moves to ``upn_unknown`` (when the table has it and it is blank) and the UPN becomes
    null; either way the rule ``upn_unknown_code`` is counted.
    """
    problems = []
    has_unknown = "upn_unknown" in df.columns
    for col in [c for c in spec.columns if c.validator == "upn"]:
        is_code = df[col.name].str.upper().isin(list(UPN_UNKNOWN))
        if not is_code.any():
            continue
        if has_unknown and col.name == "upn":
            fill = is_code & df["upn_unknown"].isna()
            df = df.assign(upn_unknown=df["upn_unknown"].where(~fill, df[col.name].str.upper()))
        df = df.assign(**{col.name: df[col.name].where(~is_code, None)})
        problems.append(_problems(is_code, col.name, "upn_unknown_code", "field"))
    return df, pd.concat(problems) if problems else empty_problems()


def coerce_columns(raw: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Type every spec column of ``raw``.

    Args:
        raw: text frame holding the spec's canonical column names (other columns pass through).
        spec: the table's declaration.

    Returns:
        (typed frame with the same index and extra columns, problems with columns
        ``row``, ``column``, ``rule``, ``level``, value codes: one int64 column per spec column,
        equal within a column exactly where the typed values are equal, nulls included).
    """
    texts = {col.name: clean_text(raw[col.name]) for col in spec.columns}
    texts_df, upn_problems = move_upn_unknown(pd.DataFrame(texts, index=raw.index), spec)
    typed, problems, codes = {}, [upn_problems], {}
    for col in spec.columns:
        typed[col.name], found, codes[col.name] = coerce_column(texts_df[col.name], col)
        problems.append(found)
    others = raw.drop(columns=[c.name for c in spec.columns])
    frames = [p for p in problems if len(p)]
    found = pd.concat(frames, ignore_index=True) if frames else empty_problems()
    typed_df = pd.concat([pd.DataFrame(typed, index=raw.index), others], axis=1)
    return typed_df, found, pd.DataFrame(codes, index=raw.index)
