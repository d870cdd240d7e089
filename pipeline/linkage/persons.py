"""One row per source person, with its match-key tokens and the attributes the report needs.

Reads pseudonymised tables only (docs/contracts.md). The four person sources and their keys:
school (``upn_tok``), social care (``la_child_id_tok``), health (``hes_id_tok``), NCCIS
(``ccis_id_tok``). Where a source holds several rows per person (school census years, NCCIS
activity spells) the most recent row's tokens stand for the person.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipeline.linkage.model import FIELD_COLUMNS

SOURCES = ("school", "social_care", "health", "nccis")
RECORD_KEYS = {
    "school": "upn_tok",
    "social_care": "la_child_id_tok",
    "health": "hes_id_tok",
    "nccis": "ccis_id_tok",
}
MATCH_COLUMNS = tuple(c for cols in FIELD_COLUMNS.values() for c in cols)
EXTRA_KEY_COLUMNS = ("former_upn_tok",)
ATTRIBUTE_COLUMNS = ("ethnicity_group", "lsoa_imd_decile", "birth_year", "birth_month")
PERSON_COLUMNS = ("source", "record_key_tok", *MATCH_COLUMNS, *EXTRA_KEY_COLUMNS, *ATTRIBUTE_COLUMNS)
AGE_BANDS = ((0, 4, "0-4"), (5, 10, "5-10"), (11, 15, "11-15"), (16, 17, "16-17"), (18, 200, "18+"))
POSTCODE_COLUMNS = ("postcode_tok", "postcode_sector_tok", "postcode_district_tok", "lsoa_imd_decile")
# every column the person builders read: callers load only these (school tables are wide and long)
INPUT_COLUMNS = frozenset({
    *PERSON_COLUMNS, *POSTCODE_COLUMNS, "upn_tok", "la_child_id_tok", "hes_id_tok", "ccis_id_tok",
    "census_date", "school_id", "pupil_record_id", "pupil_record_id_tok", "activity_start", "date_ascertained",
    "sex", "ethnicity",
})


def _conform(df: pd.DataFrame, source: str, key: str) -> pd.DataFrame:
    """Keep the person columns (missing ones as null) and name the key ``record_key_tok``."""
    out = df.rename(columns={key: "record_key_tok"}).copy()
    if key == "upn_tok" and "upn_tok" not in out:
        out["upn_tok"] = out["record_key_tok"]
    out["source"] = source
    for col in PERSON_COLUMNS:
        if col not in out:
            out[col] = pd.NA
    out = out[list(PERSON_COLUMNS)]
    return out[out["record_key_tok"].notna()].reset_index(drop=True)


def _latest_per_key(df: pd.DataFrame, key: str, order_by: list[str]) -> pd.DataFrame:
    present = [c for c in order_by if c in df]
    ordered = df.sort_values([*present, key], kind="stable") if present else df
    return ordered.drop_duplicates(key, keep="last")


def build_school_persons(
    school_pupil: pd.DataFrame, school_address: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per distinct ``upn_tok`` from the most recent census, keeping ``former_upn_tok``.

    Args:
        school_pupil: pseudonymised school_pupil (``census_date``, ``upn_tok``, ``former_upn_tok``,
            name/dob tokens, ``sex``, ``ethnicity_group``, ``birth_year``, ``birth_month``).
        school_address: pseudonymised school_address (``census_date``, ``school_id``,
            ``pupil_record_id`` or its token, postcode tokens, ``lsoa_imd_decile``), optional.

    Returns:
        ``PERSON_COLUMNS`` with ``source`` = ``school`` and ``record_key_tok`` = ``upn_tok``.
    """
    # The latest census row per pupil is chosen before the address join: a county's censuses hold
    # several rows per pupil, and joining them all first would copy every census into memory.
    join = [
        c
        for c in ("census_date", "school_id", "pupil_record_id", "pupil_record_id_tok")
        if c in school_pupil and (school_address is None or c in school_address)
    ]
    wanted = [c for c in dict.fromkeys([*join, *PERSON_COLUMNS]) if c in school_pupil]
    pupils = school_pupil.loc[school_pupil["upn_tok"].notna(), wanted]
    latest = _latest_per_key(pupils, "upn_tok", ["census_date"])
    if school_address is not None and len(school_address):
        address_cols = [c for c in POSTCODE_COLUMNS if c in school_address]
        addresses = school_address[join + address_cols].drop_duplicates(join, keep="last")
        latest = latest.drop(columns=[c for c in address_cols if c in latest]).merge(
            addresses, on=join, how="left", validate="m:1"
        )
    return _conform(latest, "school", "upn_tok")


