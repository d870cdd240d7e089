"""GP extracts of the whole population: patient records per registration, coded events, medication issues.

Each practice's system gives a registered patient its own id, so someone who changed practice has one
patient record per practice. Events and issues belong to the registration open on their date. Coding
as practices do it: a register code is entered again at later reviews, a few events are keyed twice
on the same day (an exact duplicate row, which ingest quarantines), a few codes are mistyped (their
Verhoeff check digit fails, so ingest flags and nulls them). Dates are dd/mm/yyyy as GP systems export.
Each patient record carries the RALF of its address (a pseudonymised UPRN, the household key of GP extracts
in secure data environments), blank where the address matched no UPRN.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.codes import NHS_ETHNIC_CATEGORY
from pipeline.synthetic.export_adult_health_recording import (
    RECORDING,
    address_on,
    as_recorded_nhs,
    postcode_on,
    recorded_people,
)
from pipeline.synthetic.formatting import format_dates

UK = "%d/%m/%Y"
RECODED_LATER = 0.10  # share of events coded again at a later review
KEYED_TWICE = 0.01  # share of events entered twice on the same day
MISTYPED_CODE = 0.002  # share of SNOMED codes with one digit mistyped
# share of registrations whose address matched no residential UPRN, so the record carries no RALF
# (Harper et al., IJPDS 2024: 8-11% of north-east London patients had no valid household RALF)
RALF_UNMATCHED = 0.08
RALF_SALT = b"synthetic-nhse-ralf\x00"  # stands in for NHS England's own pseudonymisation key


def gp_patients(rng: np.random.Generator, cfg: SynthParams, people: pd.DataFrame, registrations: pd.DataFrame,
                addresses: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One patient record per registration begun by the reference date (``gp_patients.csv``).

    Returns:
        The file frame, and the registrations behind it: ``person_id``, ``record_key`` (Patient_ID),
        ``start``, ``end`` (NaT = open), used to place events and issues.
    """
    ref = np.datetime64(cfg.reference_date, "D")
    reg = registrations[registrations["start"].to_numpy().astype("datetime64[D]") <= ref].reset_index(drop=True)
    person = people.set_index("person_id").reindex(reg["person_id"])
    start = reg["start"].to_numpy().astype("datetime64[D]")
    end = reg["end"].to_numpy().astype("datetime64[D]")
    end = np.where(np.isnat(end) | (end > ref), np.datetime64("NaT"), end)
    death = person["death_date"].to_numpy().astype("datetime64[D]")
    died_registered = ~np.isnat(death) & (death <= ref) & ~np.isnat(end) & (end >= death)
    scale, missing, mistyped = RECORDING["gp"]
    who = recorded_people(rng, cfg, people[people["person_id"].isin(reg["person_id"])], scale)
    who = who.reindex(reg["person_id"])
    # a registration is traced against the NHS spine, so the date of birth is the true one; names vary
    who["dob"] = person["dob"].to_numpy()
    keys = np.char.add("P", np.char.zfill(rng.choice(10**9, len(reg), replace=False).astype(str), 9))
    eth = person["ethnicity"].map(NHS_ETHNIC_CATEGORY).fillna("Z").to_numpy(dtype=str)
    as_of = np.where(np.isnat(end), ref, end)
    frame = pd.DataFrame({
        "Patient_ID": keys,
        "NHS_Number": as_recorded_nhs(rng, person["nhs_number"].fillna("").to_numpy(dtype=str), missing, mistyped),
        "Forename": who["forename"].to_numpy(dtype=str),
        "Surname": who["surname"].to_numpy(dtype=str),
        "Date_Of_Birth": format_dates(who["dob"].to_numpy(), UK),
        "Sex": person["sex"].fillna("U").to_numpy(dtype=str),
        "Ethnicity": np.where(rng.random(len(reg)) < 0.15, "Z", eth),  # ethnicity often not stated in GP records
        "Postcode": postcode_on(addresses, reg["person_id"].to_numpy(), as_of),
        "RALF": _ralf(addresses, reg["person_id"].to_numpy(), as_of),
        "Practice_Code": reg["gp_practice"].astype(str).to_numpy(),
        "Registration_Start_Date": format_dates(start, UK),
        "Registration_End_Date": format_dates(end, UK),
        "Date_Of_Death": format_dates(np.where(died_registered, death, np.datetime64("NaT")), UK),
    })
    placed = pd.DataFrame({"person_id": reg["person_id"].to_numpy(), "record_key": keys, "start": start,
                           "end": end})
    return frame, placed


