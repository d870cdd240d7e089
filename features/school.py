"""School features: attendance, absence, suspensions, exclusions, moves, SEN, FSM and KS2.

Each feature is declared with its DuckDB aggregate over one event domain of ``features.events``
(``e`` = events strictly before the index date, ``c`` = the cohort row; ``W12``/``W36`` windows).
"""

from __future__ import annotations

from features.feature import Feature
from features.window import OPEN_AT_INDEX, W12, W36

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
            f"CASE {_SEN_LATEST} WHEN 'E' THEN 'ehcp' WHEN 'K' THEN 'support' WHEN 'N' THEN 'none' END"),
    Feature("sen_support_ever", "Ever recorded with SEN support at a school census", CENSUS, "ever", "binary",
            "model", "school", "census", "CAST(bool_or(e.sen_provision = 'K') AS INTEGER)", 0),
    Feature("ehcp_ever", "Ever recorded with an education, health and care (EHC) plan", CENSUS, "ever", "binary",
            "model", "school", "census", "CAST(bool_or(e.sen_provision = 'E') AS INTEGER)", 0),
)

FSM_FEATURES = (
    Feature("fsm_now", "Eligible for free school meals on the index date", CENSUS, "now", "binary", "model",
            "school", "fsm", f"CAST(bool_or({OPEN_AT_INDEX.replace('end_date', 'fsm_end')}) AS INTEGER)", 0),
    Feature("fsm_6y", "Eligible for free school meals at any time in the last 6 years (FSM6)", CENSUS, "6y",
            "binary", "model", "school", "fsm",
            "CAST(bool_or(e.fsm_end IS NULL OR e.fsm_end >= c.index_date - INTERVAL 72 MONTH) AS INTEGER)", 0),
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

SCHOOL_FEATURES = (*ATTENDANCE_FEATURES, *EXCLUSION_FEATURES, *MOVE_FEATURES, *SEN_FEATURES, *FSM_FEATURES,
                   *KS2_FEATURES)
