"""Adults' GP features: registrations, coded registers, frailty deficits, care-home and carer codes, medicines.

The GP extract (``pipeline.sources.gp``) holds SNOMED CT codes only, so the registers are read through the
code lists below (one real concept id per register or deficit, as a practice's cluster list would hold
them; DOMAIN_ADULTS.md §2.5). The eFI deficit lists themselves are not public: these lists are a stand-in
a council replaces with its own clusters, and a code missing from them simply counts for nothing.

Event builders:
- ``gp_registration``: one row per patient record, dated at the registration start (the cohort of the
  adults' models is read from it, ``features.adult_population``);
- ``gp_code``: coded events with the register or deficit each code belongs to;
- ``gp_medication``: medication issues with their BNF chapter.

The GP record's postcode is the one held when the extract was taken (the record keeps no past
addresses), so ``gp_imd_decile`` is the deprivation of the current address, not of the address on the
index date; it is the only deprivation measure adults have here. So it is never a model input (a past index
date would learn where people live now) and serves only the deprivation groups of the fairness audit.
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder, person_attributes
from features.feature import Feature
from features.window import W12
from pipeline.sources.codes import GP_CARER_CODES
from pipeline.sources.gp import EFI_DEFICITS

GP = "GP record"

# GP demographics: after the NHS demographics (trust 20), before social care's records
person_attributes("gp_patient", trust=22, latest_by="registration_start")

# long-term condition registers (QOF-style): SNOMED CT concept -> register
LTC_CODES = {
    "49436004": "af", "230690007": "stroke_tia", "709044004": "ckd", "44054006": "diabetes",
    "84114007": "heart_failure", "38341003": "hypertension", "414545008": "chd", "64859006": "osteoporosis",
    "400047006": "pad", "13645005": "copd", "195967001": "asthma", "363346000": "cancer", "84757009": "epilepsy",
    "52448006": "dementia", "58214004": "smi", "35489007": "depression", "110359009": "learning_disability",
}
# eFI deficits (a stand-in list, one concept per deficit; polypharmacy is read from the medicines)
EFI_CODES = EFI_DEFICITS  # the one list, declared with the source (pipeline.sources.gp)
CARE_HOME_RESIDENT_CODES = frozenset({"248171000000108"})
PALLIATIVE_CODES = frozenset({"103735009"})
POLYPHARMACY_SECTIONS = 5  # eFI: five or more drugs (BNF chapters 1-15); counted here as BNF sections


@event_builder("gp_registration", source="gp", tables={
    "gp_patient": ("registration_start", "registration_end", "death_date", "lsoa_imd_decile", "ralf_tok")})
def build_gp_registrations(patients: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (registration start), registration_end, death_date, imd_decile, ralf_tok`` (the
    address token ``features.adult_household`` groups people by; blank where the extract has none)."""
    out = patients.rename(columns={"registration_start": "event_date", "lsoa_imd_decile": "imd_decile"})
    out = out.assign(ralf_tok=out["ralf_tok"] if "ralf_tok" in out.columns else pd.NA)
    out = out[["person_id", "event_date", "registration_end", "death_date", "imd_decile", "ralf_tok"]].copy()
    out["imd_decile"] = pd.to_numeric(out["imd_decile"], errors="coerce").astype("float64")
    return out.dropna(subset=["event_date"])


