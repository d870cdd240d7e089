"""Wards: groups of LSOAs, the area unit programmes are rolled out by, and each child's ward on a date.

Wards are consecutive runs of LSOA codes (no random draw, so building them moves no random stream).
A child lives in its household's ward: the household's first LSOA until its first move within the
county, then the LSOA of its latest move (``lifecourse.simulate_moves``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EPOCH = np.datetime64("1900-01-01", "D")
DAY_BITS = 17  # days since 1900 fit in 17 bits until 2258
NAMES = (
    "Abbey", "Ashfield", "Beacon", "Brookside", "Castle", "Central", "Church", "Eastfield", "Fairfield", "Greenhill",
    "Harbour", "Highfield", "Kingsway", "Lakeside", "Meadow", "Millbrook", "Northgate", "Oakwood", "Parkside",
    "Riverside", "Southgate", "Stonebridge", "Westfield", "Woodlands",
)


def ward_codes(n: int) -> np.ndarray:
    """Synthetic ONS-like ward codes (E05 + 6 digits, in a range no real ward uses)."""
    return np.char.add("E0590", np.char.zfill(np.arange(1, n + 1).astype(str), 4))


def ward_names(n: int) -> np.ndarray:
    """A name per ward (the list repeats with a number once it runs out)."""
    return np.array([NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i // len(NAMES) + 1}") for i in range(n)])


def lsoa_ward_table(lsoa_codes: np.ndarray, n_wards: int) -> pd.DataFrame:
    """The reference table ``lsoa_ward.csv``: each LSOA's ward.

    Args:
        lsoa_codes: every LSOA of the county.
        n_wards: wards wanted (fewer if there are fewer LSOAs).

    Returns:
        lsoa_code, ward_code, ward_name (LSOAs in code order, split into ``n_wards`` near-equal runs).
    """
    codes = np.sort(np.asarray(lsoa_codes, dtype=str))
    n = min(n_wards, codes.size)
    ward = np.arange(codes.size) * n // codes.size
    return pd.DataFrame({"lsoa_code": codes, "ward_code": ward_codes(n)[ward], "ward_name": ward_names(n)[ward]})


@dataclass
class WardMap:
    """Each household's ward over time (ward numbers index ``codes``)."""

    codes: np.ndarray  # ward_code per ward number
    first: np.ndarray  # per household_id: ward number of its first address
    move_keys: np.ndarray  # sorted (household_id << DAY_BITS | day) of each move
    move_ward: np.ndarray  # ward number moved to, aligned to move_keys

    @classmethod
    def build(cls, table: pd.DataFrame, hh: pd.DataFrame, moves: pd.DataFrame | None) -> WardMap:
        """From ``lsoa_ward_table``, households (household_id = position, lsoa_code) and moves (household_id,
        move_date, lsoa_code; None or empty = nobody moves)."""
        codes = np.unique(table["ward_code"].to_numpy(dtype=str))
        number = pd.Series(np.searchsorted(codes, table["ward_code"].to_numpy(dtype=str)), index=table["lsoa_code"])
        first = number.reindex(hh["lsoa_code"]).to_numpy()
        if moves is None or moves.empty:
            return cls(codes, first, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        keys = day_keys(moves["household_id"].to_numpy(), moves["move_date"].to_numpy())
        order = np.argsort(keys, kind="stable")
        return cls(codes, first, keys[order], number.reindex(moves["lsoa_code"]).to_numpy()[order])

    def at(self, household: np.ndarray, dates: np.ndarray) -> np.ndarray:
        """Ward number of each household on each date (arrays of equal length)."""
        ward = self.first[household].copy()
        if self.move_keys.size:
            keys = day_keys(household, dates)
            pos = np.searchsorted(self.move_keys, keys, side="right") - 1
            same = (pos >= 0) & ((self.move_keys[np.maximum(pos, 0)] >> DAY_BITS) == household)
            ward[same] = self.move_ward[pos[same]]
        return ward


def day_keys(household: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """One sortable integer per (id, day): the id in the high bits, days since 1900 in the low ones."""
    days = (np.asarray(dates).astype("datetime64[D]") - EPOCH).astype(np.int64)
    return (np.asarray(household, dtype=np.int64) << DAY_BITS) | days
