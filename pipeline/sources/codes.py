"""Code lists shared by several source specs (DfE, SSDA903, CIN census, NHS data dictionary).

Each list is what the statutory guidance allows; a value outside it is a field-level problem
(flagged, counted in the data-quality report), never a reason to drop a row.
"""

from __future__ import annotations

import pandas as pd

DFE_ETHNICITY = frozenset(
    {
        "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN",
        "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
    }
)
# DfE extended codes (school census, e.g. WENG, ANEP) start with the main group's letter.
DFE_GROUP_BY_LETTER = {"W": "White", "M": "Mixed", "A": "Asian", "B": "Black", "O": "Other"}
# CHNE is grouped with Other, as the synthetic county and the 903 return tables do.
DFE_GROUP_EXCEPTIONS = {"CHNE": "Other", "REFU": "Unknown", "NOBT": "Unknown"}

NHS_ETHNIC_CATEGORY = frozenset("ABCDEFGHJKLMNPRSZ") | {"99"}
NHS_GROUP = {
    **dict.fromkeys("ABC", "White"), **dict.fromkeys("DEFG", "Mixed"), **dict.fromkeys("HJKL", "Asian"),
    **dict.fromkeys("MNP", "Black"), "R": "Other", "S": "Other", "Z": "Unknown", "99": "Unknown",
}

SEX_CANONICAL = frozenset({"M", "F", "U"})
SEX_RECODE = {"1": "M", "2": "F", "0": "U", "9": "U", "M": "M", "F": "F", "U": "U"}

UPN_UNKNOWN = frozenset({f"UN{i}" for i in range(1, 8)})

