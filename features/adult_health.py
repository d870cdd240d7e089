"""Adults' hospital features: admissions counted as spells, emergency care (ECDS) and outpatients.

Admissions are counted as continuous inpatient spells built from the HES episodes
(``pipeline.sources.hes_spells``), never as episode rows: a long stay under several consultants is one
admission. A spell is dated by its admission; whether it finished (known only later) is not read, so a
spell still open on the index date counts as the admission it already was.

ECDS attendances are unplanned when the department type is 01-04, the attendance category is not a
planned follow-up (4) and the patient was not dead on arrival (the NHSE definition, DOMAIN_ADULTS.md §2.3).
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder
from features.feature import Feature
from features.window import W12
from pipeline.sources import codes
from pipeline.sources.hes_spells import continuous_spells

HES = "HES admitted care (spells)"
ECDS = "Emergency Care Data Set"
OP = "HES outpatients"
W24 = "e.event_date >= c.index_date - INTERVAL 24 MONTH"
ELECTIVE_METHODS = ("11", "12", "13")
CARE_HOME_DESTINATIONS = ("54", "65", "85")
HIGH_ACUITY = tuple(code for code, label in codes.ECDS_ACUITY.items() if label in ("immediate", "very_urgent"))
ATTENDED = ("5", "6")  # HES ATTENDED: seen (on time, or late but seen)
NOT_ATTENDED = ("3", "7")  # did not attend; arrived late and not seen

SPELL_TABLE_COLUMNS = ("epikey_tok", "admission_date", "discharge_date", "admission_method", "episode_order",
                       "episode_start", "episode_end", "admission_source", "discharge_method",
                       "discharge_destination", "diag_01")


def episodes_as_spells(episodes: pd.DataFrame) -> pd.DataFrame:
    """Continuous inpatient spells of linked HES episodes.

    Args:
        episodes: linked ``hes_admission`` rows: ``person_id`` and ``SPELL_TABLE_COLUMNS`` (``epikey_tok``
            or ``epikey``; the episode columns may be absent in a children-only file).

    Returns:
        ``person_id, event_date (admission), emergency, elective, died, to_care_home`` (0/1 each) and
        ``discharge_date``, one row per continuous spell.
    """
    rows = episodes.rename(columns={"epikey_tok": "epikey"})
    if rows.empty:
        return pd.DataFrame({"person_id": pd.Series(dtype="str"), "event_date": pd.Series(dtype="datetime64[s]"),
                             **{c: pd.Series(dtype="int8") for c in ("emergency", "elective", "died",
                                                                       "to_care_home")},
                             "discharge_date": pd.Series(dtype="datetime64[s]")})
    spells = continuous_spells(rows, person="person_id")
    out = spells[["person_id"]].assign(event_date=pd.to_datetime(spells["admission_date"]))
    out["emergency"] = spells["emergency"].astype("int8")
    out["elective"] = spells["admission_method"].isin(ELECTIVE_METHODS).astype("int8")
    out["died"] = spells["died"].astype("int8")
    out["to_care_home"] = spells["discharge_destination"].isin(CARE_HOME_DESTINATIONS).astype("int8")
    # known only once the stay ends: read it by this date, never by the admission's (features.adult_population)
    out["discharge_date"] = pd.to_datetime(spells["discharge_date"])
    return out.dropna(subset=["event_date"]).reset_index(drop=True)


@event_builder("hes_spell", source="health", tables={"hes_admission": SPELL_TABLE_COLUMNS})
def build_spell_events(episodes: pd.DataFrame) -> pd.DataFrame:
    """One event per continuous inpatient spell (:func:`episodes_as_spells`)."""
    return episodes_as_spells(episodes)


@event_builder("ecds", source="health", tables={"ecds_attendance": (
    "arrival_date", "department_type", "attendance_category", "acuity", "discharge_status", "discharge_destination")})
def build_ecds_events(attendances: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (arrival), unplanned, high_acuity, to_care_home`` (0/1; discharged to a
    residential or nursing home)."""
    out = attendances.rename(columns={"arrival_date": "event_date"})[["person_id", "event_date"]].copy()
    unplanned = (attendances["department_type"].isin(sorted(codes.ECDS_DEPARTMENT_TYPE))
                 & attendances["attendance_category"].astype("str").ne("4")
                 & attendances["discharge_status"].astype("str").ne(codes.ECDS_DEAD_ON_ARRIVAL))
    out["unplanned"] = unplanned.fillna(False).astype("int8")
    out["high_acuity"] = attendances["acuity"].isin(HIGH_ACUITY).fillna(False).astype("int8")
    homes = [*codes.ECDS_DISCHARGE_DESTINATION["residential_home"], *codes.ECDS_DISCHARGE_DESTINATION["nursing_home"]]
    out["to_care_home"] = attendances["discharge_destination"].isin(homes).fillna(False).astype("int8")
    return out.dropna(subset=["event_date"])