def _ralf(addresses: pd.DataFrame, person_id: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Each registration's Residential Anonymised Linking Field: the pseudonymised UPRN of the address held on
    ``when`` ('' for the few addresses matched to no UPRN), the household key an SDE's GP extract carries.
    Which addresses went unmatched is drawn from a hash of person and UPRN, not from the county's random
    stream, so adding the column changes no other synthetic value.

    Args:
        addresses: ``AdultLives.addresses`` (person_id, uprn, start).
    """
    uprn = address_on(addresses, person_id, when, "uprn", earliest_before_first=False)
    ralf = {u: hashlib.sha256(RALF_SALT + u.encode()).hexdigest()[:20].upper() for u in set(uprn) if u}
    unmatched = [int(hashlib.sha256(f"{p}/{u}".encode()).hexdigest()[:8], 16) < RALF_UNMATCHED * 2**32
                 for p, u in zip(np.asarray(person_id, dtype=np.int64), uprn, strict=True)]
    return np.where(unmatched, "", np.array([ralf.get(u, "") for u in uprn], dtype=object)).astype(str)


def _registered_on(events: pd.DataFrame, date_column: str, registrations: pd.DataFrame) -> pd.DataFrame:
    """``events`` with ``record_key`` of the registration open on each date (events outside any are dropped)."""
    ev = events.assign(_when=events[date_column].astype("datetime64[s]"), _row=np.arange(len(events)))
    reg = registrations.assign(start=registrations["start"].astype("datetime64[s]"),
                               end=registrations["end"].astype("datetime64[s]")).sort_values("start", kind="stable")
    found = pd.merge_asof(ev.sort_values("_when", kind="stable"), reg, left_on="_when", right_on="start",
                          by="person_id", direction="backward")
    open_then = found["record_key"].notna() & (found["end"].isna() | (found["_when"] <= found["end"]))
    return found[open_then].sort_values("_row").drop(columns=["_row", "start", "end"]).reset_index(drop=True)


def _mistype(rng: np.random.Generator, values: np.ndarray, rate: float) -> np.ndarray:
    """Change one digit of a few codes (``rate``), as a keying slip would."""
    out = values.astype(object)
    for i in np.flatnonzero((rng.random(len(out)) < rate) & (np.char.str_len(values.astype(str)) > 0)):
        code = list(out[i])
        at = int(rng.integers(0, len(code)))
        code[at] = str((int(code[at]) + 1 + int(rng.integers(0, 8))) % 10) if code[at].isdigit() else code[at]
        out[i] = "".join(code)
    return out.astype(str)


def gp_events(rng: np.random.Generator, cfg: SynthParams, events: pd.DataFrame, placed: pd.DataFrame) -> pd.DataFrame:
    """Coded events (``gp_events.csv``) as practices record them, up to the reference date."""
    ref = np.datetime64(cfg.reference_date, "D")
    ev = events[events["date"].to_numpy().astype("datetime64[D]") <= ref].reset_index(drop=True)
    again = ev[rng.random(len(ev)) < RECODED_LATER].copy()
    again["date"] = again["date"].to_numpy().astype("datetime64[D]") + rng.integers(180, 1100, len(again)).astype(
        "timedelta64[D]")
    again = again[again["date"].to_numpy().astype("datetime64[D]") <= ref]
    ev = pd.concat([ev, again], ignore_index=True)
    ev = _registered_on(ev, "date", placed)
    ev = pd.concat([ev, ev[rng.random(len(ev)) < KEYED_TWICE]], ignore_index=True)
    ev = ev.sort_values(["record_key", "_when"], kind="stable").reset_index(drop=True)
    value = pd.to_numeric(ev["value"], errors="coerce").to_numpy(dtype=float)
    return pd.DataFrame({
        "Patient_ID": ev["record_key"].to_numpy(dtype=str),
        "Event_Date": format_dates(ev["_when"].to_numpy(), UK),
        "SNOMED_Code": _mistype(rng, ev["snomed"].astype(str).to_numpy(), MISTYPED_CODE),
        "Value": np.where(np.isnan(value), "", np.round(value, 1).astype(str)),
        "Unit": ev["unit"].fillna("").astype(str).to_numpy(),
    })


def gp_medications(rng: np.random.Generator, cfg: SynthParams, medications: pd.DataFrame,
                   placed: pd.DataFrame) -> pd.DataFrame:
    """Medication issues (``gp_medications.csv``) up to the reference date."""
    ref = np.datetime64(cfg.reference_date, "D")
    med = medications[medications["date"].to_numpy().astype("datetime64[D]") <= ref].reset_index(drop=True)
    med = _registered_on(med, "date", placed)
    return pd.DataFrame({
        "Patient_ID": med["record_key"].to_numpy(dtype=str),
        "Issue_Date": format_dates(med["_when"].to_numpy(), UK),
        "BNF_Code": med["bnf_code"].astype(str).to_numpy(),
        "Quantity": med["quantity"].astype(np.int64).astype(str).to_numpy(),
        "Issue_Type": np.where(med["repeat"].fillna(False).to_numpy(dtype=bool), "Repeat", "Acute"),
    })
