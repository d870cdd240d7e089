"""The school source's events and features: attendance, absence, suspensions, exclusions, moves, SEN,
FSM and KS2.

Event builders (``features.event_registry``) turn the linked school census tables and KS2 into dated
event frames; each feature is declared with its DuckDB aggregate over one event domain (``e`` = events
strictly before the index date, ``c`` = the cohort row; ``W12``/``W36`` windows). The census child tables
(attendance, exclusions, FSM, SEN needs, addresses) have no UPN: they reach a person through the pupil's
census record.
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder, link_through, person_attributes
from features.feature import Feature
from features.window import OPEN_AT_INDEX, W12, W36

AUTHORISED_ABSENCE = frozenset({"C", "C1", "C2", "E", "H", "I", "J1", "M", "R", "S", "T"})
UNAUTHORISED_ABSENCE = frozenset({"G", "N", "O", "U"})
PUPIL_RECORD = ("census_date", "pupil_record_id_tok")

link_through("school_pupil", on=PUPIL_RECORD, tables=(
    "school_attendance", "school_exclusion", "school_fsm", "school_sen_need", "school_address"))
# the census is collected from parents every year: trusted before the other sources' demographics
person_attributes("school_pupil", trust=10, latest_by="census_date")


@event_builder("census", source="school", record=True, address=True, tables={
    "school_pupil": (*PUPIL_RECORD, "nc_year", "sen_provision", "school_id", "entry_date"),
    "school_address": (*PUPIL_RECORD, "lsoa_imd_decile"),
})
def build_census_events(pupils: pd.DataFrame, addresses: pd.DataFrame) -> pd.DataFrame:
    """One row per person per census (dated on census day): ``person_id, event_date, nc_year, sen_provision,
    school_id, entry_date, imd_decile``."""
    imd = addresses.groupby(list(PUPIL_RECORD), as_index=False)["lsoa_imd_decile"].first()
    out = pupils.merge(imd, on=list(PUPIL_RECORD), how="left")
    out = out.rename(columns={"census_date": "event_date", "lsoa_imd_decile": "imd_decile"})
    cols = ["person_id", "event_date", "nc_year", "sen_provision", "school_id", "entry_date", "imd_decile"]
    return out[cols].sort_values(["person_id", "event_date"]).drop_duplicates(["person_id", "event_date"])


@event_builder("attendance", source="school", tables={
    "school_pupil": ("census_date", "sessions_possible"),
    "school_attendance": ("census_date", "reason", "sessions"),
})
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


@event_builder("exclusion", source="school", tables={"school_exclusion": ("start_date", "sessions", "category")})
def build_exclusion_events(exclusions: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (start), sessions, category``; one row per exclusion across censuses."""
    out = exclusions.rename(columns={"start_date": "event_date"})
    out = out.dropna(subset=["event_date"]).drop_duplicates(["person_id", "event_date", "category"])
    return out[["person_id", "event_date", "sessions", "category"]].astype({"sessions": "float64"})


@event_builder("school_move", source="school", events=("census",))
def build_school_move_events(census: pd.DataFrame) -> pd.DataFrame:
    """Mid-year school moves: ``person_id, event_date (entry date)`` of each school joined after the
    first, outside the July-September transfer season (from the ``census`` events)."""
    spells = census.dropna(subset=["entry_date"]).drop_duplicates(["person_id", "school_id", "entry_date"])
    spells = spells.sort_values(["person_id", "entry_date"])
    later = spells["person_id"].duplicated()
    mid_year = ~spells["entry_date"].dt.month.isin([7, 8, 9])
    return spells.loc[later & mid_year, ["person_id", "entry_date"]].rename(columns={"entry_date": "event_date"})


