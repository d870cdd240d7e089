"""How dates of birth go wrong in records: day and month swapped, or a slip of a day or a year."""

from __future__ import annotations

import numpy as np


def _date_parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _make_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dates from parts, and whether each part-triple was a real date."""
    start = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    days_in_month = ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(np.int64)
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month)
    return start.astype("datetime64[D]") + (np.clip(day, 1, days_in_month) - 1), valid


def apply_dob_errors(rng: np.random.Generator, dob: np.ndarray, swap_rate: float,
                     typo_rate: float) -> np.ndarray:
    """Day/month swaps and one-off slips in dates of birth.

    A date whose day and month can be swapped (day <= 12 and day != month) is swapped with
    probability ``swap_rate`` (so about 36% x ``swap_rate`` of all dates change this way).
    Independently, with probability ``typo_rate`` a date moves one day or one year (either way);
    29 February moved by a year moves by a day instead. NaT stays NaT.

    Returns:
        datetime64[D] array.
    """
    dates = np.asarray(dob, dtype="datetime64[D]").copy()
    ok = ~np.isnat(dates)
    year, month, day = _date_parts(np.where(ok, dates, np.datetime64("2000-01-01")))
    swap = ok & (day <= 12) & (day != month) & (rng.random(len(dates)) < swap_rate)
    swapped, _ = _make_dates(year, day, month)
    dates = np.where(swap, swapped, dates)

    typo = ok & (rng.random(len(dates)) < typo_rate)
    sign = np.where(rng.random(len(dates)) < 0.5, -1, 1)
    by_year = rng.random(len(dates)) < 0.5
    year, month, day = _date_parts(np.where(ok, dates, np.datetime64("2000-01-01")))
    moved_year, valid = _make_dates(year + sign, month, day)
    moved = np.where(by_year & valid, moved_year, dates + sign.astype("timedelta64[D]"))
    return np.where(typo, moved, dates)
