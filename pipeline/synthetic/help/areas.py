"""Area programmes: which wards get the key-worker programme in which wave, the pilot ward, the recording
break's ward, and each programme's effect on referrals by ward and date (growing with time since go-live).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.synth_params import HelpParams

NONE, KEY_WORKER, PILOT = 0, 1, 2
PROGRAMME_NAMES = {KEY_WORKER: "key_worker", PILOT: "pilot"}


def quarters_since(start: np.ndarray, date: np.ndarray) -> np.ndarray:
    """Whole calendar quarters from ``start`` (a quarter's first day) to ``date`` (negative before it; a
    meaningless number where ``start`` is NaT)."""
    months = (np.asarray(date).astype("datetime64[M]") - np.asarray(start).astype("datetime64[M]")).astype(int)
    return np.floor_divide(months, 3)


@dataclass
class AreaPlan:
    """Per ward number: programme (NONE / KEY_WORKER / PILOT), go-live date, full effect and ramp."""

    codes: np.ndarray  # ward_code per ward number
    programme: np.ndarray
    go_live: np.ndarray  # datetime64[D]; NaT where none
    full_effect: np.ndarray
    ramp_quarters: np.ndarray
    break_ward: int  # the ward whose recording changes (a never-treated ward)

    @classmethod
    def draw(cls, rng: np.random.Generator, params: HelpParams, codes: np.ndarray) -> AreaPlan:
        """Waves, pilot and the recording-break ward, drawn at random among the wards.

        Raises:
            ValueError: too few wards for the waves, the pilot and at least two never-treated wards.
        """
        kw = params.key_worker
        n, waves = codes.size, len(kw.waves)
        needed = waves * kw.wards_per_wave + 1 + 2
        if n < needed:
            raise ValueError(f"synth.help: {n} wards, but the waves, the pilot and two never-treated wards need "
                             f"{needed} (fewer LSOAs than wards? raise children or lower wards_per_wave)")
        order = rng.permutation(n)
        programme = np.full(n, NONE)
        go_live = np.full(n, np.datetime64("NaT", "D"))
        full = np.zeros(n)
        ramp = np.ones(n)
        for w, live in enumerate(kw.waves):
            wards = order[w * kw.wards_per_wave:(w + 1) * kw.wards_per_wave]
            programme[wards], go_live[wards], full[wards], ramp[wards] = (
                KEY_WORKER, np.datetime64(live, "D"), kw.max_effect, kw.ramp_quarters)
        pilot = order[waves * kw.wards_per_wave]
        programme[pilot], go_live[pilot] = PILOT, np.datetime64(params.pilot.go_live, "D")
        full[pilot], ramp[pilot] = params.pilot.effect, params.pilot.ramp_quarters
        return cls(codes, programme, go_live, full, ramp, break_ward=int(order[needed - 1]))

    def exposure(self, ward: np.ndarray, date: np.ndarray) -> np.ndarray:
        """Whole quarters since the ward's go-live on ``date`` (-1 before it or where there is none)."""
        live = self.go_live[ward]
        quarters = quarters_since(live, date)
        return np.where(np.isnat(live) | (quarters < 0), -1, quarters)

    def effect(self, ward: np.ndarray, date: np.ndarray) -> np.ndarray:
        """Share of (non-forced) referrals the ward's programme prevents on ``date``."""
        e = self.exposure(ward, date)
        return np.where(e >= 0, self.full_effect[ward] * np.minimum(1.0, (e + 1) / self.ramp_quarters[ward]), 0.0)

    def rollout(self, capacity_per_month: int) -> pd.DataFrame:
        """programme, ward_code, go_live_date, capacity_per_month: one row per treated ward."""
        treated = np.flatnonzero(self.programme != NONE)
        return pd.DataFrame({
            "programme": [PROGRAMME_NAMES[int(p)] for p in self.programme[treated]],
            "ward_code": self.codes[treated],
            "go_live_date": pd.to_datetime(self.go_live[treated]).strftime("%Y-%m-%d"),
            "capacity_per_month": capacity_per_month,
        }).sort_values(["programme", "go_live_date", "ward_code"], ignore_index=True)
