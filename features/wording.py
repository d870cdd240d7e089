"""How each feature reads on a risk list: its direction and a plain-English phrasing template.

A list's reasons are written from these (``pipeline.lists.explanations``): "missed 14% of sessions without
authorisation in the last 3 years; county average 4%". Each ``Wording`` sits beside the feature's
``description`` (``features/<source>.py``) by name; a feature without one still reads, from its
description, with no known direction.

``direction`` says how practitioners read the fact, so a model contribution the other way round is never
shown as a strength:

- ``risk``: more of it reads as more risk (absence, suspensions, referrals, child protection, A&E). Shown as
  a reason only when the child is above the county average; never shown as protective.
- ``strength``: more of it reads as less risk (attendance, key stage 2 scores, a less deprived area). A
  reason when below the county average, protective when above.
- ``recency``: months since something happened (sooner reads as more risk). A reason only when it happened
  sooner than the county average; never protective (a long gap, or no record, is not evidence of safety).
- ``either``: no agreed reading (age, SEN status); shown the way the model leans.

A category (who referred) declared ``risk`` is a reason while it has a value and never protective.

A suggestion for the model (``models/``): LightGBM's ``monotone_constraints`` could be set +1 for ``risk``,
-1 for ``strength`` and ``recency`` features, so contributions rarely run the wrong way at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from features.feature import Feature

Direction = Literal["risk", "strength", "recency", "either"]
Unit = Literal["share", "count", "months", "score", "flag", "category", "age"]
DIRECTIONS: tuple[Direction, ...] = ("risk", "strength", "recency", "either")


@dataclass(frozen=True)
class Wording:
    """How one feature reads on a list.

    Attributes:
        direction: how practitioners read it (module docstring).
        says: the phrase, ``{value}`` standing for the child's value ("missed {value} of sessions ..."); for a
            flag, the phrase when it holds. Empty: the feature's description is used.
        unit: how the value and the county average are written: ``share`` (0-1, as a percentage), ``count``
            (with ``noun``), ``months``, ``score``, ``flag`` (0/1), ``category`` (text) or ``age`` (months).
        noun: what a count counts ("time" reads once, twice, 3 times; "term" reads 1 term, 2 terms).
        says_no: a flag's phrase when it does not hold.
        categories: a category's code -> words.
        says_missing: the phrase when there is no value (never referred, no census record); empty: "not
            recorded".
    """

    direction: Direction
    says: str = ""
    unit: Unit = "count"
    noun: str = ""
    says_no: str = ""
    categories: Mapping[str, str] = field(default_factory=dict)
    says_missing: str = ""

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r} is not one of {DIRECTIONS}")
        if self.says and self.unit != "flag" and "{value}" not in self.says:
            raise ValueError(f"wording {self.says!r} has no {{value}}")


def _times(says: str) -> Wording:
    return Wording("risk", says, "count", "time")


def _flag(says: str, says_no: str, direction: Direction = "risk") -> Wording:
    return Wording(direction, says, "flag", says_no=says_no)


def _windows(name: str, make, says: str) -> dict[str, Wording]:
    """One wording per window of ``name`` (``_12m``, ``_36m``, ``_ever``), ``{window}`` in ``says``."""
    spans = {"12m": "in the last 12 months", "36m": "in the last 3 years", "ever": "so far"}
    return {f"{name}_{w}": make(says.replace("{window}", words)) for w, words in spans.items()}


# CIN census referral source codes (pipeline/sources/xsd/CIN_schema_2026.xsd)
REFERRAL_SOURCES = {
    "1A": "a family member, relative or carer", "1B": "an acquaintance or neighbour", "1C": "the child",
    "1D": "another individual", "2A": "a school", "2B": "education services", "3A": "a GP",
    "3B": "a health visitor", "3C": "a school nurse", "3D": "other primary health services", "3E": "A&E",
    "3F": "other health services", "4": "housing", "5A": "council social care (for example adult services)",
    "5B": "another council service (for example youth offending)", "5C": "another council's services",
    "5D": "early help", "6": "the police", "7": "a court, probation or another legal agency",
    "8": "a children's centre, voluntary or independent organisation", "9": "an anonymous referrer",
    "10": "an unknown source",
}

SCHOOL_WORDING = {
    "attendance_rate_12m": Wording("strength", "attended {value} of possible school sessions in the last 12 months",
                                   "share"),
    "attendance_rate_36m": Wording("strength", "attended {value} of possible school sessions in the last 3 years",
                                   "share"),
    "unauthorised_absence_rate_12m": Wording(
        "risk", "missed {value} of sessions without authorisation in the last 12 months", "share"),
    "unauthorised_absence_rate_36m": Wording(
        "risk", "missed {value} of sessions without authorisation in the last 3 years", "share"),
    "persistent_absence_12m": _flag("persistently absent (missed 10% or more of sessions) in the last 12 months",
                                    "not persistently absent in the last 12 months"),
    "persistent_absence_terms_ever": Wording("risk", "persistently absent (missed 10% or more) for {value} so far",
                                             "count", "term"),
    **_windows("suspensions", _times, "suspended from school {value} {window}"),
    "suspension_sessions_12m": Wording("risk", "lost {value} to suspensions in the last 12 months", "count",
                                       "school session"),
    "suspension_sessions_36m": Wording("risk", "lost {value} to suspensions in the last 3 years", "count",
                                       "school session"),
    "permanent_exclusion_ever": _flag("permanently excluded from a school", "never permanently excluded"),
    "school_moves_midyear_36m": _times("changed school outside the usual September start {value} in the last 3 years"),
    "school_moves_midyear_ever": _times("changed school outside the usual September start {value} so far"),
    "sen_status": Wording("either", "{value} at the latest school census", "category", categories={
        "none": "no special educational needs", "support": "SEN support",
        "ehcp": "an education, health and care (EHC) plan"}, says_missing="no school census record of SEN"),
    "sen_support_ever": _flag("has had SEN support at a school census", "never recorded with SEN support", "either"),
    "ehcp_ever": _flag("has had an education, health and care (EHC) plan", "never had an EHC plan", "either"),
    "fsm_now": _flag("eligible for free school meals now", "not eligible for free school meals now"),
    "fsm_6y": _flag("eligible for free school meals at some time in the last 6 years",
                    "not eligible for free school meals in the last 6 years"),
    "ks2_reading_score": Wording("strength", "key stage 2 reading score {value} (scale 80-120)", "score"),
    "ks2_maths_score": Wording("strength", "key stage 2 maths score {value} (scale 80-120)", "score"),
    "ks2_reading_missing": _flag("no key stage 2 reading score on record", "has a key stage 2 reading score"),
    "ks2_maths_missing": _flag("no key stage 2 maths score on record", "has a key stage 2 maths score"),
}

_ASSESSED = "a social care assessment has recorded"
SOCIAL_CARE_WORDING = {
    **_windows("referrals", _times, "referred to children's social care {value} {window}"),
    "months_since_referral": Wording("recency", "last referred to children's social care {value} ago", "months"),
    # who referred shades a referral, which reads as risk: a reason while there is one, never protective
    "referral_source_latest": Wording("risk", "latest referral made by {value}", "category",
                                      categories=REFERRAL_SOURCES, says_missing="never referred to social care"),
    "cin_open_now": _flag("open to children's social care as a child in need now",
                          "not open to children's social care now"),
    "assessments_36m": _times("assessed by children's social care {value} in the last 3 years"),
    **{f"factor_{k}_ever": _flag(f"{_ASSESSED} {words}", f"no assessment has recorded {words}") for k, words in {
        "domestic_violence_parent": "domestic violence between the parents or carers",
        "mental_health_parent": "a parent's or carer's mental health",
        "substance_misuse_parent": "a parent's or carer's alcohol or drug misuse",
        "mental_health_child": "the child's own mental health",
        "substance_misuse_child": "the child's own alcohol or drug misuse",
        "neglect": "neglect",
        "emotional_abuse": "emotional abuse",
        "physical_or_sexual_abuse": "physical or sexual abuse",
        "exploitation_or_missing": "going missing or exploitation",
        "behaviour_or_self_harm": "socially unacceptable behaviour or self-harm",
    }.items()},
    "toxic_trio_factors_ever": Wording("risk", "assessments have recorded {value} of the 3 'toxic trio' factors "
                                       "(domestic violence, mental health, alcohol or drug misuse at home)", "count"),
    "cp_plan_ever": _flag("has been on a child protection plan", "never on a child protection plan"),
    "cp_plan_now": _flag("on a child protection plan now", "not on a child protection plan now"),
    "cp_plans_36m": _times("put on a child protection plan {value} in the last 3 years"),
    "cp_category_latest": Wording("either"),  # special-category detail: never shown (show_on_list=False)
    "care_ever": _flag("has been in the care of the council", "never in care"),
    "care_periods_ever": Wording("risk", "in care for {value}", "count", "separate period"),
    "months_since_care_ended": Wording("recency", "left care {value} ago", "months"),
    "early_help_12m": _times("started early help {value} in the last 12 months"),
    "early_help_ever": Wording("risk", "had {value} of early help so far", "count", "episode"),
    "early_help_now": _flag("receiving early help now", "not receiving early help now"),
}

HEALTH_WORDING = {
    **_windows("ae_attendances", _times, "attended A&E {value} {window}"),
    **_windows("emergency_admissions", _times, "admitted to hospital as an emergency {value} {window}"),
    # special-category detail: never shown (show_on_list=False), but still never read as protective
    **{name: Wording("risk") for name in (
        "ae_adversity_ever", "adversity_admissions_36m", "admissions_self_harm_ever",
        "admissions_assault_maltreatment_ever", "admissions_drug_alcohol_ever", "admissions_undetermined_intent_ever",
        "admissions_adverse_social_ever")},
}

CONTEXT_WORDING = {
    "in_school_12m": _flag("on a school roll in the last 12 months", "not on any school roll in the last 12 months",
                           "strength"),
    "in_school_ever": _flag("has a school census record", "no school census record at all", "strength"),
    "sources_ever": Wording("risk", "known to {value} of the services linked", "count"),
    "age_months": Wording("either", "aged {value}", "age"),
    "imd_decile": Wording("strength", "lives in a neighbourhood in deprivation decile {value} (1 = most deprived)",
                          "score"),
}

# adults' lists (features/adult_*.py) go to GP care coordinators, adult social care prevention teams and Local
# Area Coordinators; a dementia or palliative code is never shown (show_on_list=False) and has no words here
ADULT_WORDING = {
    "asc_requests_12m": _times("asked adult social care for support {value} in the last 12 months"),
    "asc_service_open": _flag("receiving an adult social care service now", "no adult social care service now"),
    "asc_long_term_ever": _flag("has had long-term adult social care support", "no long-term adult social care so far"),
    "asc_carer_ever": _flag("known to adult social care as an unpaid carer", "not known as an unpaid carer"),
    "emergency_spells_12m": _times("admitted to hospital as an emergency {value} in the last 12 months"),
    "emergency_spells_24m": _times("admitted to hospital as an emergency {value} in the last 2 years"),
    "emergency_spells_ever": _times("admitted to hospital as an emergency {value} so far"),
    "elective_spells_24m": _times("had a planned hospital admission {value} in the last 2 years"),
    "discharges_to_care_home_ever": _times("left hospital for a care home {value} so far"),
    "months_since_emergency_spell": Wording("recency", "last admitted as an emergency {value} ago", "months",
                                            says_missing="no emergency admission recorded"),
    "ed_attendances_12m": _times("attended an emergency department {value} in the last 12 months"),
    "ed_attendances_24m": _times("attended an emergency department {value} in the last 2 years"),
    "ed_high_acuity_24m": _times("seen as very urgent in an emergency department {value} in the last 2 years"),
    "outpatient_attended_12m": Wording("either", "attended {value} in the last 12 months", "count",
                                       "outpatient appointment"),
    "outpatient_missed_12m": Wording("risk", "missed {value} in the last 12 months", "count",
                                     "outpatient appointment"),
    "gp_ltc_count": Wording("risk", "has {value} on the GP's registers", "count", "long-term condition"),
    "gp_efi_deficits": Wording("risk", "has {value} of frailty coded by the GP", "count", "sign"),
    "gp_care_home_code": _flag("coded by the GP as living in a care home", "not coded as living in a care home"),
    "gp_carer_code": _flag("coded by the GP as an unpaid carer", "not coded by the GP as a carer"),
    "gp_codes_12m": Wording("risk", "has {value} on the GP record in the last 12 months", "count", "GP code"),
    "medication_sections_12m": Wording("risk", "was issued {value} in the last 12 months", "count",
                                       "medicine type"),
    "medication_issues_12m": Wording("risk", "had {value} in the last 12 months", "count", "medicine issue"),
    "polypharmacy": _flag("takes 5 or more kinds of medicine", "takes fewer than 5 kinds of medicine"),
    "gp_years_registered": Wording("either", "registered with the GP for {value}", "count", "year"),
    "gp_imd_decile": Wording("strength", "lives in a neighbourhood in deprivation decile {value} (1 = most deprived)",
                             "score"),
    # features/adult_household.py: people registered with a GP at the same address (no one else is named)
    "household_size": Wording("either", "lives at an address where {value} people are registered with a GP",
                              "score", says_missing="address not known to the GP record"),
    "household_lives_alone": _flag("lives alone (no one else registered with a GP at the address)",
                                   "lives with others", "risk"),
    "household_communal": _flag("registered at a care home, hostel or other shared address",
                                "registered at a household address"),
    "household_carer": _flag("someone at home is coded as an unpaid carer", "no one at home is coded as a carer",
                             "either"),
    "household_bereaved_12m": _flag("someone at the same address died in the last 12 months",
                                    "no death at the address in the last 12 months"),
}

# the older-carer register (features/ld_register.py) goes to the learning disability team; the carers' health
# (frailty, conditions, dementia, admissions, their own care) is never shown and has no words here but its direction
LD_REGISTER_WORDING = {
    "age": Wording("either", "aged {value}", "count", "year"),
    "sole_carer": _flag("lives with one family carer, no second carer", "lives with two family carers"),
    "carer_age_max": Wording("risk", "the oldest carer at home is aged {value}", "count", "year"),
    "carer_age_min": Wording("risk", "the youngest carer at home is aged {value}", "count", "year"),
    "carer_assessed_ever": _flag("a carer has had a carer's assessment or carer support",
                                 "no carer's assessment or carer support on record", "strength"),
    "carer_own_care_ever": Wording("risk"),
    "person_care_12m": _times("in contact with adult social care {value} in the last 12 months"),
}

WORDING: dict[str, Wording] = {**SCHOOL_WORDING, **SOCIAL_CARE_WORDING, **HEALTH_WORDING, **CONTEXT_WORDING,
                               **ADULT_WORDING, **LD_REGISTER_WORDING}


def coverage_wording(feature: Feature) -> Wording | None:
    """Wording of a coverage feature from its description (``features.context``), for any person source.

    ``in_<source>_ever``: known to the source (a risk-reading fact, never protective: no record is not
    evidence of safety); ``months_since_<source>_record``: how recently the source recorded the child.
    """
    if feature.group != "coverage":
        return None
    if feature.name.startswith("in_") and feature.name.endswith("_ever"):
        holder = feature.description.split(" holds a record", 1)[0]
        return _flag(f"known to {holder[:1].lower()}{holder[1:]}", f"no record in {holder[:1].lower()}{holder[1:]}")
    if feature.name.startswith("months_since_") and feature.name.endswith("_record"):
        holder = feature.description.removeprefix("Months since ").split(" last recorded", 1)[0]
        return Wording("recency", f"last recorded by {holder[:1].lower()}{holder[1:]} {{value}} ago", "months")
    return None


# the only words a list ever shows for a family feature (features.family): no relative's condition is disclosed
FAMILY_SAYS = "family circumstances known to services"
FAMILY_WHO = {"parent": "a parent", "sibling": "a brother or sister"}  # family_<relation>_...: who, never what


def family_wording(feature: Feature) -> Wording | None:
    """Every family feature reads the same on a list (a risk, never protective); one that is never shown
    (``show_on_list=False``) keeps no words at all."""
    if feature.group != "family":
        return None
    who = FAMILY_WHO.get(feature.name.split("_")[1], "")
    says = f"{FAMILY_SAYS} ({who})" if who else FAMILY_SAYS
    return Wording("risk", says if feature.show_on_list else "", "flag" if feature.kind == "binary" else "count",
                   "time", says_no="no family circumstances known to services" if feature.show_on_list else "")


def wording_for(feature: Feature) -> Wording:
    """The feature's wording: declared in ``WORDING``, else derived for coverage and family features, else
    generic (the description, no known direction)."""
    return WORDING.get(feature.name) or coverage_wording(feature) or family_wording(feature) or Wording("either")