@event_builder("gp_code", source="gp", tables={"gp_event": ("event_date", "snomed")})
def build_gp_codes(events: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date, ltc`` (register name or blank), ``efi`` (deficit name or blank) and 0/1
    ``care_home``, ``carer``, ``palliative``."""
    code = events["snomed"].astype("str")
    out = events[["person_id", "event_date"]].copy()
    out["ltc"] = code.map(LTC_CODES).astype("str")
    out["efi"] = code.map(EFI_CODES).astype("str")
    out["care_home"] = code.isin(CARE_HOME_RESIDENT_CODES).astype("int8")
    out["carer"] = code.isin(GP_CARER_CODES).astype("int8")
    out["palliative"] = code.isin(PALLIATIVE_CODES).astype("int8")
    return out.dropna(subset=["event_date"])


@event_builder("gp_medication", source="gp", tables={"gp_medication": ("issue_date", "bnf_code")})
def build_gp_medications(issues: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (issue), bnf_section`` (chapter.section, e.g. ``2.5``)."""
    out = issues.rename(columns={"issue_date": "event_date"})[["person_id", "event_date"]].copy()
    out["bnf_section"] = bnf_section(issues["bnf_code"])
    return out.dropna(subset=["event_date"])


def bnf_section(codes: pd.Series) -> pd.Series:
    """The first two dot-separated parts of each BNF code (``4.7.1.0`` -> ``4.7``; a code with fewer dots whole;
    missing stays missing). One vectorised regular expression: splitting each code into a Python list took a fifth
    of the features stage's event building (20 million issues at 1,000,000 people)."""
    text = codes.astype("str")
    return text.str.replace(r"^([^.]*(?:\.[^.]*)?).*$", r"\1", regex=True).where(codes.notna()).astype("str")


def _gp(name: str, description: str, domain: str, sql: str, window: str, kind: str = "numeric",
        fill: float | None = 0, **extra) -> Feature:
    return Feature(name, description, GP, window, kind, "model", "adult_gp", domain, sql, fill, **extra)


FEATURES = (
    _gp("gp_ltc_count", "Long-term conditions on the GP's registers (diabetes, COPD, heart failure …)", "gp_code",
        "count(DISTINCT e.ltc)", "ever", show_on_list=True),
    _gp("gp_efi_deficits", "Frailty deficits coded by the GP (of the electronic frailty index's 36)", "gp_code",
        "count(DISTINCT e.efi)", "ever"),
    _gp("gp_dementia", "Dementia on the GP's register", "gp_code", "CAST(bool_or(e.ltc = 'dementia') AS INTEGER)",
        "ever", "binary", show_on_list=False),
    _gp("gp_care_home_code", "Coded by the GP as living in a care home", "gp_code",
        "CAST(bool_or(e.care_home = 1) AS INTEGER)", "ever", "binary"),
    _gp("gp_carer_code", "Coded by the GP as an unpaid carer", "gp_code", "CAST(bool_or(e.carer = 1) AS INTEGER)",
        "ever", "binary"),
    _gp("gp_palliative_code", "On the GP's palliative care register", "gp_code",
        "CAST(bool_or(e.palliative = 1) AS INTEGER)", "ever", "binary", show_on_list=False),
    _gp("gp_codes_12m", "GP coded entries, last 12 months", "gp_code", f"count(*) FILTER (WHERE {W12})", "12m"),
    _gp("medication_sections_12m", "Different kinds of medicine (BNF sections) issued, last 12 months",
        "gp_medication", f"count(DISTINCT e.bnf_section) FILTER (WHERE {W12})", "12m"),
    _gp("medication_issues_12m", "Medicine issues, last 12 months", "gp_medication",
        f"count(*) FILTER (WHERE {W12})", "12m"),
    _gp("polypharmacy", f"{POLYPHARMACY_SECTIONS} or more kinds of medicine issued in the last 12 months",
        "gp_medication", f"CAST(count(DISTINCT e.bnf_section) FILTER (WHERE {W12}) >= {POLYPHARMACY_SECTIONS} "
                         "AS INTEGER)", "12m", "binary"),
    _gp("gp_years_registered", "Years since the GP registration began", "gp_registration",
        "date_diff('month', max(e.event_date), c.index_date) / 12.0", "latest", fill=None),
    # never an input: the record's address is the one held at the extract, so for a past index date it tells where
    # people live now: a care home's neighbourhood for those who moved into one since (care_home_admission's test
    # AUROC fell from 0.896 to 0.851 without it on a 20,000-adult county). The leakage perturbation cannot see an
    # undated value; it stays for the deprivation groups of the fairness audit (features.context)
    Feature("gp_imd_decile", "Deprivation decile of the address on the GP record (1 = most deprived; the current "
                             "address)", GP, "latest", "numeric", "never", "adult_gp", "gp_registration",
            "arg_max(e.imd_decile, e.event_date)", None, proxy_for=("poverty",)),
)
