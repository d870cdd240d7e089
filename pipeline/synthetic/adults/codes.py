"""Conditions, codes and rates the adults' lives draw from (DOMAIN_ADULTS.md §2-§3).

SNOMED CT and ICD-10 codes follow the real code systems where DOMAIN_ADULTS lists them (carer, ECDS
acuity/arrival/discharge). The eFI deficit codes are one illustrative code per deficit: the real eFI
code lists are not public (§2.5), so features must read the ``concept``, never a fixed code list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Condition:
    """A long-term condition or frailty deficit: onset hazard per year = ``hazard60`` at age 60, times
    ``exp(slope * (age - 60) / 10)`` and the person's latent health."""

    name: str
    snomed: str
    hazard60: float
    slope: float  # log hazard ratio per 10 years of age
    efi: bool  # one of the 36 eFI deficits
    bnf: str = ""  # BNF section of its repeat medication ("" = none)


CONDITIONS: tuple[Condition, ...] = (
    Condition("activity_limitation", "284545001", 0.004, 0.9, True),
    Condition("anaemia", "271737000", 0.006, 0.6, True, "9.1"),
    Condition("arthritis", "3723001", 0.012, 0.5, True, "10.1"),
    Condition("atrial_fibrillation", "49436004", 0.004, 0.9, True, "2.8"),
    Condition("cerebrovascular", "230690007", 0.002, 0.9, True, "2.9"),
    Condition("ckd", "709044004", 0.004, 0.9, True, "2.5"),
    Condition("diabetes", "44054006", 0.007, 0.3, True, "6.1"),
    Condition("dizziness", "404640003", 0.006, 0.6, True),
    Condition("dyspnoea", "267036007", 0.006, 0.6, True),
    Condition("falls", "161898004", 0.006, 1.0, True),
    Condition("foot_problems", "299757006", 0.005, 0.6, True),
    Condition("fragility_fracture", "443165006", 0.002, 1.0, True),
    Condition("hearing_impairment", "15188001", 0.006, 0.8, True),
    Condition("heart_failure", "84114007", 0.002, 1.0, True, "2.2"),
    Condition("heart_valve_disease", "368009", 0.0015, 0.9, True),
    Condition("housebound", "160689007", 0.001, 1.3, True),
    Condition("hypertension", "38341003", 0.022, 0.4, True, "2.5"),
    Condition("hypotension_syncope", "45007003", 0.002, 0.8, True),
    Condition("ihd", "414545008", 0.004, 0.6, True, "2.12"),
    Condition("memory_cognitive", "386807006", 0.002, 1.1, True),
    Condition("mobility_transfer", "302045006", 0.003, 1.1, True),
    Condition("osteoporosis", "64859006", 0.003, 0.8, True, "6.6"),
    Condition("parkinsonism", "32798002", 0.0006, 0.9, True, "4.9"),
    Condition("peptic_ulcer", "13200003", 0.003, 0.3, True, "1.3"),
    Condition("pvd", "400047006", 0.0015, 0.7, True, "2.9"),
    Condition("requirement_for_care", "713655003", 0.002, 1.2, True),
    Condition("copd", "13645005", 0.003, 0.6, True, "3.1"),
    Condition("skin_ulcer", "95344007", 0.0015, 1.0, True),
    Condition("sleep_disturbance", "26677001", 0.006, 0.4, True, "4.1"),
    Condition("social_vulnerability", "422650009", 0.003, 0.6, True),
    Condition("thyroid", "14304000", 0.004, 0.4, True, "6.2"),
    Condition("urinary_incontinence", "165232002", 0.005, 0.9, True, "7.4"),
    Condition("urinary_system_disease", "53556002", 0.004, 0.7, True),
    Condition("visual_impairment", "397540003", 0.003, 1.0, True),
    Condition("weight_loss", "89362005", 0.002, 1.0, True),
    # QOF registers that are not eFI deficits
    Condition("asthma", "195967001", 0.003, -0.1, False, "3.2"),
    Condition("cancer", "363346000", 0.006, 0.6, False),
    Condition("epilepsy", "84757009", 0.0005, 0.0, False, "4.8"),
    Condition("obesity", "414916001", 0.010, 0.0, False),
)
CONDITION_NAMES = tuple(c.name for c in CONDITIONS)
EFI_DEFICITS = 36  # eFI = deficits / 36; polypharmacy (>=5 BNF sections) is read from the medications

# QOF register concepts for the conditions above (GP event concept = the register's name)
QOF_CONCEPT = {
    "atrial_fibrillation": "af", "cerebrovascular": "stia", "ckd": "ckd", "diabetes": "dm",
    "heart_failure": "hf", "hypertension": "hyp", "ihd": "chd", "osteoporosis": "ost", "pvd": "pad",
    "copd": "copd", "asthma": "ast", "cancer": "can", "epilepsy": "ep", "obesity": "ob",
}


def concept_of(name: str) -> str:
    """The GP event concept of a condition: its QOF register, else ``efi_deficit:<name>``."""
    return QOF_CONCEPT.get(name) or (f"efi_deficit:{name}" if name in _EFI_NAMES else name)


_EFI_NAMES = {c.name for c in CONDITIONS if c.efi}

