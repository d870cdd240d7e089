"""Regression discontinuity at the capacity cut: planted jumps recovered, manipulation detected."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from pipeline.impact.estimate import LOCAL_TO_CUT, MANIPULATION_SUSPECTED
from pipeline.impact.rd import add_running_variable, estimate_cut_effect, plot_cut_discontinuity

OFFER_EFFECT = -0.12  # planted: an offer lowers the 12-month care-entry probability by 12 points
OFFERED_IF_LISTED, OFFERED_IF_NOT = 0.85, 0.05  # overrides and professional referrals make it fuzzy


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small fits: BLAS threads only contend on a shared machine, so use one."""
    with threadpool_limits(limits=1):
        yield


def simulate_lists(seed: int, *, runs: int = 30, per_run: int = 1000, nudge: bool = False) -> pd.DataFrame:
    """List runs: score = noisy risk, top 15% listed; ``nudge`` moves scores just below the cut over it."""
    rng = np.random.default_rng(seed)
    frames = []
    for run in range(runs):
        age = rng.uniform(0, 17, per_run)
        prior_referrals = rng.poisson(1.0, per_run)
        risk = 1 / (1 + np.exp(-(-1.2 + 0.5 * prior_referrals - 0.03 * age + rng.normal(0, 0.5, per_run))))
        score = np.clip(risk + rng.normal(0, 0.05, per_run), 0, 1)
        capacity = int(per_run * 0.15)
        cut = np.sort(score)[::-1][capacity - 1]
        if nudge:  # a worker lifts half of those just below the cut above it
            lifted = (score < cut) & (score > cut - 0.04) & (rng.random(per_run) < 0.5)
            score = np.where(lifted, cut + rng.uniform(0, 0.02, per_run), score)
        listed = score >= cut
        offered = rng.random(per_run) < np.where(listed, OFFERED_IF_LISTED, OFFERED_IF_NOT)
        care = rng.random(per_run) < np.clip(risk + OFFER_EFFECT * offered, 0, 1)
        frames.append(pd.DataFrame({
            "run_id": f"run{run:02d}", "score": score, "cut_score": cut, "listed": listed, "offered": offered,
            "care_12m": care, "age": age, "prior_referrals": prior_referrals,
        }))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def honest_estimates():
    scored = add_running_variable(simulate_lists(seed=3))
    return estimate_cut_effect(
        scored, outcome="care_12m", programme="early_help", horizon_months=12, covariates=["age", "prior_referrals"]
    )


def test_fuzzy_and_sharp_rd_recover_the_planted_jump(honest_estimates):
    fuzzy, sharp = honest_estimates
    assert (fuzzy.design, sharp.design) == ("rd_fuzzy", "rd_sharp")
    assert fuzzy.covers(OFFER_EFFECT) and fuzzy.ci_high < 0
    # listing changes the offer rate by 0.85 - 0.05, so the effect of being listed is diluted by that much
    assert sharp.covers(OFFER_EFFECT * (OFFERED_IF_LISTED - OFFERED_IF_NOT)) and sharp.ci_high < 0
    jump = fuzzy.diagnostics["offer_rate_jump"]
    assert jump["ci_low"] <= OFFERED_IF_LISTED - OFFERED_IF_NOT <= jump["ci_high"]
    for estimate in honest_estimates:
        assert LOCAL_TO_CUT in estimate.flags and MANIPULATION_SUSPECTED not in estimate.flags
        assert estimate.baseline is not None and 0 < estimate.baseline < 1
        json.dumps(estimate.to_dict())


def test_diagnostics_carry_density_placebo_bandwidth_and_covariate_checks(honest_estimates):
    fuzzy = honest_estimates[0]
    diagnostics = fuzzy.diagnostics
    assert diagnostics["density_test"]["p_value"] > 0.05
    assert diagnostics["clusters"] == 30 and diagnostics["listed_agrees_with_cut"] == 1.0
    assert {"half", "double"} == set(diagnostics["bandwidth_sensitivity"])
    assert diagnostics["bandwidth_sensitivity"]["half"]["bandwidth"] == pytest.approx(diagnostics["bandwidth"] / 2)
    for check in diagnostics["covariate_continuity"].values():  # pre-index covariates do not jump at the cut
        assert check["p_value"] > 0.01
    assert len(diagnostics["placebo"]) == 2 and all("cut" in p for p in diagnostics["placebo"])


def test_density_test_flags_scores_nudged_over_the_cut():
    scored = add_running_variable(simulate_lists(seed=4, runs=20, nudge=True))
    fuzzy, sharp = estimate_cut_effect(scored, outcome="care_12m", programme="p", horizon_months=12)
    assert fuzzy.diagnostics["density_test"]["p_value"] < 0.01
    assert MANIPULATION_SUSPECTED in fuzzy.flags and MANIPULATION_SUSPECTED in sharp.flags


def test_running_variable_from_the_run_table_and_missing_cuts_named():
    scored = simulate_lists(seed=5, runs=2, per_run=50)
    runs = scored.groupby("run_id", as_index=False)["cut_score"].first()
    with_running = add_running_variable(scored.drop(columns="cut_score"), runs)
    assert (with_running["running"] >= 0).sum() == with_running["listed"].sum()
    with pytest.raises(ValueError, match="no cut for their run"):
        add_running_variable(scored.drop(columns="cut_score"), runs.iloc[:1])
    with pytest.raises(ValueError, match="add_running_variable"):
        estimate_cut_effect(scored, outcome="care_12m", programme="p", horizon_months=12)


def test_rd_plot_is_a_figure(honest_estimates):
    figure = plot_cut_discontinuity(honest_estimates[1])
    assert isinstance(figure, Figure) and len(figure.axes) == 2
