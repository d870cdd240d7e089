"""Code lists and distributions the synthetic county draws from (DOMAIN.md)."""

from __future__ import annotations

# DfE pupil ethnicity 2024/25 (%), mapped onto SSDA903/CIN ETHNIC codes and riskpipe groups.
ETHNICITY_CODES: dict[str, tuple[str, float]] = {
    "WBRI": ("White", 60.0),
    "WIRI": ("White", 0.5),
    "WOTH": ("White", 8.4),
    "WIRT": ("White", 0.2),
    "WROM": ("White", 0.5),
    "MWBC": ("Mixed", 1.6),
    "MWBA": ("Mixed", 0.9),
    "MWAS": ("Mixed", 1.6),
    "MOTH": ("Mixed", 3.1),
    "AIND": ("Asian", 4.2),
    "APKN": ("Asian", 4.7),
    "ABAN": ("Asian", 1.8),
    "AOTH": ("Asian", 2.3),
    "CHNE": ("Other", 0.8),
    "BCRB": ("Black", 0.9),
    "BAFR": ("Black", 5.2),
    "BOTH": ("Black", 0.8),
    "OOTH": ("Other", 2.5),
}

# NHS ethnic category (A-Z) for the same codes, as health records hold them.
NHS_ETHNIC_CATEGORY = {
    "WBRI": "A", "WIRI": "B", "WOTH": "C", "WIRT": "C", "WROM": "C",
    "MWBC": "D", "MWBA": "E", "MWAS": "F", "MOTH": "G",
    "AIND": "H", "APKN": "J", "ABAN": "K", "AOTH": "L", "CHNE": "R",
    "BCRB": "M", "BAFR": "N", "BOTH": "P", "OOTH": "S",
}

ABSENCE_AUTHORISED = ("C", "C1", "C2", "E", "H", "I", "J1", "M", "R", "S", "T")
ABSENCE_UNAUTHORISED = ("G", "N", "O", "U")
EXCLUSION_REASONS = ("PP", "PA", "VP", "VA", "OW", "BU", "RA", "LG", "DS", "SM", "DA", "DM", "TH", "DB", "MT", "PH")
SEN_TYPES = ("SPLD", "MLD", "SLD", "PMLD", "SEMH", "SLCN", "HI", "VI", "MSI", "PD", "ASD", "OTH")

NCCIS_EDUCATION = ("210", "220", "230", "240", "250", "260", "270", "280", "290")
NCCIS_EMPLOYMENT = ("310", "320", "330", "340", "350", "360", "380", "381")
NCCIS_TRAINING = ("410", "430", "440", "450", "460")
NCCIS_NEET = ("540", "610", "615", "616", "619", "620", "630", "640", "650", "660", "670", "680")
NCCIS_NOT_KNOWN = ("810", "820", "830")

REFERRAL_SOURCES = ("1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A", "5B",
                    "5C", "5D", "6", "7", "8", "9", "10")
CIN_CLOSURE = ("RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8", "RC9")
CP_CATEGORY = ("NEG", "PHY", "SAB", "EMO", "MUL")
CP_CATEGORY_WEIGHTS = (0.50, 0.07, 0.04, 0.35, 0.04)

LEGAL_STATUS = ("C2", "V2", "C1", "E1", "L1", "L2", "J1")
LEGAL_STATUS_WEIGHTS = (0.45, 0.30, 0.12, 0.05, 0.04, 0.03, 0.01)
PLACEMENT = ("U1", "U2", "U3", "U4", "U5", "U6", "K2", "R1", "P1", "H5")
PLACEMENT_WEIGHTS = (0.05, 0.10, 0.20, 0.05, 0.12, 0.20, 0.12, 0.06, 0.06, 0.04)
PLACE_PROVIDER = ("PR0", "PR1", "PR2", "PR3", "PR4", "PR5")
CIN_CODES = ("N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8")
CIN_CODE_WEIGHTS = (0.64, 0.03, 0.06, 0.15, 0.05, 0.02, 0.01, 0.04)
CARE_END_REASON = ("E11", "E12", "E13", "E41", "E45", "E48", "E4A", "E2", "E17", "E8")
CARE_END_WEIGHTS = (0.12, 0.04, 0.05, 0.35, 0.05, 0.04, 0.10, 0.05, 0.10, 0.10)

# ICD-10 codes (4-character, no dot) by group, for HES-like records.
ICD_ROUTINE = ("J069", "S010", "S099", "R509", "A099", "J45X", "K359", "S525", "T784", "R104", "L509", "H669")
ICD_SELF_HARM = ("X609", "X619", "X780", "X840")
ICD_ASSAULT = ("X999", "Y049", "Y099", "T742", "T741")
ICD_MALTREATMENT = ("T740", "T741", "T748", "Y079")
ICD_SUBSTANCE = ("F101", "F121", "F191", "T402", "T510", "R780")
ICD_UNDETERMINED = ("Y109", "Y149", "Y349")
ICD_SOCIAL = ("Z602", "Z610", "Z621", "Z630", "Z724", "Z818")
ICD_PREGNANCY = ("O800", "O809", "Z370")
