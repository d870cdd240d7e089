"""One year of health: new long-term conditions and frailty deficits, dementia, mental ill health,
and death (the ONS life table times the eFI hazard ratios, S16), competing with every later event.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults.codes import CONDITIONS, SNOMED, band_of, concept_of, qx
from pipeline.synthetic.adults.state import ADULT_DAYS, DAY, State, Window

SLOPES = np.array([c.slope for c in CONDITIONS])
HAZ60 = np.array([c.hazard60 for c in CONDITIONS])
MEMORY = [c.name for c in CONDITIONS].index("memory_cognitive")
EFI_HR = np.array([1.0, 1.92, 3.10, 4.52])  # fit / mild / moderate / severe, 1-year mortality (Clegg 2016)
SHOCK_DEATH = 0.8  # how much a year's admission shock raises that year's death hazard (high users die more)
DEMENTIA_DIAGNOSED = 0.65  # share of people with dementia who get a GP diagnosis (national estimate)


def _cumulative_hazard(age: np.ndarray) -> np.ndarray:
    """Expected onsets of each condition from 18 to ``age`` (n, conditions)."""
    a = age[:, None]
    s = np.where(SLOPES == 0, 1e-9, SLOPES) / 10
    return HAZ60 * (np.exp(s * (a - 60)) - np.exp(s * (18 - 60))) / s


def _multiplier(state: State, idx: np.ndarray) -> np.ndarray:
    return np.exp(0.35 * state.health[idx] + 0.1 * state.poverty[idx]) * np.where(state.ld[idx], 1.5, 1.0)


def gp_rows(pid: np.ndarray, date: np.ndarray, concept: np.ndarray, snomed: np.ndarray) -> pd.DataFrame:
    """GP coded events (no value)."""
    return pd.DataFrame({"person_id": pid, "date": date, "snomed": snomed, "value": np.nan, "unit": "",
                         "concept": concept})


def seed_conditions(rng: np.random.Generator, state: State, win: Window) -> list[pd.DataFrame]:
    """Conditions a person already has when first seen as an adult here, dated back over adult life."""
    new = ~state.seeded[win.idx]
    idx, age, lo = win.idx[new], win.age[new], win.lo[new]
    state.seeded[idx] = True
    if not idx.size:
        return []
    p = 1 - np.exp(-_cumulative_hazard(age) * _multiplier(state, idx)[:, None])
    has = rng.random(p.shape) < p
    state.cond[idx] |= has
    dem_p = 1 - np.exp(-0.0018 * 5 / np.log(2) * np.exp(np.log(2) / 5 * (np.maximum(age, 55) - 65)) * 1.0)
    dem_p = np.where(age >= 55, dem_p, 0.0) * np.where(state.ld[idx], 3.0, 1.0)
    dem = rng.random(idx.size) < np.minimum(dem_p, 0.9)
    state.dementia[idx] |= dem
    state.dementia_since[idx[dem]] = lo[dem]
    state.cond[idx[dem], MEMORY] = True
    rows, cols = np.nonzero(has)
    adult_from = np.maximum(state.dob[idx] + ADULT_DAYS, state.arrive[idx])  # coded by a practice here
    span = np.maximum((lo - adult_from).astype(np.int64), 1)

    def back(r: np.ndarray) -> np.ndarray:
        return adult_from[r] + (rng.random(r.size) * span[r]).astype("timedelta64[D]")

    names = np.array([concept_of(c.name) for c in CONDITIONS])
    codes = np.array([c.snomed for c in CONDITIONS])
    out = [gp_rows(idx[rows], back(rows), names[cols], codes[cols])]
    diag = np.flatnonzero(dem & (rng.random(idx.size) < DEMENTIA_DIAGNOSED))
    out.append(gp_rows(idx[diag], back(diag), np.full(diag.size, "dementia"), np.full(diag.size, SNOMED["dementia"])))
    # severe mental illness (about 0.9% of adults) and depression (about 12% ever coded)
    for concept, prev in (("smi", 0.009), ("depression", 0.10)):
        got = np.flatnonzero(rng.random(idx.size) < prev * np.exp(0.3 * state.poverty[idx]))
        out.append(gp_rows(idx[got], back(got), np.full(got.size, concept), np.full(got.size, SNOMED[concept])))
    ld = np.flatnonzero(state.ld_registered[idx])
    out.append(gp_rows(idx[ld], back(ld), np.full(ld.size, "ld"), np.full(ld.size, SNOMED["ld"])))
    return out


def new_conditions(rng: np.random.Generator, state: State, win: Window) -> list[pd.DataFrame]:
    """Onsets during the year (dated inside each person's window; those after death never happen)."""
    idx, age = win.idx, win.age
    haz = HAZ60 * np.exp(SLOPES * (age[:, None] - 60) / 10) * _multiplier(state, idx)[:, None]
    p = 1 - np.exp(-haz * win.exposure[:, None])
    onset = (rng.random(p.shape) < p) & ~state.cond[idx]
    dem_h = 0.0018 * np.exp(np.log(2) / 5 * (age - 65)) * np.exp(0.3 * state.health[idx])
    dem_h = np.where(age >= 55, dem_h, 0.0) * np.where(state.ld[idx], 3.0, 1.0)
    dem = (rng.random(idx.size) < 1 - np.exp(-dem_h * win.exposure)) & ~state.dementia[idx]
    rows, cols = np.nonzero(onset)
    when = win.dates(rng, rows)
    alive = when < state.death[idx[rows]]
    rows, cols, when = rows[alive], cols[alive], when[alive]
    state.cond[idx[rows], cols] = True
    names = np.array([concept_of(c.name) for c in CONDITIONS])
    codes = np.array([c.snomed for c in CONDITIONS])
    out = [gp_rows(idx[rows], when, names[cols], codes[cols])]
    d_rows = np.flatnonzero(dem)
    d_when = win.dates(rng, d_rows)
    d_alive = d_when < state.death[idx[d_rows]]
    d_rows, d_when = d_rows[d_alive], d_when[d_alive]
    state.dementia[idx[d_rows]] = True
    state.dementia_since[idx[d_rows]] = d_when
    state.cond[idx[d_rows], MEMORY] = True
    diag = rng.random(d_rows.size) < DEMENTIA_DIAGNOSED
    d_coded = d_when[diag] + (rng.random(diag.sum()) * 540).astype("timedelta64[D]")
    keep = d_coded < np.minimum(state.death[idx[d_rows[diag]]], win.hi[d_rows[diag]] + 365 * DAY)
    out.append(gp_rows(idx[d_rows[diag]][keep], d_coded[keep], np.full(keep.sum(), "dementia"),
                       np.full(keep.sum(), SNOMED["dementia"])))
    dep = np.flatnonzero(rng.random(idx.size) < 0.01 * np.exp(0.3 * state.poverty[idx]) * win.exposure)
    out.append(gp_rows(idx[dep], win.dates(rng, dep), np.full(dep.size, "depression"),
                       np.full(dep.size, SNOMED["depression"])))
    return out


def efi_hazard_ratio(efi: np.ndarray) -> np.ndarray:
    """Clegg's 1-year mortality hazard ratios by eFI category (fit <=0.12, mild <=0.24, moderate <=0.36)."""
    return EFI_HR[np.searchsorted([0.12, 0.24, 0.36], efi, side="left")]


def decide_deaths(rng: np.random.Generator, state: State, win: Window, shock: np.ndarray) -> np.ndarray:
    """Who dies this year and when: qx by age and sex times a relative hazard (frailty, dementia, care
    home, learning disability, this year's shock), rescaled within 5-year age bands so each band dies at
    the life table's rate. Sets ``state.death``; returns the positions in ``win`` of those who die."""
    idx, age = win.idx, win.age
    hr = (efi_hazard_ratio(state.efi()[idx]) * np.where(state.dementia[idx], 1.8, 1.0)
          * np.where(state.care_home[idx] >= 0, 1.8, 1.0)
          * np.where(state.ld[idx] & (age < 70), 3.0, 1.0) * np.exp(0.15 * state.health[idx]) * shock**SHOCK_DEATH)
    band = np.minimum(age // 5, 21).astype(int)
    mean = np.bincount(band, hr, 22) / np.maximum(np.bincount(band, minlength=22), 1)
    q = np.minimum(qx(age, state.male[idx]) * hr / mean[band], 0.95)
    dies = (rng.random(idx.size) < 1 - (1 - q) ** win.exposure) & (state.lives_until[idx] < win.lo)
    rows = np.flatnonzero(dies)
    state.death[idx[rows]] = win.dates(rng, rows)
    return rows


__all__ = ["band_of", "decide_deaths", "new_conditions", "seed_conditions"]
