"""Synthetic control on a simulated one-ward pilot: recovers a planted effect; placebo p small only if real."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from pipeline.impact.estimate import FEW_CLUSTERS, NULL_RESULT, RECORDING_CHANGE
from pipeline.impact.synthetic_control import estimate_synthetic_control, plot_synthetic_control

QUARTERS = pd.date_range("2020-01-01", periods=20, freq="QS")
GO_LIVE = QUARTERS[14] + pd.Timedelta(days=20)  # mid-quarter: that quarter is the first post period
PILOT = "E05000000"


def _pilot_panel(seed: int, *, effect: float, donors: int = 20, pilot_shift: float = 0.0,
                 pilot_trend: float = 0.0) -> pd.DataFrame:
    """Ward × quarter referral rates from a two-factor model; the pilot is a mix of donors plus ``effect``.

    ``pilot_shift`` lifts the pilot above every donor (a level the demeaned fit absorbs); ``pilot_trend`` (per
    quarter) gives it a trend outside the donors' range, which no weighted mix of them can follow.
    """
    rng = np.random.default_rng(seed)
    factors = rng.normal(0, 1.0, (len(QUARTERS), 2)).cumsum(axis=0)
    loadings = rng.uniform(0.5, 2.0, (donors, 2))
    levels = rng.normal(40, 5, donors)
    mix = rng.dirichlet(np.ones(4))
    chosen = rng.choice(donors, 4, replace=False)
    rows = []
    for ward in range(donors + 1):
        if ward == 0:
            level, loading = mix @ levels[chosen] + pilot_shift, mix @ loadings[chosen]
        else:
            level, loading = levels[ward - 1], loadings[ward - 1]
        children = 6000
        for t, quarter in enumerate(QUARTERS):
            rate = level + factors[t] @ loading + 0.2 * t + (pilot_trend * t if ward == 0 else 0.0)
            if ward == 0 and quarter >= QUARTERS[14]:
                rate += effect
            events = rng.poisson(max(rate, 0.1) * children / 1000)
            rows.append({"ward_code": f"E05{ward:06d}", "period": quarter, "children": children, "events": events,
                         "rate_per_1000": 1000 * events / children,
                         "go_live": GO_LIVE if ward == 0 else pd.NaT})
    return pd.DataFrame(rows)


COMMON = dict(treated_ward=PILOT, programme="pilot", outcome="referrals")


@pytest.fixture(scope="module")
def real_effect():
    return estimate_synthetic_control(_pilot_panel(11, effect=-12.0), **COMMON)


def test_planted_effect_is_inside_the_interval_and_placebo_p_is_small(real_effect):
    estimate = real_effect.estimate
    assert estimate.design == "synthetic_control"
    assert estimate.covers(-12.0), (estimate.effect, estimate.ci_low, estimate.ci_high)
    assert estimate.ci_high < 0
    assert estimate.diagnostics["placebo_p"] <= 0.1
    assert estimate.diagnostics["method"] == "synth"
    assert estimate.diagnostics["pre_periods"] == 14 and estimate.diagnostics["post_periods"] == 6
    weights = real_effect.weights
    assert weights.min() >= -1e-9 and abs(weights.sum() - 1) < 1e-6
    assert FEW_CLUSTERS not in estimate.flags


def test_no_effect_gives_a_large_placebo_p_and_a_null():
    estimate = estimate_synthetic_control(_pilot_panel(12, effect=0.0), **COMMON).estimate
    assert estimate.diagnostics["placebo_p"] > 0.1
    assert estimate.covers(0.0) and NULL_RESULT in estimate.flags


def test_a_pilot_above_every_donor_is_matched_by_its_path_not_its_level():
    # plain Synth on levels cannot reach a pilot 25 above every donor; on each ward less its pre-period mean it can
    result = estimate_synthetic_control(_pilot_panel(13, effect=-8.0, pilot_shift=25.0, donors=10), **COMMON)
    estimate = result.estimate
    assert estimate.diagnostics["method"] == "synth" and estimate.diagnostics["pre_fit_poor_for_synth"] is False
    assert estimate.covers(-8.0), (estimate.effect, estimate.ci_low, estimate.ci_high)
    assert result.paths["synthetic"].iloc[:14].mean() == pytest.approx(result.paths["treated"].iloc[:14].mean())


def test_a_pilot_trend_outside_the_donors_range_switches_to_augmented():
    # no mix of donors follows a steeper trend: the pre-period fit is poor and the ridge-augmented fit is used
    # (whether its extrapolation is right is not claimed here). Few donors keep it quick (slow quadratic programmes).
    estimate = estimate_synthetic_control(_pilot_panel(13, effect=-8.0, pilot_trend=3.0, donors=10), **COMMON).estimate
    assert estimate.diagnostics["pre_fit_poor_for_synth"] is True
    assert estimate.diagnostics["method"] == "augmented" and "AugSynth" in estimate.library


def test_augmented_on_request_covers_the_planted_effect():
    estimate = estimate_synthetic_control(_pilot_panel(13, effect=-8.0, pilot_shift=25.0, donors=10), **COMMON,
                                          method="augmented").estimate
    assert estimate.diagnostics["method"] == "augmented" and estimate.diagnostics["ridge_penalty"] > 0
    assert estimate.covers(-8.0), (estimate.effect, estimate.ci_low, estimate.ci_high)


def test_few_donors_and_recording_changes_are_flagged():
    panel = _pilot_panel(14, effect=-8.0, donors=8)
    regime = pd.DataFrame({"source": ["social_care"], "table": ["csc_referral"], "field": ["referral_date"],
                           "ward_code": [""], "change_date": ["2022-05-01"], "description": ["new IT system"]})
    estimate = estimate_synthetic_control(panel, **COMMON, recording_regime=regime).estimate
    assert FEW_CLUSTERS in estimate.flags and RECORDING_CHANGE in estimate.flags
    assert estimate.diagnostics["min_attainable_p"] == pytest.approx(1 / 9)


def test_short_pre_period_is_refused():
    panel = _pilot_panel(15, effect=0.0)
    with pytest.raises(ValueError, match="periods before go-live"):
        estimate_synthetic_control(panel, **COMMON, go_live=QUARTERS[2])


def test_figure_has_paths_and_placebos(real_effect, tmp_path):
    figure = plot_synthetic_control(real_effect)
    left, right = figure.axes
    assert any("synthetic" in t.get_text() for t in left.get_legend().get_texts())
    assert any("placebo" in t.get_text() for t in right.get_legend().get_texts())
    figure.savefig(tmp_path / "synthetic_control.png")


def test_duplicate_rows_are_refused_naming_ward_and_period():
    panel = _pilot_panel(16, effect=0.0)
    with pytest.raises(ValueError, match=f"ward {PILOT} has two rows for period 2020-01-01"):
        estimate_synthetic_control(pd.concat([panel.iloc[:1], panel]), **COMMON)


def _county_like_panel(seed: int) -> tuple[pd.DataFrame, float]:
    """Nine wards of ~1,250 children (the 30,000-child county's size) with Poisson referral counts, 12 quarters
    before the pilot and 7 after; the pilot prevents half its referrals, ramping up over 2 quarters. Ward
    levels differ (so the pilot is often above or below every donor). Returns the panel and the realised effect
    (mean over the post quarters of the prevented referrals per 1,000 children)."""
    rng = np.random.default_rng(seed)
    quarters = pd.date_range("2021-04-01", periods=19, freq="QS")
    season = np.tile([1.05, 0.95, 1.0, 1.0], 5)[:19] * (1 + 0.01 * np.arange(19))
    rows, prevented = [], []
    for ward in range(9):
        level, children = rng.normal(16, 3), int(1250 * rng.uniform(0.8, 1.2))
        for t, quarter in enumerate(quarters):
            drawn = rng.poisson(level * season[t] * children / 1000)
            share = 0.5 * min(1.0, (t - 11) / 2) if ward == 0 and t >= 12 else 0.0
            events = drawn - rng.binomial(drawn, share)
            if ward == 0 and t >= 12:
                prevented.append(1000 * (events - drawn) / children)
            rows.append({"ward_code": f"W{ward}", "period": quarter, "children": children, "events": events,
                         "rate_per_1000": 1000 * events / children, "go_live": quarters[12] if ward == 0 else pd.NaT})
    return pd.DataFrame(rows), float(np.mean(prevented))


def test_the_conformal_interval_covers_across_seeds_where_the_placebo_gaps_do_not():
    # 8 donors: the 2.5th-97.5th percentiles of 8 placebo gaps are a rough interval; over seeds 100-199 of this
    # panel the placebo-gap interval covered 78 of 100, the conformal one 93 of 100. 12 seeds keep the test quick.
    conformal = placebo = 0
    for seed in range(12):
        panel, truth = _county_like_panel(seed)
        estimate = estimate_synthetic_control(panel, treated_ward="W0", programme="pilot", outcome="referrals").estimate
        low, high = estimate.diagnostics["placebo_gap_interval"]
        conformal += estimate.covers(truth)
        placebo += low <= truth <= high
    assert conformal >= 11, conformal
    assert placebo < conformal, (placebo, conformal)