def build_social_care_persons(csc_person: pd.DataFrame) -> pd.DataFrame:
    """One row per ``la_child_id_tok`` (the case-management person table), with NHS and UPN tokens."""
    latest = csc_person.drop_duplicates("la_child_id_tok", keep="last")
    return _conform(latest, "social_care", "la_child_id_tok")


def build_health_persons(nhs_patient: pd.DataFrame) -> pd.DataFrame:
    """One row per ``hes_id_tok`` (NHS demographics), with ``nhs_number_tok``."""
    latest = nhs_patient.drop_duplicates("hes_id_tok", keep="last")
    return _conform(latest, "health", "hes_id_tok")


def build_nccis_persons(nccis_activity: pd.DataFrame) -> pd.DataFrame:
    """One row per ``ccis_id_tok`` from its most recent activity record, with ``upn_tok``."""
    latest = _latest_per_key(nccis_activity, "ccis_id_tok", ["activity_start", "date_ascertained"])
    return _conform(latest, "nccis", "ccis_id_tok")


def build_person_records(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack the four person sources from the pseudonymised tables that are present.

    Args:
        tables: pseudonymised table name -> frame; uses ``school_pupil`` (+ ``school_address``),
            ``csc_person``, ``nhs_patient``, ``nccis_activity`` where present.

    Returns:
        ``PERSON_COLUMNS``, one row per (source, record_key_tok), sources in ``SOURCES`` order.
    """
    parts = []
    if "school_pupil" in tables:
        parts.append(build_school_persons(tables["school_pupil"], tables.get("school_address")))
    if "csc_person" in tables:
        parts.append(build_social_care_persons(tables["csc_person"]))
    if "nhs_patient" in tables:
        parts.append(build_health_persons(tables["nhs_patient"]))
    if "nccis_activity" in tables:
        parts.append(build_nccis_persons(tables["nccis_activity"]))
    if not parts:
        raise ValueError(
            "no person source table found (school_pupil, csc_person, nhs_patient, nccis_activity)"
        )
    return pd.concat([_person_dtypes(p) for p in parts], ignore_index=True)


def _person_dtypes(part: pd.DataFrame) -> pd.DataFrame:
    """Tokens and codes as ``string``, the numeric attributes as ``Int64`` (one source at a time)."""
    numeric = ("lsoa_imd_decile", "birth_year", "birth_month")
    out = part.astype({c: "string" for c in PERSON_COLUMNS if c not in numeric})
    for col in numeric:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


def count_records_without_key(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Rows of each person source table that have no record key token (excluded from linkage)."""
    source_tables = {
        "school_pupil": "upn_tok",
        "csc_person": "la_child_id_tok",
        "nhs_patient": "hes_id_tok",
        "nccis_activity": "ccis_id_tok",
    }
    return {t: int(tables[t][k].isna().sum()) for t, k in source_tables.items() if t in tables}


def add_report_attributes(persons: pd.DataFrame, extract_date: date) -> pd.DataFrame:
    """Add ``imd_quintile`` (1 = most deprived) and ``age_band`` at ``extract_date``.

    Args:
        persons: ``ethnicity_group``, ``lsoa_imd_decile``, ``birth_year``, ``birth_month``, ``sex``.
    """
    out = persons.copy()
    out["ethnicity_group"] = out["ethnicity_group"].fillna("Unknown")
    out["sex"] = out["sex"].where(out["sex"].isin(["M", "F"]), "U")
    decile = out["lsoa_imd_decile"].astype("Float64")
    out["imd_quintile"] = np.ceil(decile / 2).astype("Int64").astype("string").fillna("Unknown")
    months = (extract_date.year - out["birth_year"]) * 12 + (
        extract_date.month - out["birth_month"].fillna(1)
    )
    age = (months // 12).astype("Int64")
    band = pd.Series(pd.NA, index=out.index, dtype="string")
    for low, high, label in AGE_BANDS:
        band = band.mask((age >= low) & (age <= high), label)
    out["age_band"] = band.fillna("Unknown")
    return out
