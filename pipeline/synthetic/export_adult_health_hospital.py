"""Hospital records of the whole population: HES APC episodes, ECDS attendances and HES outpatients.

Each true spell (``AdultLives.admissions``) becomes one or more consultant episodes (``EPIORDER`` 1, 2,
…); a few long spells are recorded as a transfer between two hospitals (a second provider spell with
admission method 2B, source 51), which ``pipeline.sources.hes_spells`` joins back into one continuous
spell. ECDS rows carry SNOMED CT codes from the ETOS code lists; outpatients carry HES codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.sources import codes
from pipeline.synthetic.export_adult_health_recording import ISO, RECORDING, as_recorded_nhs
from pipeline.synthetic.formatting import format_dates

TRANSFER_RATE = 0.15  # share of spells with 2+ episodes recorded as a transfer to another hospital
EPISODE_TEXT = ("EPIORDER", "EPISTART", "EPIEND", "ADMISORC", "DISMETH", "DISDEST", "CLASSPAT")
APC_COLUMNS = ("EPIKEY", "PSEUDO_HESID", "NEWNHSNO", "ADMIDATE", "ADMIMETH", "DISDATE",
               *(f"DIAG_4_{i:02d}" for i in range(1, 21)), *EPISODE_TEXT)


def numbered(prefix: str, first: int, n: int) -> np.ndarray:
    """``n`` record keys ``prefix`` + a 10-digit running number from ``first`` (e.g. ``OP0000000001``)."""
    if n == 0:  # numpy's zfill cannot size an empty array
        return np.array([], dtype=str)
    return np.char.add(prefix, np.char.zfill(np.arange(first, first + n).astype(str), 10))


def _diagnosis_columns(diagnoses: pd.Series, row: np.ndarray, order: np.ndarray) -> dict[str, np.ndarray]:
    """DIAG_4_01..20 per episode (spell ``row``, ``order`` within it): the spell's ICD-10 list without dots,
    rotated so that later episodes may lead with another of its clinical codes. External causes (V–Y) are
    never primary, so they go last and are never rotated to the front. A spell with none gets R69X."""
    def listed(d) -> list[str]:
        codes_ = [str(c).replace(".", "") for c in (d if isinstance(d, (list, tuple, np.ndarray)) else [d])
                  if isinstance(c, str) and c] or ["R69X"]
        return [c for c in codes_ if c[0] not in "VWXY"] + [c for c in codes_ if c[0] in "VWXY"]

    per_spell = diagnoses.map(listed)
    flat = np.array([c for codes_ in per_spell for c in codes_], dtype=object)
    length = per_spell.map(len).to_numpy(dtype=np.int64)
    clinical = np.maximum(per_spell.map(lambda c: sum(x[0] not in "VWXY" for x in c)).to_numpy(dtype=np.int64), 1)
    starts = np.cumsum(length) - length
    width = np.minimum(length[row], 20)
    episode = np.repeat(np.arange(len(row)), width)
    slot = np.arange(len(episode)) - np.repeat(np.cumsum(width) - width, width)
    shift = (order - 1) % clinical[row]
    picked = flat[starts[row][episode] + (slot + shift[episode]) % length[row][episode]]
    table = np.full((len(row), 20), "", dtype=object)
    table[episode, slot] = picked
    return {f"DIAG_4_{i + 1:02d}": table[:, i].astype(str) for i in range(20)}


def apc_episodes(rng: np.random.Generator, cfg: SynthParams, spells: pd.DataFrame, hes_ids: pd.Series,
                 nhs: pd.Series, *, first_epikey: int = 1) -> pd.DataFrame:
    """HES APC rows (one per consultant episode) for the true spells admitted by the reference date.

    Args:
        spells: ``AdultLives.admissions`` rows.
        hes_ids, nhs: PSEUDO_HESID and true NHS number by person_id.
        first_epikey: EPIKEYs are numbered on from here (after the children's, or an earlier part's).

    Returns:
        ``APC_COLUMNS`` (``EPIKEY, PSEUDO_HESID, NEWNHSNO, ADMIDATE, ADMIMETH, DISDATE, DIAG_4_01..20`` and
        ``EPISODE_TEXT``), as text; an episode starting after the reference date is not yet recorded.
    """
    ref = np.datetime64(cfg.reference_date, "D")
    sp = spells[spells["admission_date"].to_numpy().astype("datetime64[D]") <= ref].reset_index(drop=True)
    k = np.maximum(sp["n_episodes"].fillna(1).to_numpy(dtype=np.int64), 1)
    admit = sp["admission_date"].to_numpy().astype("datetime64[D]")
    dis = sp["discharge_date"].to_numpy().astype("datetime64[D]")
    open_spell_of = np.isnat(dis) | (dis > ref)  # still in hospital on the reference date
    los = (np.where(open_spell_of, ref, dis) - admit).astype(np.int64)
    transfer = (k >= 2) & (los >= 2) & (rng.random(len(sp)) < TRANSFER_RATE)
    row = np.repeat(np.arange(len(sp)), k)
    first_row = np.cumsum(k) - k
    order = np.arange(len(row)) - first_row[row] + 1
    # episodes tile the stay: each ends a random share of the way through, the last on the discharge day
    weight = pd.Series(rng.random(len(row)))
    share = (weight.groupby(row).cumsum() / weight.groupby(row).transform("sum")).to_numpy()
    end_day = np.floor(share * los[row]).astype(np.int64)
    start_day = np.where(order == 1, 0, np.concatenate([[0], end_day[:-1]]))
    epistart = admit[row] + start_day.astype("timedelta64[D]")
    epiend = admit[row] + end_day.astype("timedelta64[D]")
    last = order == k[row]
    open_spell = open_spell_of[row]
    epiend = np.where(last & open_spell, np.datetime64("NaT"), np.where(last, dis[row], epiend))
    # a transfer: episodes after the first half form a second provider spell (2B from 51) starting that day
    half = k[row] // 2
    second = transfer[row] & (order > half)
    leaving = transfer[row] & (order == half)
    provider_admit = np.where(second, epistart[first_row[row] + np.minimum(half, k[row] - 1)], admit[row])
    ends_here = last | leaving
    dismeth = np.where(ends_here & ~(last & open_spell), sp["discharge_method"].astype(str).to_numpy()[row], "8")
    disdest = np.where(ends_here & ~(last & open_spell), sp["discharge_destination"].astype(str).to_numpy()[row],
                       "98")
    dismeth, disdest = np.where(leaving, "1", dismeth), np.where(leaving, "51", disdest)
    disdate = np.where(leaving, epiend, np.where(last & ~open_spell, dis[row], np.datetime64("NaT")))
    method = np.where(second, codes.HES_TRANSFER_ADMISSION, sp["admission_method"].astype(str).to_numpy()[row])
    source = np.where(second, "51", sp["admission_source"].astype(str).to_numpy()[row])
    elective = np.isin(sp["admission_method"].astype(str).to_numpy(), ["11", "12", "13"])
    classpat = np.where(elective & (los == 0), "2", "1")[row]
    person = sp["person_id"].to_numpy()[row]
    keep = epistart <= ref
    scale_missing = cfg.identifier_noise.nhs_missing_hes
    frame = pd.DataFrame({
        "PSEUDO_HESID": hes_ids.reindex(person).to_numpy(dtype=str),
        "NEWNHSNO": as_recorded_nhs(rng, nhs.reindex(person).fillna("").to_numpy(dtype=str), scale_missing, 0.0),
        "ADMIDATE": format_dates(provider_admit, ISO),
        "ADMIMETH": method,
        "DISDATE": format_dates(disdate, ISO),
        **_diagnosis_columns(sp["diagnoses"], row, order),
        "EPIORDER": (order - np.where(second, half, 0)).astype(str),
        "EPISTART": format_dates(epistart, ISO),
        "EPIEND": format_dates(epiend, ISO),
        "ADMISORC": source,
        "DISMETH": dismeth,
        "DISDEST": disdest,
        "CLASSPAT": classpat,
    })[keep].reset_index(drop=True)
    frame.insert(0, "EPIKEY", numbered("E", first_epikey, len(frame)))
    return frame


def ecds_attendances(rng: np.random.Generator, cfg: SynthParams, attendances: pd.DataFrame, hes_ids: pd.Series,
                     nhs: pd.Series, dob: pd.Series, *, first_key: int = 1) -> pd.DataFrame:
    """ECDS rows (NHSE analysis-table names) for the attendances that arrived by the reference date
    (``EC_Ident`` numbered on from ``first_key``: an earlier part's rows come before).

    SNOMED codes: a random code of the arrival mode's ETOS group, the acuity's code, the discharge
    destination's group; ``Der_EC_Diagnosis_All`` lists the diagnosis, with a second code of another
    attendance's diagnosis for about one in five.
    """
    ref = np.datetime64(cfg.reference_date, "D")
    at = attendances[attendances["arrival_date"].to_numpy().astype("datetime64[D]") <= ref].reset_index(drop=True)
    n = len(at)
    person = at["person_id"].to_numpy()
    arrive = at["arrival_date"].to_numpy().astype("datetime64[D]")
    depart = at["departure_date"].to_numpy().astype("datetime64[D]")
    depart = np.where(np.isnat(depart) | (depart > ref), np.datetime64("NaT"), depart)

    def pick(groups: dict[str, tuple[str, ...]], labels: pd.Series, default: str) -> np.ndarray:
        choices = [groups.get(label, groups[default]) for label in labels.fillna(default).astype(str)]
        return np.array([c[i % len(c)] for c, i in zip(choices, rng.integers(0, 1 << 30, n), strict=True)],
                        dtype=str)

    acuity_code = {label: code for code, label in codes.ECDS_ACUITY.items()}
    diagnosis = at["diagnosis_snomed"].fillna("").astype(str).to_numpy()
    pool = np.unique(diagnosis[diagnosis != ""])
    second = (rng.random(n) < 0.2) & (len(pool) > 0) & (diagnosis != "")
    extra = rng.choice(pool, n) if len(pool) else np.full(n, "")
    listed = np.where(second & (extra != diagnosis), np.char.add(np.char.add(diagnosis.astype(str), ","), extra),
                      diagnosis)
    # a NaT difference is not NaN once cast to a number: take the days only where the departure is known
    days = np.where(np.isnat(depart), 0, (depart - arrive).astype("timedelta64[D]").astype(np.int64))
    minutes = (days.astype(float) * 1440
               + rng.gamma(2.0, 120.0, n)).astype(np.int64)
    age = ((arrive - dob.reindex(person).to_numpy().astype("datetime64[D]")).astype(np.int64) // 365.25).astype(int)
    scale, missing, mistyped = RECORDING["ecds"]
    return pd.DataFrame({
        "EC_Ident": numbered("EC", first_key, n),
        "PSEUDO_HESID": hes_ids.reindex(person).to_numpy(dtype=str),
        "NHS_Number": as_recorded_nhs(rng, nhs.reindex(person).fillna("").to_numpy(dtype=str), missing, mistyped),
        "Age_At_Arrival": np.clip(age, 0, 120).astype(str),
        "Arrival_Date": format_dates(arrive, ISO),
        "EC_Department_Type": at["department_type"].astype(str).to_numpy(),
        "EC_AttendanceCategory": at["attendance_category"].astype(str).to_numpy(),
        "EC_Arrival_Mode_SNOMED_CT": pick(codes.ECDS_ARRIVAL_MODE, at["arrival_mode"], "own"),
        "EC_Acuity_SNOMED_CT": at["acuity"].map(acuity_code).fillna("").to_numpy(dtype=str),
        "EC_Chief_Complaint_SNOMED_CT": at["chief_complaint"].fillna("").astype(str).to_numpy(),
        "EC_Injury_Intent_SNOMED_CT": at["injury_intent"].map(codes.ECDS_INJURY_INTENT).fillna("").to_numpy(dtype=str),
        "Der_EC_Diagnosis_All": listed,
        "Discharge_Destination_SNOMED_CT": pick(codes.ECDS_DISCHARGE_DESTINATION, at["discharge"], "home"),
        "EC_Departure_Date": format_dates(depart, ISO),
        "EC_Departure_Time_Since_Arrival": np.where(np.isnat(depart), "", np.minimum(minutes, 20160).astype(str)),
        "EC_Initial_Assessment_Time_Since_Arrival": rng.integers(0, 60, n).astype(str),
    })


def outpatient_appointments(rng: np.random.Generator, cfg: SynthParams, outpatients: pd.DataFrame,
                            hes_ids: pd.Series, nhs: pd.Series, *, first_key: int = 1) -> pd.DataFrame:
    """HES outpatient rows: ATTENDED 5 (seen) or 2/3/4 (cancelled by the patient, did not attend, cancelled
    by the hospital), FIRSTATT 1 (first) or 2 (follow-up), an OUTCOME for those seen; ``ATTENDKEY`` numbered
    on from ``first_key``."""
    ref = np.datetime64(cfg.reference_date, "D")
    op = outpatients[outpatients["appointment_date"].to_numpy().astype("datetime64[D]") <= ref].reset_index(drop=True)
    n = len(op)
    person = op["person_id"].to_numpy()
    attended = op["attended"].fillna(False).to_numpy(dtype=bool)
    missed = rng.choice(["2", "3", "4"], n, p=[0.3, 0.5, 0.2])
    return pd.DataFrame({
        "ATTENDKEY": numbered("OP", first_key, n),
        "PSEUDO_HESID": hes_ids.reindex(person).to_numpy(dtype=str),
        "NEWNHSNO": as_recorded_nhs(rng, nhs.reindex(person).fillna("").to_numpy(dtype=str),
                                    cfg.identifier_noise.nhs_missing_hes, 0.0),
        "APPTDATE": format_dates(op["appointment_date"].to_numpy(), ISO),
        "ATTENDED": np.where(attended, "5", missed),
        "FIRSTATT": np.where(op["first_attendance"].fillna(False).to_numpy(dtype=bool), "1", "2"),
        "TRETSPEF": op["specialty"].astype(str).to_numpy(),
        "OUTCOME": np.where(attended, rng.choice(["1", "2", "3"], n, p=[0.45, 0.45, 0.10]), ""),
    })