@event_builder("fsm", source="school", tables={"school_fsm": ("census_date", "fsm_start", "fsm_end")})
def build_fsm_events(fsm: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (FSM start), fsm_end``, each period as recorded by its latest census."""
    out = fsm.sort_values("census_date").drop_duplicates(["person_id", "fsm_start"], keep="last")
    return out.rename(columns={"fsm_start": "event_date"})[["person_id", "event_date", "fsm_end"]].dropna(
        subset=["event_date"]
    )


@event_builder("ks2", source="school", tables={"ks2": ("acad_year", "read_mark", "mat_mark")})
def build_ks2_events(ks2: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (1 July of the year sat), read_mark, mat_mark`` (floats)."""
    end_year = ks2["acad_year"].astype("str").str.slice(5, 9)
    out = ks2.assign(event_date=pd.to_datetime(end_year + "-07-01", errors="coerce"))
    out = out.dropna(subset=["event_date"]).astype({"read_mark": "float64", "mat_mark": "float64"})
    return out[["person_id", "event_date", "read_mark", "mat_mark"]]


CENSUS = "school census"


def _absence_rate(columns: str, window: str) -> str:
    return f"sum({columns}) FILTER (WHERE {window}) / sum(e.sessions_possible) FILTER (WHERE {window})"


def _attendance(name: str, description: str, sql: str, window: str, kind: str = "numeric", fill=None) -> Feature:
    return Feature(name, description, CENSUS, window, kind, "model", "school", "attendance", sql, fill)


_ALL = "e.authorised + e.unauthorised"
_PERSISTENT = "(e.authorised + e.unauthorised) / e.sessions_possible >= 0.10"

ATTENDANCE_FEATURES = (
    _attendance("attendance_rate_12m", "Share of possible school sessions attended, last 12 months",
                f"1 - {_absence_rate(_ALL, W12)}", "12m"),
    _attendance("attendance_rate_36m", "Share of possible school sessions attended, last 3 years",
                f"1 - {_absence_rate(_ALL, W36)}", "36m"),
    _attendance("unauthorised_absence_rate_12m", "Share of possible sessions missed without authorisation, "
                "last 12 months", _absence_rate("e.unauthorised", W12), "12m"),
    _attendance("unauthorised_absence_rate_36m", "Share of possible sessions missed without authorisation, "
                "last 3 years", _absence_rate("e.unauthorised", W36), "36m"),
    _attendance("persistent_absence_12m", "Persistently absent (missed 10% or more of sessions), last 12 months",
                f"CAST(bool_or({_PERSISTENT}) FILTER (WHERE {W12}) AS INTEGER)", "12m", "binary"),
    _attendance("persistent_absence_terms_ever", "Number of recorded terms with persistent absence (10%+ missed)",
                f"count(*) FILTER (WHERE {_PERSISTENT})", "ever", fill=0),
)

_SUSPENSION = "e.category IN ('FIXD', 'LNCH')"


def _exclusion(name: str, description: str, sql: str, window: str, kind: str = "numeric") -> Feature:
    return Feature(name, description, CENSUS, window, kind, "model", "school", "exclusion", sql, 0)


EXCLUSION_FEATURES = (
    _exclusion("suspensions_12m", "Number of suspensions (fixed-period exclusions), last 12 months",
               f"count(*) FILTER (WHERE {_SUSPENSION} AND {W12})", "12m"),
    _exclusion("suspensions_36m", "Number of suspensions, last 3 years",
               f"count(*) FILTER (WHERE {_SUSPENSION} AND {W36})", "36m"),
    _exclusion("suspensions_ever", "Number of suspensions ever recorded",
               f"count(*) FILTER (WHERE {_SUSPENSION})", "ever"),
    _exclusion("suspension_sessions_12m", "School sessions lost to suspensions, last 12 months",
               f"coalesce(sum(e.sessions) FILTER (WHERE {_SUSPENSION} AND {W12}), 0)", "12m"),
    _exclusion("suspension_sessions_36m", "School sessions lost to suspensions, last 3 years",
               f"coalesce(sum(e.sessions) FILTER (WHERE {_SUSPENSION} AND {W36}), 0)", "36m"),
    _exclusion("permanent_exclusion_ever", "Ever permanently excluded from a school",
               "CAST(bool_or(e.category = 'PERM') AS INTEGER)", "ever", "binary"),
)

MOVE_FEATURES = (
    Feature("school_moves_midyear_36m", "Number of school changes outside the usual September start, last 3 years",
            CENSUS, "36m", "numeric", "model", "school", "school_move", f"count(*) FILTER (WHERE {W36})", 0),
    Feature("school_moves_midyear_ever", "Number of school changes outside the usual September start, ever",
            CENSUS, "ever", "numeric", "model", "school", "school_move", "count(*)", 0),
)

_SEN_LATEST = "arg_max(e.sen_provision, e.event_date)"
SEN_FEATURES = (
    Feature("sen_status", "Special educational needs at the latest school census: none, SEN support or EHC plan",
            CENSUS, "latest", "categorical", "model", "school", "census",
            f"CASE {_SEN_LATEST} WHEN 'E' THEN 'ehcp' WHEN 'K' THEN 'support' WHEN 'N' THEN 'none' END",
            proxy_for=("disability",)),
    Feature("sen_support_ever", "Ever recorded with SEN support at a school census", CENSUS, "ever", "binary",
            "model", "school", "census", "CAST(bool_or(e.sen_provision = 'K') AS INTEGER)", 0,
            proxy_for=("disability",)),
    Feature("ehcp_ever", "Ever recorded with an education, health and care (EHC) plan", CENSUS, "ever", "binary",
            "model", "school", "census", "CAST(bool_or(e.sen_provision = 'E') AS INTEGER)", 0,
            proxy_for=("disability",)),
)

FSM_FEATURES = (
    Feature("fsm_now", "Eligible for free school meals on the index date", CENSUS, "now", "binary", "model",
            "school", "fsm", f"CAST(bool_or({OPEN_AT_INDEX.replace('end_date', 'fsm_end')}) AS INTEGER)", 0,
            proxy_for=("poverty",)),
    Feature("fsm_6y", "Eligible for free school meals at any time in the last 6 years (FSM6)", CENSUS, "6y",
            "binary", "model", "school", "fsm",
            "CAST(bool_or(e.fsm_end IS NULL OR e.fsm_end >= c.index_date - INTERVAL 72 MONTH) AS INTEGER)", 0,
            proxy_for=("poverty",)),
)

KS2_FEATURES = (
    Feature("ks2_reading_score", "Key stage 2 reading scaled score (80-120)", "KS2", "latest", "numeric", "model",
            "school", "ks2", "arg_max(e.read_mark, e.event_date)"),
    Feature("ks2_maths_score", "Key stage 2 maths scaled score (80-120)", "KS2", "latest", "numeric", "model",
            "school", "ks2", "arg_max(e.mat_mark, e.event_date)"),
    Feature("ks2_reading_missing", "No key stage 2 reading score on record", "KS2", "latest", "binary", "model",
            "school", "ks2", "CAST(arg_max(e.read_mark, e.event_date) IS NULL AS INTEGER)", 1),
    Feature("ks2_maths_missing", "No key stage 2 maths score on record", "KS2", "latest", "binary", "model",
            "school", "ks2", "CAST(arg_max(e.mat_mark, e.event_date) IS NULL AS INTEGER)", 1),
)

FEATURES = (*ATTENDANCE_FEATURES, *EXCLUSION_FEATURES, *MOVE_FEATURES, *SEN_FEATURES, *FSM_FEATURES,
            *KS2_FEATURES)