@event_builder("outpatient", source="health", tables={"hes_outpatient": ("appointment_date", "attended")})
def build_outpatient_events(appointments: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (appointment), attended, missed`` (0/1)."""
    out = appointments.rename(columns={"appointment_date": "event_date"})[["person_id", "event_date"]].copy()
    attended = appointments["attended"].astype("str")
    out["attended"] = attended.isin(ATTENDED).astype("int8")
    out["missed"] = attended.isin(NOT_ATTENDED).astype("int8")
    return out.dropna(subset=["event_date"])


def _count(name: str, description: str, source: str, domain: str, where: str, window: str) -> Feature:
    return Feature(name, description, source, window, "numeric", "model", "adult_health", domain,
                   f"count(*) FILTER (WHERE {where})", 0)


FEATURES = (
    _count("emergency_spells_12m", "Emergency hospital admissions (stays), last 12 months", HES, "hes_spell",
           f"e.emergency = 1 AND {W12}", "12m"),
    _count("emergency_spells_24m", "Emergency hospital admissions (stays), last 2 years", HES, "hes_spell",
           f"e.emergency = 1 AND {W24}", "24m"),
    _count("emergency_spells_ever", "Emergency hospital admissions (stays), ever", HES, "hes_spell",
           "e.emergency = 1", "ever"),
    _count("elective_spells_24m", "Planned hospital admissions, last 2 years", HES, "hes_spell",
           f"e.elective = 1 AND {W24}", "24m"),
    _count("discharges_to_care_home_ever", "Hospital stays ending in a move to a care home, ever", HES, "hes_spell",
           "e.to_care_home = 1 AND e.discharge_date < c.index_date", "ever"),
    Feature("months_since_emergency_spell", "Months since the last emergency admission (blank = none)", HES,
            "latest", "numeric", "model", "adult_health", "hes_spell",
            "date_diff('month', max(e.event_date) FILTER (WHERE e.emergency = 1), c.index_date)"),
    _count("ed_attendances_12m", "Unplanned emergency department attendances, last 12 months", ECDS, "ecds",
           f"e.unplanned = 1 AND {W12}", "12m"),
    _count("ed_attendances_24m", "Unplanned emergency department attendances, last 2 years", ECDS, "ecds",
           f"e.unplanned = 1 AND {W24}", "24m"),
    _count("ed_high_acuity_24m", "Emergency department attendances triaged immediate or very urgent, last 2 years",
           ECDS, "ecds", f"e.high_acuity = 1 AND {W24}", "24m"),
    _count("outpatient_attended_12m", "Outpatient appointments attended, last 12 months", OP, "outpatient",
           f"e.attended = 1 AND {W12}", "12m"),
    _count("outpatient_missed_12m", "Outpatient appointments missed, last 12 months", OP, "outpatient",
           f"e.missed = 1 AND {W12}", "12m"),
)
