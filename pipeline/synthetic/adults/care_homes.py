"""Entry to residential and nursing care homes, council-funded or self-funded, and where people die.

Permanent entries are calibrated so the county's all-tenure rate per person aged 65+ is
``care_home_entry_65`` (ASCOF 2C 584/100k ÷ 0.63 state-funded ≈ 930/100k, S40, S45) and 18-64 is
``care_home_entry_18_64`` (2B); who enters is driven by dementia, frailty, age and living alone.
Funding follows the person's ``self_funder`` trait, so about 37% of entrants pay for themselves
(more in affluent areas). Short stays (respite) come and go without changing where someone lives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.synth_params import AdultsParams
from pipeline.synthetic.adults.state import DAY, State, Window

RESPITE_PER_PERMANENT = 0.25


def care_home_entries(
    rng: np.random.Generator, cfg: AdultsParams, state: State, win: Window, discharges: pd.Series,
    homes: pd.DataFrame, alone: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Permanent entries and short stays this year; moves permanent entrants into a home.

    Args:
        discharges: person_id -> last emergency discharge date this year (alive, not died in hospital).
        homes: home_id, setting (one row per care home in the county).
        alone: bool per person in ``win``: lives alone (no one else alive in the household).

    Returns:
        (entries, p_permanent): entries are person_id, entry_date, setting, funding, permanent, route,
        exit_date (NaT = stays), home_id; p_permanent is each person's chance in ``win`` of a permanent move
        this year (0 for someone already in a home), the generator's own probability kept as truth.
    """
    idx, age = win.idx, win.age
    home = state.care_home[idx] >= 0
    weight = np.exp(2.0 * state.dementia[idx] + 5.0 * state.efi()[idx] + 0.07 * np.clip(age - 75, -20, 30)
                    + 0.6 * alone + 0.8 * (state.ld[idx] & ~state.ld_moved[idx] & (age < 65)))
    frames = []
    p_permanent = np.zeros(idx.size)
    for lo, hi, rate in ((18, 65, cfg.care_home_entry_18_64), (65, 200, cfg.care_home_entry_65)):
        in_band = (age >= lo) & (age < hi)
        # people who die this year have less time in which to move (their window ends at death)
        w = np.where(in_band & ~home, weight * win.exposure, 0.0)
        expected = rate * win.exposure[in_band].sum()
        p = np.minimum(expected * w / max(w.sum(), 1e-12), 0.9)
        p_permanent = np.where(in_band, p, p_permanent)
        for permanent, scale in ((True, 1.0), (False, RESPITE_PER_PERMANENT if lo == 65 else 0.0)):
            rows = np.flatnonzero(rng.random(idx.size) < p * scale)
            if not permanent:  # a short stay is never someone's move in the same year
                rows = rows[~np.isin(rows, frames[-1]["row"].to_numpy())]
            frames.append(_entries(rng, state, win, rows, discharges, permanent))
    entries = pd.concat(frames, ignore_index=True)
    entries = entries[entries["entry_date"] < state.death[entries["person_id"].to_numpy()]]
    entries["home_id"] = _pick_home(rng, homes, entries["setting"].to_numpy())
    perm = entries[entries["permanent"]]
    pid = perm["person_id"].to_numpy()
    state.care_home[pid] = perm["home_id"].to_numpy()
    state.care_setting[pid] = perm["setting"].to_numpy()
    state.care_funding[pid] = perm["funding"].to_numpy()
    return entries.drop(columns="row").reset_index(drop=True), p_permanent


def _entries(rng, state: State, win: Window, rows: np.ndarray, discharges: pd.Series, permanent: bool) -> pd.DataFrame:
    pid = win.idx[rows]
    last = discharges.reindex(pid).to_numpy().astype("datetime64[D]")
    from_hospital = ~np.isnat(last) & (rng.random(rows.size) < 0.6)
    date = np.where(from_hospital, last, win.dates(rng, rows))
    nursing = rng.random(rows.size) < 0.2 + 0.4 * (state.efi()[pid] > 0.3) + 0.15 * state.dementia[pid]
    stay = rng.integers(7, 43, rows.size).astype("timedelta64[D]")
    # few younger adults pay for their own care home (2% in younger adults' homes, S45)
    self_pays = state.self_funder[pid] & ((win.age[rows] >= 65) | (rng.random(rows.size) < 0.05))
    state.self_funder[pid[~self_pays]] = False  # the council pays: not a self-funder after all
    return pd.DataFrame({
        "row": rows, "person_id": pid, "entry_date": date,
        "setting": np.where(nursing, "nursing", "residential"),
        "funding": np.where(self_pays, "self", "council"), "permanent": permanent,
        "route": np.where(from_hospital, "hospital_discharge", "community"),
        "exit_date": (date + stay) if not permanent else np.full(rows.size, np.datetime64("NaT", "D")),
    })


def _pick_home(rng: np.random.Generator, homes: pd.DataFrame, setting: np.ndarray) -> np.ndarray:
    out = np.empty(setting.size, dtype=np.int64)
    for kind in ("residential", "nursing"):
        sel = setting == kind
        pool = homes.loc[homes["setting"] == kind, "home_id"].to_numpy()
        out[sel] = rng.choice(pool, int(sel.sum()))
    return out


def place_of_death(rng: np.random.Generator, state: State, pid: np.ndarray, in_hospital: np.ndarray) -> np.ndarray:
    """Where each death happens: in hospital when it ends a spell, else care home, hospice or home."""
    resident = state.care_home[pid] >= 0
    u = rng.random(pid.size)
    other = np.where(resident, "care_home", np.where(u < 0.14, "hospice", "home"))
    return np.where(in_hospital, "hospital", other)


def terminal_admission_share(state: State, pid: np.ndarray) -> np.ndarray:
    """Chance that a death not already in hospital ends an emergency admission (about 45% of all
    deaths are in hospital; fewer for care-home residents)."""
    return np.where(state.care_home[pid] >= 0, 0.28, 0.52)


__all__ = ["DAY", "care_home_entries", "place_of_death", "terminal_admission_share"]
