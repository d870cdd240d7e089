"""Children's social care events and features: referrals, assessment factors, CP plans, care, early help.

Event builders (``features.event_registry``) turn the linked CIN census, SSDA903 and early help tables
into dated event frames; each feature is declared with its DuckDB aggregate over one event domain
(``e`` = events strictly before the index date, ``c`` = the cohort row). "Open at the index date"
means started before it and not ended by it; an end date after the index date only says "still open".
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder, person_attributes
from features.feature import Feature
from features.window import MONTHS_SINCE_LAST, OPEN_AT_INDEX, W12, W36

# after the school census and NHS demographics: the case-management record first, then the returns
person_attributes("csc_person", trust=30)
person_attributes("cla_header", trust=31)
person_attributes("cin_child", trust=32)


@event_builder("referral", source="social_care", record=True, end_column="closure_date", tables={
    "cin_episode": ("collection_year", "referral_date", "referral_source", "closure_date")})
def build_referral_events(episodes: pd.DataFrame) -> pd.DataFrame:
    """CIN episodes, one per referral (as the latest collection records it): ``person_id, event_date
    (referral), referral_source, closure_date``."""
    out = episodes.sort_values("collection_year").drop_duplicates(["person_id", "referral_date"], keep="last")
    out = out.rename(columns={"referral_date": "event_date"}).dropna(subset=["event_date"])
    return out[["person_id", "event_date", "referral_source", "closure_date"]]


@event_builder("assessment", source="social_care", record=True, tables={
    "cin_assessment": ("assessment_start", "assessment_authorised", "factors")})
def build_assessment_events(assessments: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (authorised, else start), factors`` (";"-joined codes, padded with ";")."""
    out = assessments.assign(event_date=assessments["assessment_authorised"].fillna(assessments["assessment_start"]))
    out = out.dropna(subset=["event_date"]).drop_duplicates(["person_id", "assessment_start", "event_date"])
    out["factors"] = ";" + out["factors"].fillna("").astype("str") + ";"
    return out[["person_id", "event_date", "factors"]]


@event_builder("cp_plan", source="social_care", record=True, end_column="cpp_end", tables={
    "cin_cp_plan": ("collection_year", "cpp_start", "cpp_end", "initial_category")})
def build_cp_plan_events(plans: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (plan start), cpp_end, category`` (initial category of abuse)."""
    out = plans.sort_values("collection_year").drop_duplicates(["person_id", "cpp_start"], keep="last")
    out = out.rename(columns={"cpp_start": "event_date", "initial_category": "category"})
    return out.dropna(subset=["event_date"])[["person_id", "event_date", "cpp_end", "category"]]


@event_builder("care", source="social_care", record=True, end_column="end_date", tables={
    "cla_episode": ("collection_year", "start_date", "rne", "end_date")})
def build_care_events(episodes: pd.DataFrame) -> pd.DataFrame:
    """Looked-after episodes: ``person_id, event_date (start), end_date, new_period``.

    ``new_period`` is 1 when the episode starts a new period of care: the SSDA903 reason for new episode
    is ``S``, or it is missing and no earlier episode of the child ends on the day this one starts (an
    episode that only changes placement or legal status, RNE P L T U B, continues the period).
    """
    out = episodes.sort_values("collection_year").drop_duplicates(["person_id", "start_date"], keep="last")
    out = out.rename(columns={"start_date": "event_date"}).dropna(subset=["event_date"])
    rne = out["rne"].astype("str").str.strip().str.upper().where(out["rne"].notna())
    ends = pd.MultiIndex.from_frame(out.dropna(subset=["end_date"])[["person_id", "end_date"]])
    continues = pd.MultiIndex.from_frame(out[["person_id", "event_date"]]).isin(ends)
    out["new_period"] = ((rne == "S") | (rne.isna() & ~continues)).astype("int8")
    return out[["person_id", "event_date", "end_date", "new_period"]]


@event_builder("early_help", source="social_care", record=True, end_column="end_date",
               tables={"early_help": ("start_date", "end_date")})
def build_early_help_events(early_help: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (start), end_date``."""
    out = early_help.rename(columns={"start_date": "event_date"}).dropna(subset=["event_date"])
    return out[["person_id", "event_date", "end_date"]]


CIN = "CIN census"
SSDA903 = "SSDA903"
EARLY_HELP = "early help"

# CIN census assessment factor codes (DOMAIN.md); the toxic trio is parental domestic violence,
# parental mental health and parental substance misuse.
FACTOR_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "domestic_violence_parent": (("3B",), "parental domestic violence"),
    "mental_health_parent": (("4B",), "parental mental health"),
    "substance_misuse_parent": (("1B", "2B"), "parental alcohol or drug misuse"),
    "mental_health_child": (("4A",), "the child's own mental health"),
    "substance_misuse_child": (("1A", "2A"), "the child's own alcohol or drug misuse"),
    "neglect": (("16A",), "neglect"),
    "emotional_abuse": (("17A",), "emotional abuse"),
    "physical_or_sexual_abuse": (("18B", "18C", "19B", "19C"), "physical or sexual abuse"),
    "exploitation_or_missing": (("10A", "11A", "13A", "24A"), "going missing, sexual or criminal exploitation, gangs"),
    "behaviour_or_self_harm": (("14A", "15A"), "socially unacceptable behaviour or self-harm"),
}
TOXIC_TRIO = ("domestic_violence_parent", "mental_health_parent", "substance_misuse_parent")


