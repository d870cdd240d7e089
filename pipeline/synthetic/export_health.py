"""NHS demographics and HES-like admitted care and A&E records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.codes import (
    ICD_ASSAULT,
    ICD_MALTREATMENT,
    ICD_PREGNANCY,
    ICD_ROUTINE,
    ICD_SELF_HARM,
    ICD_SOCIAL,
    ICD_SUBSTANCE,
    ICD_UNDETERMINED,
    NHS_ETHNIC_CATEGORY,
)
from pipeline.synthetic.formatting import format_dates
from pipeline.synthetic.records import postcode_at


def nhs_demographics(
    rng: np.random.Generator, cfg: SynthParams, kids: pd.DataFrame, ident: pd.DataFrame, addresses: pd.DataFrame
) -> pd.DataFrame:
    """One patient record per child ever registered in the county (PDS-like)."""
    ref = np.datetime64(cfg.reference_date)
    kid = kids[kids["arrive_date"].to_numpy() <= ref].reset_index(drop=True)
    who = ident.set_index("person_id").reindex(kid["person_id"])
    hes_id = np.char.add("H", np.char.zfill(rng.choice(10**8, len(kid), replace=False).astype(str), 8))
    when = np.minimum(kid["leave_date"].to_numpy().astype("datetime64[D]"), ref)
    eth = kid["ethnicity"].map(NHS_ETHNIC_CATEGORY).to_numpy(dtype=str)
    return pd.DataFrame(
        {
            "person_id": kid["person_id"].to_numpy(),
            "PSEUDO_HESID": hes_id,
            "NHSNumber": kid["nhs_number"].to_numpy(),
            "Forename": who["forename"].to_numpy(),
            "Surname": who["surname"].to_numpy(),
            "DOB": format_dates(who["dob"].to_numpy(), "%Y-%m-%d"),
            "Sex": np.where(kid["sex"].to_numpy() == "M", "1", "2"),
            "Postcode": postcode_at(
                addresses, kid["household_id"].to_numpy(), when, rng, cfg.identifier_noise.postcode_lag,
                noise=cfg.identifier_noise,
            ),
            "EthnicCategory": np.where(rng.random(len(kid)) < 0.08, "Z", eth),
        }
    )


def _diagnoses(rng: np.random.Generator, ev: pd.DataFrame) -> np.ndarray:
    """Primary ICD-10 code per event: adversity-related codes follow the true household adversity."""
    age = ev["age"].to_numpy()
    need = ev["need"].to_numpy()
    n = len(ev)
    code = rng.choice(ICD_ROUTINE, n)
    u = rng.random(n)
    young_harm = (age < 5) & (ev["dv"].to_numpy() | ev["sub"].to_numpy()) & (u < 0.06)
    code = np.where(young_harm, rng.choice(ICD_MALTREATMENT + ICD_ASSAULT, n), code)
    teen = age >= 12
    p_sh = 1 / (1 + np.exp(-(-4.0 + 0.8 * need + 0.8 * ev["mh"].to_numpy())))
    code = np.where(teen & (u > 0.5) & (rng.random(n) < p_sh), rng.choice(ICD_SELF_HARM + ICD_UNDETERMINED, n), code)
    code = np.where(
        teen & (rng.random(n) < 0.03 * np.exp(0.5 * need)), rng.choice(ICD_SUBSTANCE + ICD_ASSAULT, n), code
    )
    return code


def hes_tables(
    rng: np.random.Generator, cfg: SynthParams, ae: pd.DataFrame, apc: pd.DataFrame, patients: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """HES-like admitted patient care and A&E records up to the reference date."""
    ref = np.datetime64(cfg.reference_date)
    pat = patients.set_index("person_id")
    ae = ae[(ae["date"] <= ref) & ae["person_id"].isin(pat.index)].reset_index(drop=True)
    apc = apc[(apc["date"] <= ref) & apc["person_id"].isin(pat.index)].reset_index(drop=True)
    miss = cfg.identifier_noise.nhs_missing_hes
    ae_out = pd.DataFrame(
        {
            "AEKEY": np.char.add("AE", np.char.zfill(np.arange(1, len(ae) + 1).astype(str), 9)),
            "PSEUDO_HESID": pat["PSEUDO_HESID"].reindex(ae["person_id"]).to_numpy(),
            "NEWNHSNO": np.where(rng.random(len(ae)) < miss, "", pat["NHSNumber"].reindex(ae["person_id"]).to_numpy()),
            "ARRIVALDATE": format_dates(ae["date"], "%Y-%m-%d"),
            "DIAGA_01": _diagnoses(rng, ae),
        }
    )
    preg = apc["pregnancy"].to_numpy().astype(bool)
    emergency = rng.random(len(apc)) < 0.65
    method = np.where(
        preg,
        "31",
        np.where(
            emergency, rng.choice(["21", "22", "23", "24", "28"], len(apc)), rng.choice(["11", "12", "13"], len(apc))
        ),
    )
    los = rng.geometric(0.45, len(apc)) - 1
    admi = apc["date"].to_numpy().astype("datetime64[D]")
    dis = admi + los.astype("timedelta64[D]")
    diag1 = np.where(preg, rng.choice(ICD_PREGNANCY, len(apc)), _diagnoses(rng, apc))
    diag2 = np.where(rng.random(len(apc)) < 0.15 * (apc["need"].to_numpy() > 1.5), rng.choice(ICD_SOCIAL, len(apc)), "")
    apc_out = pd.DataFrame(
        {
            "EPIKEY": np.char.add("E", np.char.zfill(np.arange(1, len(apc) + 1).astype(str), 10)),
            "PSEUDO_HESID": pat["PSEUDO_HESID"].reindex(apc["person_id"]).to_numpy(),
            "NEWNHSNO": np.where(
                rng.random(len(apc)) < miss, "", pat["NHSNumber"].reindex(apc["person_id"]).to_numpy()
            ),
            "ADMIDATE": format_dates(admi, "%Y-%m-%d"),
            "ADMIMETH": method,
            "DISDATE": np.where(dis <= ref, format_dates(dis, "%Y-%m-%d"), ""),
            "DIAG_4_01": diag1,
            "DIAG_4_02": diag2,
        }
    )
    for i in range(3, 21):
        apc_out[f"DIAG_4_{i:02d}"] = ""
    return with_single_episodes(apc_out, elective=np.isin(method, ["11", "12", "13"]), same_day=los == 0), ae_out


def with_single_episodes(apc: pd.DataFrame, *, elective: np.ndarray, same_day: np.ndarray) -> pd.DataFrame:
    """Add the episode columns to a children's HES APC frame: each admission is a one-episode spell.

    No random draws, so the children's records are the same with or without the columns. A child is
    admitted from and discharged to the usual residence (19); an unfinished spell (no DISDATE yet) has
    discharge method 8 and destination 98 (not applicable); an elective same-day stay is a day case.
    """
    finished = apc["DISDATE"].to_numpy() != ""
    out = apc.copy()
    out["EPIORDER"] = "1"
    out["EPISTART"] = apc["ADMIDATE"]
    out["EPIEND"] = apc["DISDATE"]
    out["ADMISORC"] = "19"
    out["DISMETH"] = np.where(finished, "1", "8")
    out["DISDEST"] = np.where(finished, "19", "98")
    out["CLASSPAT"] = np.where(elective & same_day, "2", "1")
    return out
