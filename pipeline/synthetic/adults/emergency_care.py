"""Emergency department attendances: those that end in admission, those sent home (or back to the care
home), and the parents' own attendances caused by household adversity (assault, self-harm, substances).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults.codes import (
    ACUITY,
    ED_COMPLAINT,
    ED_DIAGNOSIS,
    ICD_ASSAULT,
    ICD_SELF_HARM,
    ICD_SUBSTANCE,
)
from pipeline.synthetic.adults.hospital import Ids, admissions_frame
from pipeline.synthetic.adults.state import DAY, State, Window

ED_RATE = np.array([[18, 0.30], [45, 0.22], [65, 0.22], [75, 0.32], [85, 0.55], [110, 0.6]])  # not admitted, per year
ADVERSITY_KIND = {"dv": ("assault", 0.25), "mh": ("self_harm", 0.12), "sub": ("substance", 0.30)}


def attendance_frame(
    rng: np.random.Generator, state: State, ids: Ids, pid: np.ndarray, when: np.ndarray, kind: np.ndarray,
    admitted: np.ndarray, age: np.ndarray,
) -> pd.DataFrame:
    """ED attendances of one kind each ("illness", "injury", "assault", "self_harm", "substance")."""
    n = pid.size
    ambulance_p = np.clip(np.interp(age, [18, 65, 85], [0.12, 0.3, 0.6]) + 0.3 * admitted, 0, 0.95)
    u = rng.random(n)
    mode = np.where(u < ambulance_p, "ambulance", "own")
    mode = np.where((kind == "assault") & (rng.random(n) < 0.15), "police", mode)
    acuity_p = np.where(admitted[:, None], [0.05, 0.35, 0.5, 0.1, 0.0], [0.0, 0.05, 0.3, 0.5, 0.15])
    acuity = np.array(ACUITY)[(rng.random(n)[:, None] > np.cumsum(acuity_p, axis=1)).sum(axis=1).clip(0, 4)]
    complaint, diagnosis = _by_kind(rng, kind, ED_COMPLAINT), _by_kind(rng, kind, ED_DIAGNOSIS)
    setting = state.care_setting[pid]
    home = np.where(setting == "nursing", "nursing_home",
                    np.where(setting == "residential", "residential_home", "home"))
    died = ~admitted & (when >= state.death[pid])
    discharge = np.where(admitted, "admitted", np.where(died, "died",
                         np.where(rng.random(n) < 0.03, "transfer", home)))
    intent = np.where(kind == "illness", "", np.where(kind == "injury", "accident", kind))
    intent = np.where(intent == "substance", "", intent)
    return pd.DataFrame({
        "person_id": pid, "attendance_id": ids.attendances(n), "arrival_date": when,
        "department_type": np.where(admitted, "01", rng.choice(np.array(["01", "02", "03", "04"]), n,
                                                               p=[0.72, 0.03, 0.21, 0.04])),
        "attendance_category": np.where(~admitted & (rng.random(n) < 0.04), "4", "1"),
        "arrival_mode": mode, "acuity": acuity, "chief_complaint": complaint.astype(str),
        "injury_intent": intent, "diagnosis_snomed": diagnosis.astype(str),
        "substance_involved": (kind == "substance") | ((kind == "assault") & (rng.random(n) < 0.3)),
        "discharge": discharge,
        "departure_date": when + (rng.random(n) < 0.25).astype(int) * DAY,
    })


def _by_kind(rng: np.random.Generator, kind: np.ndarray, table: dict[str, tuple[str, ...]]) -> np.ndarray:
    out = np.empty(kind.size, dtype=object)
    for k, codes in table.items():
        sel = kind == k
        out[sel] = rng.choice(codes, int(sel.sum()))
    return out


def attendances_before_admission(
    rng: np.random.Generator, state: State, ids: Ids, adm: pd.DataFrame, age_of: np.ndarray
) -> pd.DataFrame:
    """The ED attendance of each emergency spell admitted via ED (ADMIMETH 21/2A); links the spell to it."""
    via = adm["admission_method"].isin(["21", "2A"]).to_numpy()
    pid = adm["person_id"].to_numpy()[via]
    when = adm["admission_date"].to_numpy()[via]
    primary = np.array([d[0] for d in adm["diagnoses"].to_numpy()[via]], dtype=str)
    kind = np.where(np.isin(primary, ICD_SELF_HARM), "self_harm",
                    np.where(np.isin(primary, ICD_ASSAULT), "assault",
                             np.where(np.isin(primary, ICD_SUBSTANCE), "substance",
                                      np.where(np.char.startswith(primary, "S"), "injury", "illness"))))
    att = attendance_frame(rng, state, ids, pid, when, kind, np.ones(pid.size, bool), age_of[via])
    att["departure_date"] = when
    adm.loc[via, "via_ed_attendance_id"] = att["attendance_id"].to_numpy()
    return att


def other_attendances(rng: np.random.Generator, state: State, win: Window, ids: Ids, risk: np.ndarray) -> pd.DataFrame:
    """Attendances not ending in admission: by age, raised for frail people and care-home residents."""
    base = np.interp(win.age, ED_RATE[:, 0], ED_RATE[:, 1])
    rate = base * np.sqrt(risk / np.mean(risk)) * np.where(state.care_home[win.idx] >= 0, 1.6, 1.0)
    rows = np.repeat(np.arange(win.idx.size), rng.poisson(rate * win.exposure))
    pid, age, when = win.idx[rows], win.age[rows], win.dates(rng, rows)
    keep = when <= state.death[pid]
    pid, age, when = pid[keep], age[keep], when[keep]
    kind = np.where(rng.random(pid.size) < np.interp(age, [18, 65, 90], [0.35, 0.25, 0.3]), "injury", "illness")
    return attendance_frame(rng, state, ids, pid, when, kind, np.zeros(pid.size, bool), age)


def adversity_events(
    rng: np.random.Generator, state: State, win: Window, ids: Ids, active: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The parents' own ED attendances caused by active household adversity; ~15% end in admission.

    Args:
        active: per kind (dv, mh, sub), bool per person in ``win`` affected this year.
    """
    atts, spells = [], []
    for key, (kind, rate) in ADVERSITY_KIND.items():
        rows = np.repeat(np.arange(win.idx.size), rng.poisson(rate * active[key] * win.exposure))
        pid, age, when = win.idx[rows], win.age[rows], win.dates(rng, rows)
        keep = when < state.death[pid]
        pid, age, when = pid[keep], age[keep], when[keep]
        admit = rng.random(pid.size) < 0.15
        att = attendance_frame(rng, state, ids, pid, when, np.full(pid.size, kind), admit, age)
        icd = {"assault": ICD_ASSAULT, "self_harm": ICD_SELF_HARM, "substance": ICD_SUBSTANCE}[kind]
        adm = admissions_frame(rng, state, ids, pid[admit], when[admit], np.full(admit.sum(), "21"),
                               rng.choice(icd, admit.sum()), age[admit])
        adm["via_ed_attendance_id"] = att["attendance_id"].to_numpy()[admit]
        atts.append(att)
        spells.append(adm)
    return pd.concat(atts, ignore_index=True), pd.concat(spells, ignore_index=True)
