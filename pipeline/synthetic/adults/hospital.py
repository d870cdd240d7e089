"""One year of hospital use: emergency admissions (a persistent gamma frailty times a yearly transient
shock, so high users regress to the mean as Roland 2005 found), ED attendances, elective admissions and
outpatient appointments.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.synth_params import AdultsParams
from pipeline.synthetic.adults.codes import (
    AGE_BANDS,
    ICD_ELECTIVE,
    ICD_EMERGENCY_OLD,
    ICD_EMERGENCY_YOUNG,
    SPECIALTIES,
    SPECIALTY_WEIGHTS,
    band_of,
)
from pipeline.synthetic.adults.state import DAY, State, Window

CARE_HOME_SOURCE = {"residential": ("65", "85"), "nursing": ("85", "54")}
LTC_ICD = {"hypertension": "I10X", "diabetes": "E119", "copd": "J449", "atrial_fibrillation": "I489",
           "heart_failure": "I509", "ckd": "N183", "ihd": "I259", "cancer": "C809"}


@dataclass
class Ids:
    """Running ids of spells, attendances and social care events across years."""

    spell: int = 1
    attendance: int = 1
    event: int = 1

    def spells(self, n: int) -> np.ndarray:
        self.spell += n
        return np.arange(self.spell - n, self.spell, dtype=np.int64)

    def attendances(self, n: int) -> np.ndarray:
        self.attendance += n
        return np.arange(self.attendance - n, self.attendance, dtype=np.int64)

    def events(self, n: int) -> np.ndarray:
        self.event += n
        return np.arange(self.event - n, self.event, dtype=np.int64)


def admission_risk(state: State, idx: np.ndarray) -> np.ndarray:
    """Each person's lasting relative rate of emergency admission (before the yearly shock)."""
    efi = state.efi()[idx]
    return state.persistent[idx] * np.exp(
        3.0 * efi + 0.6 * state.dementia[idx] + 0.5 * state.ld[idx] + 0.1 * state.poverty[idx]
        + 0.25 * state.health[idx] + 0.3 * (state.care_home[idx] >= 0)
    )


def yearly_shock(rng: np.random.Generator, cfg: AdultsParams, n: int) -> np.ndarray:
    """This year's passing shock to each person's admission rate (gamma, mean 1): an acute illness or
    crisis that also raises the chance of dying this year."""
    return rng.gamma(cfg.transient_shape, 1 / cfg.transient_shape, n)


