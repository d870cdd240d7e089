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