ABSENCE_REASONS = frozenset(
    {"C", "C1", "C2", "E", "H", "I", "J1", "M", "R", "S", "T", "G", "N", "O", "U", "X", "Y", "Z", "#"}
)
EXCLUSION_REASONS = frozenset(
    {"PP", "PA", "VP", "VA", "OW", "BU", "RA", "LG", "DS", "SM", "DA", "DM", "TH", "DB", "MT", "PH"}
)
EXCLUSION_CATEGORY = frozenset({"PERM", "FIXD", "LNCH"})
SEN_PROVISION = frozenset({"N", "K", "E"})
SEN_TYPES = frozenset(
    {"SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "OTH", "NSA"}
)
ENROL_STATUS = frozenset({"C", "M", "S"})
NC_YEAR = frozenset({"N1", "N2", "R", "X"} | {str(y) for y in range(1, 15)})

NCCIS_ACTIVITY = frozenset(
    {"210", "220", "230", "240", "250", "260", "270", "280", "290", "310", "320", "330", "340", "350",
     "360", "380", "381", "410", "430", "440", "450", "460", "530", "540", "550", "610", "615", "616",
     "619", "620", "630", "640", "650", "660", "670", "680", "710", "810", "820", "830"}
)

CLA_RNE = frozenset({"S", "P", "L", "T", "U", "B"})
CLA_LEGAL_STATUS = frozenset(
    {"C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3"}
)
CLA_CIN = frozenset({f"N{i}" for i in range(1, 9)})
CLA_PLACEMENT = frozenset(
    {"A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1", "T0", "T1",
     "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1"}
)  # H5, P2 and Z1 are retired but still appear in older returns
CLA_PROVIDER = frozenset({"PR0", "PR1", "PR2", "PR3", "PR4", "PR5"})
CLA_MISSING = frozenset({"M", "A"})

CIN_REFERRAL_SOURCE = frozenset(
    {"1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A", "5B", "5C", "5D",
     "6", "7", "8", "9", "10"}
)
CIN_PRIMARY_NEED = frozenset({f"N{i}" for i in range(10)})
CIN_CLOSURE = frozenset({f"RC{i}" for i in range(1, 10)})
CP_CATEGORY = frozenset({"NEG", "PHY", "SAB", "EMO", "MUL"})

EARLY_HELP_REFERRAL = frozenset({"school", "health", "police", "family", "other"})
EARLY_HELP_CLOSURE = frozenset({"STEPDOWN", "ESCALATED", "DISENGAGED", "NEEDS_MET", "MOVED"})

HES_ADMISSION_METHOD = frozenset(
    {"11", "12", "13", "21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D", "31", "32", "81", "82", "83"}
)


def derive_ethnicity_group(codes: pd.Series) -> pd.Series:
    """Map ethnicity codes (DfE 4-letter, extended DfE, or NHS A–Z) to the six riskpipe groups.

    Args:
        codes: ethnicity codes as recorded (nulls allowed).

    Returns:
        str Series of White/Mixed/Asian/Black/Other/Unknown, aligned to ``codes``.
    """
    # a column holds few distinct codes: map each once (null included) and broadcast back
    positions, distinct = pd.factorize(codes.astype("str"), use_na_sentinel=False)
    groups = _ethnicity_groups(pd.Series(distinct, dtype="str"))
    return pd.Series(groups.array.take(positions), index=codes.index, dtype="str")


def _ethnicity_groups(codes: pd.Series) -> pd.Series:
    upper = codes.str.strip().str.upper()
    nhs = upper.map(NHS_GROUP)
    dfe = upper.str[:1].map(DFE_GROUP_BY_LETTER).where(upper.str.len() >= 3)
    dfe = dfe.where(~upper.isin(list(DFE_GROUP_EXCEPTIONS)), upper.map(DFE_GROUP_EXCEPTIONS))
    return dfe.fillna(nhs).fillna("Unknown").astype("str")


# --- adults' health sources (DOMAIN_ADULTS.md §2.3–2.5): ECDS, HES APC/OP, GP, ONS deaths ---

# HES APC (NHS data dictionary): discharge method, admission source / discharge destination, patient class
HES_DISCHARGE_METHOD = frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9"})  # 4 = died
HES_DISCHARGE_DIED = "4"
HES_ADMISSION_SOURCE = frozenset(
    {"19", "29", "37", "38", "39", "40", "41", "42", "49", "51", "52", "53", "54", "65", "66", "69", "79", "85",
     "86", "87", "88", "98", "99"}
)
HES_DISCHARGE_DESTINATION = HES_ADMISSION_SOURCE  # the same code list; 79 = died, 98 = spell not finished
HES_FROM_OTHER_HOSPITAL = frozenset({"51", "52", "53"})  # ADMISORC: a transfer from another NHS hospital
HES_TRANSFER_ADMISSION = "2B"  # ADMIMETH: transfer of an admitted patient in an emergency
HES_PATIENT_CLASS = frozenset({"1", "2", "3", "4", "5", "8", "9"})  # 1 ordinary admission, 2 day case …
HES_EMERGENCY_ADMISSION = frozenset({"21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D"})
HES_EPISODE_STATUS = frozenset({"1", "3", "9"})  # 1 unfinished, 3 finished, 9 not applicable

# HES outpatients: ATTENDED (5/6 attended; 2/3/4/7 did not) and FIRSTATT (1/3 first, 2/4 follow-up)
HES_OP_ATTENDED = frozenset({"0", "2", "3", "4", "5", "6", "7", "9"})
HES_OP_FIRST_ATTENDANCE = frozenset({"1", "2", "3", "4", "5", "9"})
HES_OP_OUTCOME = frozenset({"1", "2", "3", "9"})  # discharged, another appointment, referred on, not known

# ECDS (ETOS v4): acuity, arrival mode and discharge destination SNOMED CT code lists
ECDS_ACUITY = {
    "1064891000000107": "immediate", "1064911000000105": "very_urgent", "1064901000000108": "urgent",
    "1077241000000103": "standard", "1077251000000100": "low",
}
ECDS_ARRIVAL_MODE = {
    "ambulance": ("1048031000000100", "1048041000000109", "1048021000000102", "1048051000000107",
                  "1048081000000101"),
    "own": ("1048071000000103", "1048061000000105"),
    "police": ("1047991000000102", "1048001000000106"),
}
ECDS_DISCHARGE_DESTINATION = {
    "home": ("306689006",), "residential_home": ("306691003",), "nursing_home": ("306694006",),
    "police": ("306705005", "50861005"),
    "short_stay": ("1066331000000109", "1066341000000100", "1066351000000102"),
    "admitted": ("306706006", "1066361000000104", "1066371000000106", "1066381000000108", "1066391000000105",
                 "1066401000000108", "1874161000000104"),
    "transfer": ("19712007", "183919006"),
    "died": ("305398007",),
}
ECDS_DEPARTMENT_TYPE = frozenset({"01", "02", "03", "04"})
ECDS_ATTENDANCE_CATEGORY = frozenset({"1", "2", "3", "4"})  # 4 = planned follow-up
ECDS_DEAD_ON_ARRIVAL = "63238001"  # discharge status excluded from unplanned attendances
# injury intent (SNOMED): accidental, self-inflicted, assault
ECDS_INJURY_INTENT = {"accident": "242056005", "self_harm": "276853009", "assault": "52684005"}

# GP carer codes (a few of the GM SDE carer list)
GP_CARER_CODES = frozenset({"407542009", "413761004", "824401000000105", "276041009", "276047008"})

# ONS deaths: the place-of-death categories ONS publishes (a communal establishment is named separately)
ONS_PLACE_OF_DEATH = frozenset({"home", "hospital", "care_home", "hospice", "elsewhere"})


def ecds_codes(groups: dict[str, tuple[str, ...]] | dict[str, str]) -> frozenset[str]:
    """Every SNOMED code of an ECDS code list written as ``group -> codes`` or ``code -> label``."""
    codes_ = set()
    for key, value in groups.items():
        codes_.update(value if isinstance(value, tuple) else (key,))
    return frozenset(codes_)
GP_ISSUE_TYPE = frozenset({"Repeat", "Acute"})
