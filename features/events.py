"""Source tables to dated, person-keyed events: the only place that knows source layouts.

Every event frame has ``person_id`` (from the person index) and ``event_date`` (when the fact
happened or was observed) plus domain columns. Feature code downstream sees only these frames and
compares ``event_date`` with each index date, so the point-in-time rule lives in one place.

Dating rules (documented in docs and on the model card):
- census status facts (on roll, SEN provision, address) are dated on the census day;
- autumn-term attendance is dated at the end of that term (31 December before the census);
- exclusions, FSM periods, referrals, plans, episodes, attendances and admissions by their own start;
- assessments (and their factors) when authorised (start date where not yet authorised);
- KS2 results on 1 July of the academic year they were sat.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

log = logging.getLogger(__name__)

AUTHORISED_ABSENCE = frozenset({"C", "C1", "C2", "E", "H", "I", "J1", "M", "R", "S", "T"})
UNAUTHORISED_ABSENCE = frozenset({"G", "N", "O", "U"})

# person-index source of each table's record key, and that key's column
RECORD_KEYS: dict[str, tuple[str, str]] = {
    "school_pupil": ("school", "upn_tok"),
    "ks2": ("school", "upn_tok"),
    "nccis_activity": ("nccis", "ccis_id_tok"),
    "csc_person": ("social_care", "la_child_id_tok"),
    "cla_header": ("social_care", "la_child_id_tok"),
    "cla_episode": ("social_care", "la_child_id_tok"),
    "cin_child": ("social_care", "la_child_id_tok"),
    "cin_episode": ("social_care", "la_child_id_tok"),
    "cin_assessment": ("social_care", "la_child_id_tok"),
    "cin_cp_plan": ("social_care", "la_child_id_tok"),
    "early_help": ("social_care", "la_child_id_tok"),
    "nhs_patient": ("health", "hes_id_tok"),
    "hes_admission": ("health", "hes_id_tok"),
    "ae_attendance": ("health", "hes_id_tok"),
}
# the columns features read from each pseudonymised table (reading no more keeps memory small)
SOURCE_COLUMNS: dict[str, list[str]] = {
    "school_pupil": ["census_date", "pupil_record_id_tok", "school_id", "upn_tok", "birth_year", "birth_month", "sex",
                     "entry_date", "sessions_possible", "sen_provision", "nc_year", "ethnicity_group"],
    "school_attendance": ["census_date", "pupil_record_id_tok", "reason", "sessions"],
    "school_exclusion": ["census_date", "pupil_record_id_tok", "start_date", "sessions", "category"],
    "school_fsm": ["census_date", "pupil_record_id_tok", "fsm_start", "fsm_end"],
    "school_sen_need": ["census_date", "pupil_record_id_tok", "sen_type", "rank"],
    "school_address": ["census_date", "pupil_record_id_tok", "lsoa_imd_decile"],
    "ks2": ["upn_tok", "acad_year", "read_mark", "mat_mark"],
    "nccis_activity": ["ccis_id_tok", "birth_year", "birth_month", "sex", "lsoa_imd_decile", "activity_code",
                       "activity_start"],
    "csc_person": ["la_child_id_tok", "birth_year", "birth_month", "sex", "ethnicity_group"],
    "cla_header": ["la_child_id_tok", "birth_year", "birth_month", "sex", "ethnicity_group"],
    "cla_episode": ["collection_year", "la_child_id_tok", "start_date", "rne", "end_date"],
    "cin_child": ["la_child_id_tok", "birth_year", "birth_month", "sex", "ethnicity_group"],
    "cin_episode": ["collection_year", "la_child_id_tok", "referral_date", "referral_source", "closure_date"],
    "cin_assessment": ["la_child_id_tok", "assessment_start", "assessment_authorised", "factors"],
    "cin_cp_plan": ["collection_year", "la_child_id_tok", "cpp_start", "cpp_end", "initial_category"],
    "early_help": ["la_child_id_tok", "start_date", "end_date"],
    "nhs_patient": ["hes_id_tok", "birth_year", "birth_month", "sex", "ethnicity_group"],
    "hes_admission": ["hes_id_tok", "admission_date", "admission_method", *[f"diag_{i:02d}" for i in range(1, 21)]],
    "ae_attendance": ["hes_id_tok", "arrival_date", "diagnosis"],
}
SCHOOL_CHILD_TABLES = ("school_attendance", "school_exclusion", "school_fsm", "school_sen_need", "school_address")


def attach_person_id(table: pd.DataFrame, name: str, person_index: pd.DataFrame) -> pd.DataFrame:
    """Add ``person_id`` to a source table from the person index; unlinked rows are dropped.

    Args:
        table: a pseudonymised table holding the record-key token named in ``RECORD_KEYS``.
        name: the table's name (e.g. ``cla_episode``).
        person_index: ``table, record_key_tok, person_id``.

    Returns:
        ``table`` with a ``person_id`` (str) column; rows whose key is not in the index are dropped.
    """
    source, key = RECORD_KEYS[name]
    keys = person_index.loc[person_index["table"] == source, ["record_key_tok", "person_id"]]
    keys = keys.astype({"record_key_tok": "str", "person_id": "str"}).drop_duplicates("record_key_tok")
    out = table.merge(keys, left_on=key, right_on="record_key_tok", how="inner").drop(columns="record_key_tok")
    if len(out) < len(table):
        unused = len(table) - len(out)
        log.info("%s: %d of %d rows have no person in the index and are not used", name, unused, len(table))
    return out


def attach_school_person(child: pd.DataFrame, pupils: pd.DataFrame) -> pd.DataFrame:
    """Give a school child table (attendance, exclusions, …) the person of its pupil record.

    Args:
        child: ``census_date, pupil_record_id_tok`` plus the table's own columns.
        pupils: school_pupil with ``person_id`` (``census_date, pupil_record_id_tok, person_id``).
    """
    keys = pupils[["census_date", "pupil_record_id_tok", "person_id"]].drop_duplicates(
        ["census_date", "pupil_record_id_tok"]
    )
    return child.merge(keys, on=["census_date", "pupil_record_id_tok"], how="inner")


def build_census_events(pupils: pd.DataFrame, addresses: pd.DataFrame) -> pd.DataFrame:
    """One row per person per census: ``person_id, event_date, nc_year, sen_provision, school_id,
    entry_date, imd_decile``."""
    imd = addresses.groupby(["census_date", "pupil_record_id_tok"], as_index=False)["lsoa_imd_decile"].first()
    out = pupils.merge(imd, on=["census_date", "pupil_record_id_tok"], how="left")
    out = out.rename(columns={"census_date": "event_date", "lsoa_imd_decile": "imd_decile"})
    cols = ["person_id", "event_date", "nc_year", "sen_provision", "school_id", "entry_date", "imd_decile"]
    return out[cols].sort_values(["person_id", "event_date"]).drop_duplicates(["person_id", "event_date"])


def build_attendance_events(pupils: pd.DataFrame, attendance: pd.DataFrame) -> pd.DataFrame:
    """Autumn-term sessions per person per census, dated 31 December before the census.

    Returns:
        ``person_id, event_date, sessions_possible, authorised, unauthorised`` (floats).
    """
    reason = attendance["reason"].astype("str")
    absences = attendance.assign(
        authorised=attendance["sessions"].where(reason.isin(AUTHORISED_ABSENCE), 0).astype("float64"),
        unauthorised=attendance["sessions"].where(reason.isin(UNAUTHORISED_ABSENCE), 0).astype("float64"),
    ).groupby(["census_date", "person_id"], as_index=False)[["authorised", "unauthorised"]].sum()
    possible = pupils.groupby(["census_date", "person_id"], as_index=False)["sessions_possible"].sum()
    out = possible.merge(absences, on=["census_date", "person_id"], how="left").fillna(
        {"authorised": 0.0, "unauthorised": 0.0}
    )
    out["sessions_possible"] = out["sessions_possible"].astype("float64")
    out = out[out["sessions_possible"] > 0]
    out["event_date"] = pd.to_datetime((out["census_date"].dt.year - 1).astype("str") + "-12-31")
    return out[["person_id", "event_date", "sessions_possible", "authorised", "unauthorised"]]


def build_exclusion_events(exclusions: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (start), sessions, category``; one row per exclusion across censuses."""
    out = exclusions.rename(columns={"start_date": "event_date"})
    out = out.dropna(subset=["event_date"]).drop_duplicates(["person_id", "event_date", "category"])
    return out[["person_id", "event_date", "sessions", "category"]].astype({"sessions": "float64"})


