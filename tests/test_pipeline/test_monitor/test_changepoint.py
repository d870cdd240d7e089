"""The change-point test finds a step in a code's rate, and does not find one where there is none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.monitor.changepoint import best_break, is_recording_break
from pipeline.monitor.series import MonitorSettings, find_breaks, monthly_counts

STRICT = dict(alpha=1e-3, min_ratio=1.5, min_coded=20)


def _series(rate_before: float, rate_after: float, *, months: int = 120, rows: int = 300, seed: int = 1):
    rng = np.random.default_rng(seed)
    n = rng.poisson(rows, months)
    p = np.r_[np.full(months // 2, rate_before), np.full(months - months // 2, rate_after)]
    return rng.binomial(n, p), n


@pytest.mark.parametrize("after, found", [(0.10, True), (0.0, True), (0.05, False), (0.06, False)])
def test_a_step_is_found_and_a_flat_or_small_change_is_not(after, found):
    k, n = _series(0.05, after)
    test = best_break(k, n * 0.05 * k.sum() / (n * 0.05).sum(), n)  # expected: the usual rate, no age effect
    assert is_recording_break(test, **STRICT) is found
    if found:
        assert abs(test.split - 60) <= 2 and (test.ratio == 0 if after == 0 else test.ratio > 1.5)


def test_over_dispersed_noise_is_not_read_as_a_break():
    rng = np.random.default_rng(3)
    n = rng.poisson(400, 150)
    rate = np.clip(rng.normal(0.05, 0.015, 150), 0.001, None)  # month-to-month swings a binomial would not make
    k = rng.binomial(n, rate)
    test = best_break(k, n * k.sum() / n.sum(), n)
    assert test.dispersion > 2 and not is_recording_break(test, **STRICT)


def test_too_short_a_series_is_not_tested():
    assert best_break([1, 2, 3], [2, 2, 2], [10, 10, 10], min_segment=6) is None


def _ageing_county(seed: int = 5) -> pd.DataFrame:
    """A code recorded only for teenagers, in a county whose children grow older: its crude share rises."""
    rng = np.random.default_rng(seed)
    rows = []
    for month in pd.period_range("2012-01", "2025-12", freq="M"):
        mean_age = 4 + (month.year - 2012) * 0.6  # the cohort ages
        ages = np.clip(rng.normal(mean_age, 3, 200).round(), 0, 17).astype(int)
        teen = ages >= 13
        codes = np.where(teen & (rng.random(200) < 0.3), "T74", "OTHER")
        rows.append(pd.DataFrame({"event_date": month.to_timestamp() + pd.Timedelta(days=14), "diagnosis": codes,
                                  "birth_year": month.year - ages, "birth_month": month.month}))
    return pd.concat(rows, ignore_index=True)


def test_a_county_growing_older_is_not_a_recording_break():
    events = _ageing_county()
    counts = monthly_counts(events, date_column="event_date", column="diagnosis", prefix=None, breakdowns=[])
    breaks, tested = find_breaks(counts, MonitorSettings())
    assert tested == 2 and breaks.empty
    crude = monthly_counts(events.drop(columns=["birth_year", "birth_month"]), date_column="event_date",
                           column="diagnosis", prefix=None, breakdowns=[])
    assert not find_breaks(crude, MonitorSettings())[0].empty  # without ages the same data shows a "break"


def test_a_break_in_one_group_only_is_found_in_that_group():
    rng = np.random.default_rng(11)
    months = pd.period_range("2014-01", "2023-12", freq="M")
    frames = []
    for group, after in (("A", 0.10), ("B", 0.10), ("C", 0.0)):  # group C's code stops being recorded in 2019
        for month in months:
            rate = after if (group == "C" and month.year >= 2019) else 0.10
            frames.append(pd.DataFrame({
                "event_date": month.to_timestamp(), "ethnicity_group": group,
                "code": np.where(rng.random(150) < rate, "X1", "Y2")}))
    events = pd.concat(frames, ignore_index=True)
    counts = monthly_counts(events, date_column="event_date", column="code", prefix=None,
                            breakdowns=["ethnicity_group"])
    breaks, _ = find_breaks(counts, MonitorSettings())
    stopped = breaks[(breaks["code"] == "X1") & (breaks["group"] == "C")]
    assert len(stopped) == 1 and stopped["month"].iloc[0] == "2019-01" and stopped["coded_after"].iloc[0] == 0
    assert breaks[breaks["group"].isin(["A", "B"])].empty
