"""A tiny linked county: three people, every table features reads, hand-checkable values."""

from __future__ import annotations

import pandas as pd
import pytest

from features.events import source_columns
from models.spec import SPECS_DIR, parse_model_spec
from pipeline.core.io import read_yaml

D = pd.Timestamp


def _frame(rows: list[dict], table: str) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=source_columns()[table])
    for col in out.columns:
        if col.endswith(("_date", "_start", "_end", "_authorised")) or col in ("start_date", "end_date"):
            out[col] = pd.to_datetime(out[col])
    return out


def tiny_tables() -> dict[str, pd.DataFrame]:
    """P1: pupil (Year 8 in 2019, Year 9 in 2020, Year 11 in 2022) known to social care and health; P2:
    pupil only (Year 9 in 2020, Year 11 in 2022); P3: a baby known only to hospital."""
    pupil = {"school_id": "S1", "birth_year": 2005, "birth_month": 11, "sex": "M", "entry_date": "2016-09-05",
             "sen_provision": "N", "ethnicity_group": "White"}
    t = {
        "school_pupil": _frame([
            {**pupil, "census_date": "2019-01-17", "pupil_record_id_tok": "r1", "upn_tok": "u1",
             "sessions_possible": 140, "sen_provision": "K", "nc_year": "8"},
            {**pupil, "census_date": "2020-01-16", "pupil_record_id_tok": "r1", "upn_tok": "u1",
             "sessions_possible": 150, "nc_year": "9"},
            {**pupil, "census_date": "2020-01-16", "pupil_record_id_tok": "r2", "upn_tok": "u2",
             "sessions_possible": 160, "nc_year": "9", "sex": "F", "birth_month": 3, "birth_year": 2006},
            # both still on roll in Year 11: evidence (not NCCIS) that they had not moved away before 16
            {**pupil, "census_date": "2022-01-20", "pupil_record_id_tok": "r1b", "upn_tok": "u1",
             "sessions_possible": 150, "nc_year": "11"},
            {**pupil, "census_date": "2022-01-20", "pupil_record_id_tok": "r2b", "upn_tok": "u2",
             "sessions_possible": 160, "nc_year": "11", "sex": "F", "birth_month": 3, "birth_year": 2006},
        ], "school_pupil"),
        "school_attendance": _frame([
            {"census_date": "2019-01-17", "pupil_record_id_tok": "r1", "reason": "I", "sessions": 40},
            {"census_date": "2020-01-16", "pupil_record_id_tok": "r1", "reason": "I", "sessions": 6},
            {"census_date": "2020-01-16", "pupil_record_id_tok": "r1", "reason": "O", "sessions": 12},
            {"census_date": "2020-01-16", "pupil_record_id_tok": "r1", "reason": "X", "sessions": 9},
        ], "school_attendance"),
        "school_exclusion": _frame([
            {"census_date": "2020-01-16", "pupil_record_id_tok": "r1", "start_date": "2019-05-01", "sessions": 4,
             "category": "FIXD"},
            {"census_date": "2020-01-16", "pupil_record_id_tok": "r1", "start_date": "2017-05-01", "sessions": 2,
             "category": "FIXD"},
        ], "school_exclusion"),
        "school_fsm": _frame([{"census_date": "2020-01-16", "pupil_record_id_tok": "r1", "fsm_start": "2013-01-01",
                               "fsm_end": "2015-06-30"}], "school_fsm"),
        "school_address": _frame([
            {"census_date": "2020-01-16", "pupil_record_id_tok": "r1", "lsoa_imd_decile": 3},
        ], "school_address"),
        "ks2": _frame([{"upn_tok": "u1", "acad_year": "2016/2017", "read_mark": 98, "mat_mark": None}], "ks2"),
        "nccis_activity": _frame([
            {"ccis_id_tok": "n1", "birth_year": 2005, "birth_month": 11, "sex": "M", "activity_code": "540",
             "activity_start": "2022-10-01"},
            {"ccis_id_tok": "n2", "birth_year": 2006, "birth_month": 3, "sex": "F", "activity_code": "810",
             "activity_start": "2022-10-01"},
        ], "nccis_activity"),
        "csc_person": _frame([{"la_child_id_tok": "c1", "birth_year": 2005, "birth_month": 11, "sex": "M",
                               "ethnicity_group": "White"}], "csc_person"),
        "cla_header": _frame([], "cla_header"),
        "cla_episode": _frame([], "cla_episode"),
        "cin_child": _frame([], "cin_child"),
        "cin_episode": _frame([
            {"collection_year": 2019, "la_child_id_tok": "c1", "referral_date": "2018-06-01",
             "referral_source": "4", "closure_date": None},
            {"collection_year": 2020, "la_child_id_tok": "c1", "referral_date": "2018-06-01",
             "referral_source": "4", "closure_date": "2020-05-01"},
            {"collection_year": 2020, "la_child_id_tok": "c1", "referral_date": "2019-03-01",
             "referral_source": "10", "closure_date": "2019-04-01"},
        ], "cin_episode"),
        "cin_assessment": _frame([
            {"la_child_id_tok": "c1", "assessment_start": "2018-06-10", "assessment_authorised": "2018-07-01",
             "factors": "3B;4B;21"},
        ], "cin_assessment"),
        "cin_cp_plan": _frame([], "cin_cp_plan"),
        "early_help": _frame([], "early_help"),
        "nhs_patient": _frame([
            {"hes_id_tok": "h1", "birth_year": 2005, "birth_month": 11, "sex": "M", "ethnicity_group": "White"},
            {"hes_id_tok": "h3", "birth_year": 2019, "birth_month": 6, "sex": "F", "ethnicity_group": "Asian"},
        ], "nhs_patient"),
        "hes_admission": _frame([
            {"hes_id_tok": "h1", "admission_date": "2019-08-01", "admission_method": "21", "diag_01": "S010",
             "diag_02": "X781"},
            {"hes_id_tok": "h1", "admission_date": "2015-08-01", "admission_method": "11", "diag_01": "Z630"},
        ], "hes_admission"),
        "ae_attendance": _frame([
            {"hes_id_tok": "h1", "arrival_date": "2019-12-01", "diagnosis": "S525"},
            {"hes_id_tok": "h3", "arrival_date": "2019-09-01", "diagnosis": "R509"},
        ], "ae_attendance"),
    }
    return t


def tiny_person_index() -> pd.DataFrame:
    rows = [("school", "u1", "P1"), ("social_care", "c1", "P1"), ("health", "h1", "P1"), ("nccis", "n1", "P1"),
            ("school", "u2", "P2"), ("nccis", "n2", "P2"), ("health", "h3", "P3")]
    return pd.DataFrame(rows, columns=["table", "record_key_tok", "person_id"])


def spec_with(name: str, **changes) -> object:
    """A shipped spec with top-level sections replaced (``index_dates={...}`` etc.)."""
    raw = read_yaml(SPECS_DIR / f"{name}.yaml")
    for key, value in changes.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_model_spec(raw, name)


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return tiny_tables()


@pytest.fixture
def person_index() -> pd.DataFrame:
    return tiny_person_index()
