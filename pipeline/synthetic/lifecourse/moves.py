"""House moves within the county, year by year, to neighbourhoods of similar deprivation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.lifecourse.calendar import random_dates, year_start


def simulate_moves(rng: np.random.Generator, cfg: SynthParams, hh: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    """House moves within the county, to a neighbourhood of similar deprivation.

    Args:
        hh: household_id, imd_decile (see population.build_households).
        lsoas: lsoa_code, imd_decile (see population.build_neighbourhoods).

    Returns:
        household_id, move_date, lsoa_code — one row per move (the first address is in ``hh``).
    """
    rows = []
    present = {int(d): g["lsoa_code"].to_numpy() for d, g in lsoas.groupby("imd_decile")}
    # a small county may lack a decile: movers then go to the nearest decile it has
    by_decile = {d: present[min(present, key=lambda p, d=d: (abs(p - d), p))] for d in range(1, 11)}
    for year in range(2001, 2027):
        movers = np.flatnonzero(rng.random(len(hh)) < cfg.move_within_rate)
        if movers.size == 0:
            continue
        dec = hh["imd_decile"].to_numpy()[movers] + rng.integers(-1, 2, movers.size)
        dec = dec.clip(1, 10)
        new = np.empty(movers.size, dtype=object)
        for d in np.unique(dec):
            sel = dec == d
            new[sel] = rng.choice(by_decile[int(d)], int(sel.sum()))
        rows.append(
            pd.DataFrame(
                {
                    "household_id": hh["household_id"].to_numpy()[movers],
                    "move_date": random_dates(rng, year_start(year), movers.size),
                    "lsoa_code": new.astype(str),
                }
            )
        )
    return pd.concat(rows, ignore_index=True).sort_values(["household_id", "move_date"], ignore_index=True)