def has_factor(codes: tuple[str, ...]) -> str:
    """SQL: the assessment's ``;``-padded factor list holds any of ``codes``."""
    return "(" + " OR ".join(f"contains(e.factors, ';{code};')" for code in codes) + ")"


def _factor_feature(group: str) -> Feature:
    codes, words = FACTOR_GROUPS[group]
    return Feature(f"factor_{group}_ever", f"A social care assessment has recorded {words}", CIN, "ever",
                   "binary", "model", "social_care", "assessment", f"CAST(bool_or({has_factor(codes)}) AS INTEGER)", 0)


_TRIO_COUNT = " + ".join(
    f"CAST(coalesce(bool_or({has_factor(FACTOR_GROUPS[g][0])}), false) AS INTEGER)" for g in TOXIC_TRIO
)

REFERRAL_FEATURES = (
    Feature("referrals_12m", "Referrals to children's social care, last 12 months", CIN, "12m", "numeric", "model",
            "social_care", "referral", f"count(*) FILTER (WHERE {W12})", 0),
    Feature("referrals_36m", "Referrals to children's social care, last 3 years", CIN, "36m", "numeric", "model",
            "social_care", "referral", f"count(*) FILTER (WHERE {W36})", 0),
    Feature("referrals_ever", "Referrals to children's social care, ever", CIN, "ever", "numeric", "model",
            "social_care", "referral", "count(*)", 0),
    Feature("months_since_referral", "Months since the latest referral to children's social care", CIN, "latest",
            "numeric", "model", "social_care", "referral", MONTHS_SINCE_LAST),
    Feature("referral_source_latest", "Who made the latest referral (CIN census referral source code)", CIN,
            "latest", "categorical", "model", "social_care", "referral", "arg_max(e.referral_source, e.event_date)"),
    Feature("cin_open_now", "A child-in-need episode is open on the index date", CIN, "now", "binary", "model",
            "social_care", "referral",
            f"CAST(bool_or({OPEN_AT_INDEX.replace('end_date', 'closure_date')}) AS INTEGER)", 0),
)

ASSESSMENT_FEATURES = (
    Feature("assessments_36m", "Social care assessments completed, last 3 years", CIN, "36m", "numeric", "model",
            "social_care", "assessment", f"count(*) FILTER (WHERE {W36})", 0),
    *(_factor_feature(g) for g in FACTOR_GROUPS),
    Feature("toxic_trio_factors_ever", "How many of the 'toxic trio' (parental domestic violence, mental health, "
            "substance misuse) assessments have recorded (0-3)", CIN, "ever", "numeric", "model", "social_care",
            "assessment", _TRIO_COUNT, 0),
)

CP_FEATURES = (
    Feature("cp_plan_ever", "Ever subject to a child protection plan", CIN, "ever", "binary", "model",
            "social_care", "cp_plan", "1", 0),
    Feature("cp_plan_now", "Subject to a child protection plan on the index date", CIN, "now", "binary", "model",
            "social_care", "cp_plan", f"CAST(bool_or({OPEN_AT_INDEX.replace('end_date', 'cpp_end')}) AS INTEGER)", 0),
    Feature("cp_plans_36m", "Child protection plans started, last 3 years", CIN, "36m", "numeric", "model",
            "social_care", "cp_plan", f"count(*) FILTER (WHERE {W36})", 0),
    Feature("cp_category_latest", "Category of abuse of the latest child protection plan (NEG, PHY, SAB, EMO, MUL)",
            CIN, "latest", "categorical", "model", "social_care", "cp_plan", "arg_max(e.category, e.event_date)",
            show_on_list=False),
)

CARE_FEATURES = (
    Feature("care_ever", "Ever looked after by the local authority", SSDA903, "ever", "binary", "model",
            "social_care", "care", "1", 0),
    Feature("care_periods_ever", "Number of separate periods in care", SSDA903, "ever", "numeric", "model",
            "social_care", "care", "greatest(sum(e.new_period), 1)", 0),
    Feature("months_since_care_ended", "Months since the child last left care", SSDA903, "latest", "numeric",
            "model", "social_care", "care",
            "date_diff('month', max(e.end_date) FILTER (WHERE e.end_date <= c.index_date), c.index_date)"),
)

EARLY_HELP_FEATURES = (
    Feature("early_help_12m", "Early help episodes started, last 12 months", EARLY_HELP, "12m", "numeric", "model",
            "social_care", "early_help", f"count(*) FILTER (WHERE {W12})", 0),
    Feature("early_help_ever", "Early help episodes, ever", EARLY_HELP, "ever", "numeric", "model",
            "social_care", "early_help", "count(*)", 0),
    Feature("early_help_now", "An early help episode is open on the index date", EARLY_HELP, "now", "binary",
            "model", "social_care", "early_help", f"CAST(bool_or({OPEN_AT_INDEX}) AS INTEGER)", 0),
)

FEATURES = (*REFERRAL_FEATURES, *ASSESSMENT_FEATURES, *CP_FEATURES, *CARE_FEATURES, *EARLY_HELP_FEATURES)