def emergency_counts(
    rng: np.random.Generator, cfg: AdultsParams, state: State, win: Window, shock: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Emergency admissions of each person this year, and their expected count before the shock (the truth).

    The band's mean rate is ``cfg.emergency_per_1000``; people within a band differ by their lasting
    risk and by ``shock``, drawn afresh each year.
    """
    band = band_of(win.age)
    risk = admission_risk(state, win.idx)
    mean = np.bincount(band, risk, len(AGE_BANDS)) / np.maximum(np.bincount(band, minlength=len(AGE_BANDS)), 1)
    per_band = np.array([cfg.emergency_per_1000[name] / 1000 for name, _, _ in AGE_BANDS])
    expected = per_band[band] * risk / mean[band] * win.exposure
    return rng.poisson(expected * shock), expected


def _los(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    """Length of stay in days: about a third are zero-day; longer with age."""
    median = np.interp(age, [18, 45, 65, 80, 90], [1.5, 2.0, 4.0, 6.5, 8.0])
    days = np.exp(rng.normal(np.log(median), 0.9)).astype(int) + 1
    return np.where(rng.random(age.size) < np.interp(age, [18, 65, 90], [0.45, 0.3, 0.18]), 0, days)


def _secondary(rng: np.random.Generator, state: State, pid: np.ndarray, primary: np.ndarray) -> list[tuple]:
    from pipeline.synthetic.adults.codes import CONDITION_NAMES

    cols = [CONDITION_NAMES.index(n) for n in LTC_ICD]
    codes = np.array(list(LTC_ICD.values()))
    has = state.cond[pid][:, cols]
    dem = state.dementia[pid]
    out = []
    for i, p in enumerate(primary):
        extra = list(codes[has[i]][:3]) + (["F03X"] if dem[i] else [])
        out.append((p, *extra))
    return out


def admissions_frame(
    rng: np.random.Generator, state: State, ids: Ids, pid: np.ndarray, date: np.ndarray, method: np.ndarray,
    primary: np.ndarray, age: np.ndarray,
) -> pd.DataFrame:
    """Spells from admission dates: length of stay, source and destination, death in hospital."""
    n = pid.size
    discharge = date + _los(rng, age).astype("timedelta64[D]")
    died = discharge >= state.death[pid]
    discharge = np.where(died, state.death[pid], discharge)
    setting = state.care_setting[pid]
    ch_code = np.where(setting == "nursing", "85", np.where(rng.random(n) < 0.2, "65", "85"))
    in_home = state.care_home[pid] >= 0
    episodes = 1 + rng.binomial(1, np.interp(age, [18, 90], [0.15, 0.45])) + rng.binomial(1, 0.08, n)
    return pd.DataFrame({
        "person_id": pid, "spell_id": ids.spells(n), "admission_date": date, "discharge_date": discharge,
        "admission_method": method, "admission_source": np.where(in_home, ch_code, "19"),
        "discharge_method": np.where(died, "4", "1"),
        "discharge_destination": np.where(died, "79", np.where(in_home, ch_code, "19")),
        "diagnoses": _secondary(rng, state, pid, primary), "n_episodes": episodes.astype(np.int64),
        "via_ed_attendance_id": np.full(n, -1, dtype=np.int64),
    })


def emergency_admissions(
    rng: np.random.Generator, state: State, win: Window, counts: np.ndarray, ids: Ids
) -> pd.DataFrame:
    """One row per emergency spell (ADMIMETH 21 via ED ~70%, 22 GP, others)."""
    rows = np.repeat(np.arange(win.idx.size), counts)
    pid, age = win.idx[rows], win.age[rows]
    date = win.dates(rng, rows)
    method = rng.choice(np.array(["21", "22", "2A", "23", "24", "2D"]), rows.size,
                        p=[0.70, 0.17, 0.03, 0.03, 0.03, 0.04])
    old = age >= 65
    primary = np.where(old, rng.choice(ICD_EMERGENCY_OLD, rows.size), rng.choice(ICD_EMERGENCY_YOUNG, rows.size))
    return admissions_frame(rng, state, ids, pid, date, method, primary, age)


def elective_admissions(rng: np.random.Generator, state: State, win: Window, ids: Ids) -> pd.DataFrame:
    """Planned admissions (ADMIMETH 11/12/13): about 0.1 a year at 50, more with age."""
    rate = 0.1 * np.exp(0.03 * (win.age - 50)) * win.exposure
    rows = np.repeat(np.arange(win.idx.size), rng.poisson(rate))
    frame = admissions_frame(rng, state, ids, win.idx[rows], win.dates(rng, rows),
                             rng.choice(np.array(["11", "12", "13"]), rows.size, p=[0.6, 0.3, 0.1]),
                             rng.choice(ICD_ELECTIVE, rows.size), np.minimum(win.age[rows], 30))
    return frame[frame["admission_date"] < state.death[frame["person_id"].to_numpy()]]


def outpatients(rng: np.random.Generator, cfg: AdultsParams, state: State, win: Window) -> pd.DataFrame:
    """Outpatient appointments: more with age and with long-term conditions; some not attended."""
    n_cond = state.cond[win.idx].sum(axis=1)
    rate = cfg.outpatients_per_year * np.exp(0.02 * (win.age - 50)) * (1 + 0.15 * n_cond) * win.exposure
    rows = np.repeat(np.arange(win.idx.size), rng.poisson(rate))
    pid = win.idx[rows]
    when = win.dates(rng, rows)
    keep = when < state.death[pid]
    dna = 0.06 + 0.02 * np.clip(state.poverty[pid], -2, 3)
    return pd.DataFrame({
        "person_id": pid[keep], "appointment_date": when[keep], "attended": (rng.random(rows.size) > dna)[keep],
        "first_attendance": (rng.random(rows.size) < 0.35)[keep],
        # a category: tens of millions of appointments at 1,000,000 people
        "specialty": pd.Categorical(rng.choice(SPECIALTIES, rows.size, p=SPECIALTY_WEIGHTS / SPECIALTY_WEIGHTS.sum())[
            keep], categories=SPECIALTIES),
    })


__all__ = ["DAY", "Ids", "admissions_frame", "elective_admissions", "emergency_admissions", "emergency_counts",
           "outpatients", "yearly_shock"]