# other GP codes: concept -> SNOMED CT
SNOMED = {
    "dementia": "52448006",
    "ld": "110359009",
    "depression": "35489007",
    "smi": "58214004",
    "alcohol": "66590003",
    "drug_misuse": "26416006",
    "carer": "407542009",
    "carer_ld": "413761004",
    "carer_dementia": "824401000000105",
    "carer_elderly": "276047008",
    "care_home_resident": "248171000000108",
    "palliative": "103735009",
    "efi_score": "713634000",
}
BNF_DEMENTIA, BNF_DEPRESSION, BNF_SMI, BNF_ALCOHOL = "4.11", "4.3", "4.2", "4.10"

# ONS National Life Tables 2020-22 qx at 65, 70, ..., 95 (DOMAIN_ADULTS §3, S48)
QX_AGES = np.array([65, 70, 75, 80, 85, 90, 95], dtype=float)
QX_MALE = np.array([0.0138, 0.0216, 0.0351, 0.0590, 0.101, 0.171, 0.278])
QX_FEMALE = np.array([0.0090, 0.0143, 0.0241, 0.0432, 0.080, 0.146, 0.253])


def qx(age: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Annual probability of death by single year of age: log-linear between the ONS points,
    Gompertz (9%/year) below 65, with a floor of 1 in 2,500 for young adults."""
    lm = np.interp(age, QX_AGES, np.log(QX_MALE))
    lf = np.interp(age, QX_AGES, np.log(QX_FEMALE))
    young = np.minimum(age - 65, 0) * 0.09
    q = np.exp(np.where(male, lm, lf) + young)
    q = np.where(age > 95, q * np.exp(0.1 * (age - 95)), q)
    return np.clip(q, 0.0004, 0.6)


AGE_BANDS = (("18-44", 18, 45), ("45-64", 45, 65), ("65-74", 65, 75), ("75-84", 75, 85), ("85+", 85, 200))


def band_of(age: np.ndarray) -> np.ndarray:
    """Index into AGE_BANDS of each age (-1 below 18)."""
    out = np.full(np.shape(age), -1, dtype=np.int8)
    for i, (_, lo, hi) in enumerate(AGE_BANDS):
        out[(age >= lo) & (age < hi)] = i
    return out


# ICD-10 primary diagnoses of emergency admissions (4 characters, no dot)
ICD_EMERGENCY_YOUNG = ("R104", "R074", "J189", "N390", "K359", "S069", "L031", "T391", "R55X", "K800")
ICD_EMERGENCY_OLD = ("J189", "N390", "I500", "J440", "R074", "R55X", "I639", "E86X", "A419", "S720", "K922", "R296")
ICD_ELECTIVE = ("H251", "M171", "M161", "K802", "C509", "N401", "Z511", "K409")
ICD_DEATH = ("I219", "C349", "J449", "F03X", "I639", "J189", "C189", "I259", "C61X", "G309")
ICD_DEATH_YOUNG = ("X420", "C509", "I219", "K703", "X700", "V892", "C349")
ICD_SELF_HARM = ("X609", "X619", "X780", "X840")
ICD_ASSAULT = ("X999", "Y049", "Y099", "T742")
ICD_SUBSTANCE = ("F101", "F102", "F111", "F191", "T402", "T510")
ICD_MATERNITY = ("O800", "O809", "O820")

# outpatient specialties (TRETSPEF) with weights
SPECIALTIES = ("100", "101", "110", "120", "130", "300", "301", "320", "330", "340", "400", "430", "502", "370", "361")
SPECIALTY_WEIGHTS = np.array([8, 5, 12, 5, 12, 8, 6, 9, 6, 5, 4, 4, 6, 6, 4], dtype=float)

# ECDS SNOMED CT: chief complaints and diagnoses (illustrative), by kind of attendance
ED_COMPLAINT = {
    "illness": ("29857009", "267036007", "21522001", "404640003", "386661006"),
    "injury": ("125605004", "282765009", "262574004"),
    "assault": ("248110002",),
    "self_harm": ("225317009",),
    "substance": ("228313007",),
}
ED_DIAGNOSIS = {
    "illness": ("233604007", "68566005", "29857009", "195967001", "271594007"),
    "injury": ("125605004", "3723001", "262574004", "125667009"),
    "assault": ("125667009", "282765009"),
    "self_harm": ("82313006", "216940000"),
    "substance": ("25702006", "66590003"),
}
ACUITY = ("immediate", "very_urgent", "urgent", "standard", "low")

# adult social care (CLD labels, DOMAIN_ADULTS §2.1)
PSR_PERSONAL_CARE = "Physical Support: Personal care support"
PSR_MOBILITY = "Physical Support: Access & mobility only"
PSR_MEMORY = "Support with Memory & Cognition"
PSR_LD = "Learning Disability Support"
PSR_MH = "Mental Health Support"
PSR_SUBSTANCE = "Social Support: Substance misuse"
PSR_ISOLATION = "Social Support: Social Isolation/Other"
PSR_CARER = "Social Support: Support to Carer"
LTS_RESIDENTIAL = "Long Term Support: Residential Care"
LTS_NURSING = "Long Term Support: Nursing Care"
LTS_COMMUNITY = "Long Term Support: Community"
ST_MAX = "Short Term Support: ST-Max"
CARER_DIRECT = "Carer Support: Direct to Carer"
