"""Health events and features: A&E attendances, emergency admissions and adversity-related admissions.

Adversity-related admissions use the UK research code groups (DOMAIN.md): self-harm X60-X84,
Y87.0; assault or maltreatment X85-Y09, Y87.1, T74; drug or alcohol F10-F19, T40, T51, R78;
undetermined intent Y10-Y34; adverse social circumstances Z60-Z63, Z72 (not Z72.0), Z74, Z81.

Event builders (``features.event_registry``) turn the linked A&E and admitted-care tables into dated
event frames; each feature is declared with its DuckDB aggregate over one of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.event_registry import event_builder, person_attributes
from features.feature import Feature
from features.window import W12, W36

HES = "HES admitted care"
AE = "HES A&E"
DIAGNOSES = tuple(f"diag_{i:02d}" for i in range(1, 21))

# NHS demographics: trusted after the school census, before social care's records
person_attributes("nhs_patient", trust=20)


def _span(letter: str, low: int, high: int) -> set[str]:
    return {f"{letter}{n:02d}" for n in range(low, high + 1)}


# 3-character ICD-10 categories per group, and 4-character codes that join a group on their own
ADVERSITY_GROUPS: dict[str, tuple[set[str], set[str], set[str]]] = {
    # group: (3-char categories, extra 4-char codes, 4-char codes excluded)
    "self_harm": (_span("X", 60, 84), {"Y870"}, set()),
    "assault_maltreatment": (_span("X", 85, 99) | _span("Y", 0, 9) | {"T74"}, {"Y871"}, set()),
    "drug_alcohol": (_span("F", 10, 19) | {"T40", "T51", "R78"}, set(), set()),
    "undetermined_intent": (_span("Y", 10, 34), set(), set()),
    "adverse_social": ({"Z60", "Z61", "Z62", "Z63", "Z72", "Z74", "Z81"}, set(), {"Z720"}),
}
GROUP_WORDS = {
    "self_harm": "self-harm",
    "assault_maltreatment": "assault or maltreatment",
    "drug_alcohol": "drug or alcohol use",
    "undetermined_intent": "injury of undetermined intent",
    "adverse_social": "adverse social circumstances",
}


def classify_adversity(codes: pd.Series, group: str) -> pd.Series:
    """True where an ICD-10 code (4 characters, no dot) falls in adversity ``group``.

    Each distinct code is classified once and the answer spread back: a county's few thousand codes instead of
    every diagnosis of every admission, five times over (issue #17).
    """
    positions, distinct = pd.factorize(codes)
    hit = _codes_in_group(pd.Series(distinct), group).to_numpy(dtype=bool)
    found = np.zeros(len(codes), dtype=bool)
    known = positions >= 0  # a missing code is in no group
    found[known] = hit[positions[known]]
    return pd.Series(found, index=codes.index)


def _codes_in_group(codes: pd.Series, group: str) -> pd.Series:
    categories, extra, excluded = ADVERSITY_GROUPS[group]
    code = codes.astype("str").str.upper().str.replace(".", "", regex=False)
    hit = code.str.slice(0, 3).isin(categories) | code.str.slice(0, 4).isin(extra)
    return (hit & ~code.str.slice(0, 4).isin(excluded)).fillna(False).astype("bool")


@event_builder("ae", source="health", record=True, tables={"ae_attendance": ("arrival_date", "diagnosis")})
def build_ae_events(attendances: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (arrival), adversity`` (diagnosis in any adversity group, 0/1)."""
    out = attendances.rename(columns={"arrival_date": "event_date"})[["person_id", "event_date"]].copy()
    diagnosis = attendances["diagnosis"]
    out["adversity"] = pd.concat([classify_adversity(diagnosis, g) for g in ADVERSITY_GROUPS], axis=1).any(axis=1)
    out["adversity"] = out["adversity"].astype("int8")
    return out.dropna(subset=["event_date"])


@event_builder("admission", source="health", record=True, tables={
    "hes_admission": ("admission_date", "admission_method", *DIAGNOSES)})
def build_admission_events(admissions: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (admission), emergency`` and one 0/1 column per adversity group."""
    diag_cols = [c for c in admissions.columns if c.startswith("diag_")]
    out = admissions[["person_id", "admission_date", "admission_method"]].rename(
        columns={"admission_date": "event_date"}
    )
    out["emergency"] = out["admission_method"].astype("str").str.startswith("2").fillna(False).astype("int8")
    long = admissions[diag_cols].stack()
    for group in ADVERSITY_GROUPS:
        flagged = classify_adversity(long, group)
        rows = flagged[flagged].index.get_level_values(0).unique()
        out[group] = admissions.index.isin(rows).astype("int8")
    return out.drop(columns="admission_method").dropna(subset=["event_date"])


def _count(name: str, description: str, domain: str, where: str, window: str, *, diagnosis: bool = False) -> Feature:
    """A count of events; ``diagnosis`` = counted by diagnosis code (special-category detail kept off lists)."""
    source = AE if domain == "ae" else HES
    return Feature(name, description, source, window, "numeric", "model", "health", domain,
                   f"count(*) FILTER (WHERE {where})", 0, show_on_list=not diagnosis)


_ANY_ADVERSITY = "(" + " OR ".join(f"e.{g} = 1" for g in ADVERSITY_GROUPS) + ")"

FEATURES = (
    _count("ae_attendances_12m", "A&E attendances, last 12 months", "ae", W12, "12m"),
    _count("ae_attendances_36m", "A&E attendances, last 3 years", "ae", W36, "36m"),
    _count("ae_attendances_ever", "A&E attendances, ever", "ae", "true", "ever"),
    _count("ae_adversity_ever", "A&E attendances with an adversity-related diagnosis, ever", "ae",
           "e.adversity = 1", "ever", diagnosis=True),
    _count("emergency_admissions_12m", "Emergency hospital admissions, last 12 months", "admission",
           f"e.emergency = 1 AND {W12}", "12m"),
    _count("emergency_admissions_36m", "Emergency hospital admissions, last 3 years", "admission",
           f"e.emergency = 1 AND {W36}", "36m"),
    _count("emergency_admissions_ever", "Emergency hospital admissions, ever", "admission", "e.emergency = 1",
           "ever"),
    _count("adversity_admissions_36m", "Hospital admissions related to adversity (any code group), last 3 years",
           "admission", f"{_ANY_ADVERSITY} AND {W36}", "36m", diagnosis=True),
    *(
        _count(f"admissions_{g}_ever", f"Hospital admissions with a diagnosis of {GROUP_WORDS[g]}, ever",
               "admission", f"e.{g} = 1", "ever", diagnosis=True)
        for g in ADVERSITY_GROUPS
    ),
)
