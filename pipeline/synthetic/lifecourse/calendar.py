"""The calendar the county lives by: financial years (1 April - 31 March) and school census days."""

from __future__ import annotations

import numpy as np

DAY = np.timedelta64(1, "D")


def year_start(year: int) -> np.datetime64:
    """First day of the financial year ending 31 March ``year``."""
    return np.datetime64(f"{year - 1}-04-01")


def years_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Age in years (365.25 days each) from ``earlier`` to ``later``."""
    return (later - earlier) / np.timedelta64(36525, "D") * 100


def census_day(year: int) -> np.datetime64:
    """Spring school census day: the third Thursday of January."""
    jan1 = np.datetime64(f"{year}-01-01")
    weekday = (jan1.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday -> 0
    first_thu = jan1 + np.timedelta64(int((7 - weekday) % 7), "D")
    return first_thu + np.timedelta64(14, "D")


def random_dates(rng: np.random.Generator, start: np.datetime64, n: int, days: int = 365) -> np.ndarray:
    """``n`` dates drawn uniformly from the ``days`` days that begin on ``start``."""
    return start + rng.integers(0, days, n).astype("timedelta64[D]")