def build_school_move_events(census: pd.DataFrame) -> pd.DataFrame:
    """Mid-year school moves: ``person_id, event_date (entry date)`` of each school joined after the
    first, outside the July-September transfer season."""
    spells = census.dropna(subset=["entry_date"]).drop_duplicates(["person_id", "school_id", "entry_date"])
    spells = spells.sort_values(["person_id", "entry_date"])
    later = spells["person_id"].duplicated()
    mid_year = ~spells["entry_date"].dt.month.isin([7, 8, 9])
    return spells.loc[later & mid_year, ["person_id", "entry_date"]].rename(columns={"entry_date": "event_date"})


def build_fsm_events(fsm: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (FSM start), fsm_end``, each period as recorded by its latest census."""
    out = fsm.sort_values("census_date").drop_duplicates(["person_id", "fsm_start"], keep="last")
    return out.rename(columns={"fsm_start": "event_date"})[["person_id", "event_date", "fsm_end"]].dropna(
        subset=["event_date"]
    )


def build_ks2_events(ks2: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (1 July of the year sat), read_mark, mat_mark`` (floats)."""
    end_year = ks2["acad_year"].astype("str").str.slice(5, 9)
    out = ks2.assign(event_date=pd.to_datetime(end_year + "-07-01", errors="coerce"))
    out = out.dropna(subset=["event_date"]).astype({"read_mark": "float64", "mat_mark": "float64"})
    return out[["person_id", "event_date", "read_mark", "mat_mark"]]


def build_referral_events(episodes: pd.DataFrame) -> pd.DataFrame:
    """CIN episodes, one per referral: ``person_id, event_date (referral), referral_source, closure_date``."""
    out = episodes.sort_values("collection_year").drop_duplicates(["person_id", "referral_date"], keep="last")
    out = out.rename(columns={"referral_date": "event_date"}).dropna(subset=["event_date"])
    return out[["person_id", "event_date", "referral_source", "closure_date"]]


def build_assessment_events(assessments: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (authorised, else start), factors`` (";"-joined codes, padded with ";")."""
    out = assessments.assign(event_date=assessments["assessment_authorised"].fillna(assessments["assessment_start"]))
    out = out.dropna(subset=["event_date"]).drop_duplicates(["person_id", "assessment_start", "event_date"])
    out["factors"] = ";" + out["factors"].fillna("").astype("str") + ";"
    return out[["person_id", "event_date", "factors"]]


def build_cp_plan_events(plans: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (plan start), cpp_end, category`` (initial category of abuse)."""
    out = plans.sort_values("collection_year").drop_duplicates(["person_id", "cpp_start"], keep="last")
    out = out.rename(columns={"cpp_start": "event_date", "initial_category": "category"})
    return out.dropna(subset=["event_date"])[["person_id", "event_date", "cpp_end", "category"]]


def build_care_events(episodes: pd.DataFrame) -> pd.DataFrame:
    """Looked-after episodes: ``person_id, event_date (start), end_date, new_period (RNE = S)``."""
    out = episodes.sort_values("collection_year").drop_duplicates(["person_id", "start_date"], keep="last")
    out = out.rename(columns={"start_date": "event_date"}).dropna(subset=["event_date"])
    out["new_period"] = (out["rne"].astype("str") == "S").astype("int8")
    return out[["person_id", "event_date", "end_date", "new_period"]]


def build_early_help_events(early_help: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (start), end_date``."""
    out = early_help.rename(columns={"start_date": "event_date"}).dropna(subset=["event_date"])
    return out[["person_id", "event_date", "end_date"]]


def build_nccis_events(nccis: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (activity start), activity_code, imd_decile``."""
    out = nccis.rename(columns={"activity_start": "event_date", "lsoa_imd_decile": "imd_decile"})
    return out.dropna(subset=["event_date"])[["person_id", "event_date", "activity_code", "imd_decile"]]


def build_source_events(tables: Mapping[str, pd.DataFrame], person_index: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every event frame the features stage uses, keyed by domain name.

    Args:
        tables: pseudonymised tables by name (data/pseudo); missing tables give empty domains.
        person_index: data/linked/person_index.parquet.
    """
    linked = {
        name: attach_person_id(tables[name], name, person_index) for name in RECORD_KEYS if name in tables
    }
    pupils = linked["school_pupil"]
    school = {n: attach_school_person(tables[n], pupils) for n in SCHOOL_CHILD_TABLES}
    census = build_census_events(pupils, school["school_address"])
    from features.health import build_admission_events, build_ae_events

    return {
        "census": census,
        "attendance": build_attendance_events(pupils, school["school_attendance"]),
        "exclusion": build_exclusion_events(school["school_exclusion"]),
        "school_move": build_school_move_events(census),
        "fsm": build_fsm_events(school["school_fsm"]),
        "ks2": build_ks2_events(linked["ks2"]),
        "referral": build_referral_events(linked["cin_episode"]),
        "assessment": build_assessment_events(linked["cin_assessment"]),
        "cp_plan": build_cp_plan_events(linked["cin_cp_plan"]),
        "care": build_care_events(linked["cla_episode"]),
        "early_help": build_early_help_events(linked["early_help"]),
        "ae": build_ae_events(linked["ae_attendance"]),
        "admission": build_admission_events(linked["hes_admission"]),
        "nccis": build_nccis_events(linked["nccis_activity"]),
        "person": build_person_attributes(linked),
    }


def build_person_attributes(linked: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Time-invariant attributes per person: ``person_id, birth_year, birth_month, sex, ethnicity_group``.

    Each attribute is taken from the first source that holds it, in the order school (latest census),
    health, social care, SSDA903, CIN, NCCIS; ``U``/``Unknown`` count as not holding it.
    """
    order = ["school_pupil", "nhs_patient", "csc_person", "cla_header", "cin_child", "nccis_activity"]
    cols = ["birth_year", "birth_month", "sex", "ethnicity_group"]
    frames = []
    for rank, name in enumerate(order):
        if name not in linked:
            continue
        frame = linked[name]
        if "census_date" in frame.columns:
            frame = frame.sort_values("census_date", ascending=False)
        part = frame[["person_id", *[c for c in cols if c in frame.columns]]].copy()
        part["_rank"] = rank
        frames.append(part)
    stacked = pd.concat(frames, ignore_index=True).sort_values("_rank", kind="stable")
    stacked["sex"] = stacked["sex"].where(stacked["sex"].isin(["M", "F"]))
    stacked["ethnicity_group"] = stacked["ethnicity_group"].where(stacked["ethnicity_group"] != "Unknown")
    out = stacked.groupby("person_id")[cols].first().reset_index()
    out["sex"] = out["sex"].fillna("U")
    out["ethnicity_group"] = out["ethnicity_group"].fillna("Unknown")
    return out
