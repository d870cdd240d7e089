"""What each person carries from one simulated year to the next (arrays indexed by person_id), and
the year window each person lives in the county as an adult."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.synthetic.adults.codes import CONDITIONS, EFI_DEFICITS
from pipeline.synthetic.adults.people import NOT_YET, YEAR

DAY = np.timedelta64(1, "D")
ADULT_DAYS = np.timedelta64(6575, "D")  # 18 years


@dataclass
class State:
    """Fixed traits and the state carried between years; index = person_id (ids are 0..n-1)."""

    dob: np.ndarray
    male: np.ndarray
    arrive: np.ndarray
    leave: np.ndarray
    health: np.ndarray  # latent health (higher = worse)
    persistent: np.ndarray  # gamma frailty of emergency admission (mean 1)
    poverty: np.ndarray
    ld: np.ndarray  # true learning disability
    ld_registered: np.ndarray
    self_funder: np.ndarray
    household: np.ndarray
    death: np.ndarray = field(init=False)
    cond: np.ndarray = field(init=False)  # bool (n, conditions)
    dementia: np.ndarray = field(init=False)
    dementia_since: np.ndarray = field(init=False)  # onset (NOT_YET = none)
    seeded: np.ndarray = field(init=False)  # prevalent conditions drawn (first adult year)
    care_home: np.ndarray = field(init=False)  # index of the care home lived in, -1 = none
    care_setting: np.ndarray = field(init=False)  # "residential" | "nursing" | ""
    care_funding: np.ndarray = field(init=False)  # "council" | "self" | ""
    lts_since: np.ndarray = field(init=False)  # council community long-term support open since (NOT_YET = none)
    ld_moved: np.ndarray = field(init=False)  # an adult with LD who has moved out of the family home
    lives_until: np.ndarray = field(init=False)  # no death before (a mother's last child's birth)

    def __post_init__(self) -> None:
        n = len(self.dob)
        self.death = np.full(n, NOT_YET)
        self.cond = np.zeros((n, len(CONDITIONS)), dtype=bool)
        self.dementia = np.zeros(n, dtype=bool)
        self.dementia_since = np.full(n, NOT_YET)
        self.seeded = np.zeros(n, dtype=bool)
        self.care_home = np.full(n, -1, dtype=np.int64)
        self.care_setting = np.full(n, "", dtype=object)
        self.care_funding = np.full(n, "", dtype=object)
        self.lts_since = np.full(n, NOT_YET)
        self.ld_moved = np.zeros(n, dtype=bool)
        self.lives_until = np.full(n, np.datetime64("1900-01-01", "D"))

    @classmethod
    def from_people(cls, rng: np.random.Generator, people: pd.DataFrame, persistent_shape: float) -> State:
        if not np.array_equal(people["person_id"].to_numpy(), np.arange(len(people))):
            raise ValueError("people must be sorted by person_id with ids 0..n-1")
        return cls(
            dob=people["dob"].to_numpy().astype("datetime64[D]"),
            male=people["sex"].to_numpy() == "M",
            arrive=people["arrive_date"].to_numpy().astype("datetime64[D]"),
            leave=people["leave_date"].to_numpy().astype("datetime64[D]"),
            health=people["health"].to_numpy(),
            persistent=rng.gamma(persistent_shape, 1 / persistent_shape, len(people)),
            poverty=people["poverty"].to_numpy(),
            ld=people["learning_disability"].to_numpy(),
            ld_registered=people["ld_registered"].to_numpy(),
            self_funder=people["self_funder"].to_numpy(copy=True),  # changes when the council pays
            household=people["household_id"].to_numpy(),
        )

    def efi(self) -> np.ndarray:
        """Electronic frailty index: deficits / 36 (dementia counts through memory & cognition)."""
        return self.cond[:, [c.efi for c in CONDITIONS]].sum(axis=1) / EFI_DEFICITS


@dataclass
class Window:
    """The people alive and living in the county as adults during one year, and when."""

    idx: np.ndarray  # person_id
    lo: np.ndarray  # first day (datetime64[D])
    hi: np.ndarray  # day after the last (death, leaving or the year's end)
    age: np.ndarray  # age in years at ``lo``

    @property
    def exposure(self) -> np.ndarray:
        """Fraction of the year lived here."""
        return (self.hi - self.lo).astype(np.int64) / 365.0

    def dates(self, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        """A uniform date inside the window of each of ``rows`` (positions into ``idx``)."""
        span = (self.hi[rows] - self.lo[rows]).astype(np.int64)
        return self.lo[rows] + (rng.random(rows.size) * span).astype("timedelta64[D]")

    def select(self, keep: np.ndarray) -> Window:
        return Window(self.idx[keep], self.lo[keep], self.hi[keep], self.age[keep])


def year_window(state: State, ys: np.datetime64, ye: np.datetime64) -> Window:
    """Adults alive and resident at some point in [ys, ye)."""
    lo = np.maximum(np.maximum(state.arrive, state.dob + ADULT_DAYS), ys)
    hi = np.minimum(np.minimum(state.leave, state.death), ye)
    idx = np.flatnonzero(hi > lo)
    return Window(idx, lo[idx], hi[idx], (lo[idx] - state.dob[idx]).astype(np.int64) / YEAR)
