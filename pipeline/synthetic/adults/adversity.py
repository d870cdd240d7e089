"""The parents' adversity (domestic abuse, mental ill health, substance misuse): the household latents
that already drive their children's needs (population.build_households), now given to a parent so it
also shows in that parent's own records. Nothing here draws from the children's random stream, so the
children's simulation is unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults.codes import SNOMED
from pipeline.synthetic.adults.health import gp_rows

KINDS = {"dv": "domestic_abuse", "mh": "mental_health", "sub": "substance_misuse"}


def _fy_start(year: np.ndarray) -> np.ndarray:
    """1 April of the financial year ending in ``year`` (the children's simulation counts years so)."""
    return (year - 1 - 1970).astype("datetime64[Y]").astype("datetime64[D]") + np.timedelta64(90, "D")


def parent_adversity(rng: np.random.Generator, people: pd.DataFrame, hh: pd.DataFrame) -> pd.DataFrame:
    """Which parent lives each household adversity, and when.

    Domestic abuse is the mother's (the victim's) record; substance misuse mostly the father's where
    there is one; mental ill health mostly the mother's.

    Args:
        people: person_id, household_id, role.
        hh: household_id, dv_start/dv_end, mh_start/mh_end, sub_start/sub_end (financial years; 9999 = none).

    Returns:
        person_id, kind, start, end.
    """
    parents = people[people["role"].isin(["mother", "father"])]
    mother = parents[parents["role"] == "mother"].set_index("household_id")["person_id"]
    father = parents[parents["role"] == "father"].set_index("household_id")["person_id"]
    out = []
    for key, kind in KINDS.items():
        has = hh[hh[f"{key}_start"] < 9999]
        hid = has["household_id"].to_numpy()
        mum = mother.reindex(hid).to_numpy()
        dad = father.reindex(hid).to_numpy()
        p_dad = {"dv": 0.0, "mh": 0.3, "sub": 0.65}[key]
        pick = np.where(~np.isnan(dad) & (rng.random(hid.size) < p_dad), dad, mum)
        ok = ~np.isnan(pick)
        out.append(pd.DataFrame({
            "person_id": pick[ok].astype(np.int64), "kind": kind,
            "start": _fy_start(has[f"{key}_start"].to_numpy()[ok]),
            "end": _fy_start(has[f"{key}_end"].to_numpy()[ok]),
        }))
    return pd.concat(out, ignore_index=True)


def active_this_year(adversity: pd.DataFrame, idx: np.ndarray, ys: np.datetime64, ye: np.datetime64) -> dict:
    """Per kind key (dv, mh, sub), bool per person in ``idx``: their adversity overlaps [ys, ye)."""
    out = {}
    for key, kind in KINDS.items():
        a = adversity[(adversity["kind"] == kind) & (adversity["start"] < ye) & (adversity["end"] > ys)]
        out[key] = np.isin(idx, a["person_id"].to_numpy())
    return out


def adversity_gp_codes(rng: np.random.Generator, adversity: pd.DataFrame, until: np.ndarray) -> pd.DataFrame:
    """GP codes that a parent's adversity leads to: depression or SMI, alcohol or drug misuse.

    Args:
        until: per person_id, the last day a GP could code anything (leaving, death, reference date).
    """
    rows = []
    for kind, concept, p in (("mental_health", "depression", 0.6), ("mental_health", "smi", 0.06),
                             ("substance_misuse", "alcohol", 0.5), ("substance_misuse", "drug_misuse", 0.3)):
        a = adversity[adversity["kind"] == kind]
        a = a[rng.random(len(a)) < p]
        when = a["start"].to_numpy() + rng.integers(0, 365, len(a)).astype("timedelta64[D]")
        pid = a["person_id"].to_numpy()
        ok = when <= until[pid]
        rows.append(gp_rows(pid[ok], when[ok], np.full(ok.sum(), concept), np.full(ok.sum(), SNOMED[concept])))
    return pd.concat(rows, ignore_index=True)
