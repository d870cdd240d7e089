"""Cross-fitted AIPW for the effect of an offer, its comparators, balance, and the shared Estimate helpers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from threadpoolctl import threadpool_limits

from pipeline.impact.aipw import estimate_offer_effect, plot_offer_balance
from pipeline.impact.balance import overlap_summary, standardised_mean_differences
from pipeline.impact.estimate import (
    NULL_RESULT,
    OVERLAP_TRIMMED,
    SMALL_CELLS,
    Estimate,
    number_needed_to_treat,
    relative_change,
)

PLANTED = -0.05  # an offer lowers the 12-month care-entry probability by 5 points on a ~0.3 base
COVARIATES = ["prior_referrals", "school_absence", "score"]


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small models: BLAS threads only contend on a shared machine (10x slower there), so use one."""
    with threadpool_limits(limits=1):
        yield


def simulate_offers(seed: int, *, n: int = 2500, hidden: float = 0.0) -> tuple[pd.DataFrame, float]:
    """Children at one list run: offers go to higher risk (observed covariates and, if ``hidden`` > 0, an
    unobserved family factor that raises both risk and the chance of an offer). Returns the frame and the
    sample's true average effect of an offer (mean of p1 - p0)."""
    rng = np.random.default_rng(seed)
    referrals, absence, hidden_factor = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    risk = 1 / (1 + np.exp(-(-1.0 + 0.8 * referrals + 0.4 * absence + hidden * hidden_factor)))
    score = np.clip(risk + rng.normal(0, 0.05, n), 0, 1)
    offered = rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 1.0 * referrals + 0.5 * absence + hidden * hidden_factor)))
    risk_if_offered = np.clip(risk + PLANTED, 0, 1)
    care = rng.random(n) < np.where(offered, risk_if_offered, risk)
    frame = pd.DataFrame({
        "prior_referrals": referrals, "school_absence": absence, "score": score, "offered": offered, "care_12m": care,
        "hidden": hidden_factor,
    })
    return frame, float(np.mean(risk_if_offered - risk))


def fit(frame: pd.DataFrame, **options) -> dict[str, Estimate]:
    options = {"covariates": COVARIATES, "folds": 3, "cross_check": False, **options}
    estimates = estimate_offer_effect(frame, outcome="care_12m", programme="early_help", horizon_months=12, **options)
    return {estimate.design: estimate for estimate in estimates}


def test_aipw_covers_the_planted_effect_and_the_naive_difference_has_the_wrong_sign():
    covered, naive_wrong_sign = 0, 0
    for seed in range(10):
        frame, truth = simulate_offers(seed)
        estimates = fit(frame)
        covered += estimates["aipw"].covers(truth)
        naive_wrong_sign += estimates["naive_difference"].ci_low > 0  # offers go to higher risk: looks harmful
    assert covered >= 9
    assert naive_wrong_sign == 10


def test_estimates_are_labelled_and_diagnosed():
    frame, truth = simulate_offers(seed=11)
    estimates = fit(frame)
    assert set(estimates) == {"aipw", "ipw_naive", "naive_difference"}
    aipw = estimates["aipw"]
    assert aipw.n_treated + aipw.n_comparison + aipw.diagnostics["overlap"]["n_trimmed"] == len(frame)
    assert 0.2 < aipw.baseline < 0.4 and aipw.relative() == pytest.approx(aipw.effect / aipw.baseline)
    assert aipw.diagnostics["max_abs_smd_before"] > 0.5 > 0.1 > aipw.diagnostics["max_abs_smd_after"]
    assert estimates["ipw_naive"].covers(truth)
    assert estimates["naive_difference"].baseline == pytest.approx(frame.loc[~frame["offered"], "care_12m"].mean())
    json.dumps([e.to_dict() for e in estimates.values()])
    assert isinstance(plot_offer_balance(aipw), Figure)
    with pytest.raises(ValueError, match="no balance"):
        plot_offer_balance(estimates["naive_difference"])


def test_an_unobserved_confounder_biases_aipw_towards_harm():
    """Offers follow a family factor the data do not hold, which also raises risk: AIPW cannot adjust for it and
    its estimate moves towards the naive difference (less benefit than planted). Adding the factor fixes it."""
    blind, sighted, truths = [], [], []
    for seed in range(4):
        frame, truth = simulate_offers(seed, hidden=1.5)
        blind.append(fit(frame)["aipw"].effect)
        sighted.append(fit(frame, covariates=[*COVARIATES, "hidden"])["aipw"].effect)
        truths.append(truth)
    assert np.mean(blind) - np.mean(truths) > 0.02
    assert abs(np.mean(sighted) - np.mean(truths)) < 0.015


def test_lightgbm_nuisances_cover_the_planted_effect():
    frame, truth = simulate_offers(seed=21, n=3000)
    aipw = fit(frame, learner="lightgbm")["aipw"]
    assert aipw.covers(truth) and "lightgbm" in aipw.library


def test_econml_cross_check_agrees_with_aipw():
    """Same nuisance learners, different fold split and outcome model (econml fits one model with the offer as a
    feature): the two averages agree within a fraction of the standard error."""
    pytest.importorskip("econml")
    frame, _ = simulate_offers(seed=22, n=3000)
    aipw = fit(frame, cross_check=True)["aipw"]
    check = aipw.diagnostics["cross_check"]
    assert check["library"].startswith("econml")
    assert abs(check["effect"] - aipw.effect) < 0.01
    assert check["ci_low"] < aipw.ci_high and aipw.ci_low < check["ci_high"]


def test_poor_overlap_small_cells_and_nulls_are_flagged():
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=n)
    offered = rng.random(n) < 1 / (1 + np.exp(-6 * x))  # offers nearly determined by x: little overlap
    frame = pd.DataFrame({"x": x, "score": x, "offered": offered, "care_12m": rng.random(n) < 0.03})
    estimates = fit(frame, covariates=["x", "score"])
    assert OVERLAP_TRIMMED in estimates["aipw"].flags
    assert estimates["aipw"].diagnostics["overlap"]["share_trimmed"] > 0.05
    for estimate in estimates.values():
        assert SMALL_CELLS in estimate.flags and NULL_RESULT in estimate.flags


def test_bad_columns_are_named():
    frame, _ = simulate_offers(seed=1, n=200)
    with pytest.raises(ValueError, match="missing.*'nope'"):
        fit(frame, covariates=["nope"])
    with pytest.raises(ValueError, match="'ward'"):
        fit(frame.assign(ward="E05"), covariates=["ward"])
    with pytest.raises(ValueError, match="'care_12m' must be 0/1"):
        fit(frame.assign(care_12m=2.0))
    separated = np.r_[np.linspace(-10, -5, 100), np.linspace(5, 10, 100)]  # offers fully decided by x
    frame = frame.assign(x=separated, offered=separated > 0)
    with pytest.raises(ValueError, match="no comparison can be made"):
        fit(frame, covariates=["x"], trim=0.45)


def test_standardised_mean_differences_match_a_hand_computation():
    covariates = pd.DataFrame({"age": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    treated = pd.Series([True, True, True, False, False, False])
    weights = pd.Series([1.0, 1.0, 2.0, 3.0, 1.0, 1.0])
    spread = np.sqrt((np.var([1, 2, 3], ddof=1) + np.var([4, 5, 6], ddof=1)) / 2)
    row = standardised_mean_differences(covariates, treated, weights).iloc[0]
    assert row["smd_before"] == pytest.approx((2 - 5) / spread)
    assert row["smd_after"] == pytest.approx(((1 + 2 + 6) / 4 - (12 + 5 + 6) / 5) / spread)
    summary = overlap_summary(pd.Series([0.005, 0.5, 0.995, 0.3]), pd.Series([True, True, False, False]))
    assert (summary["n_trimmed"], summary["n_trimmed_treated"], summary["share_trimmed"]) == (2, 1, 0.5)


def test_number_needed_to_treat_inverts_the_interval_and_reports_nulls_as_data():
    nnt = number_needed_to_treat(-0.05, -0.08, -0.02)
    assert (nnt.value, nnt.ci_low, nnt.ci_high) == pytest.approx((20.0, 12.5, 50.0))
    assert nnt.estimable and nnt.direction == "benefit"
    harm = number_needed_to_treat(0.04, 0.01, 0.07)
    assert harm.direction == "harm" and harm.ci_low == pytest.approx(1 / 0.07)
    null = number_needed_to_treat(-0.02, -0.05, 0.01)
    assert not null.estimable and null.ci_low is None and "not estimable" in null.note
    assert number_needed_to_treat(0.03, 0.01, 0.05, lower_is_better=False).direction == "benefit"
    with pytest.raises(ValueError, match="reversed"):
        number_needed_to_treat(-0.05, -0.02, -0.08)
    assert relative_change(-0.05, 0.25) == pytest.approx(-0.2)
    assert relative_change(-0.05, 0.0) is None and relative_change(-0.05, None) is None
    estimate = Estimate("p", "care_12m", 12, "aipw", "e", -0.05, -0.08, -0.02, 0.25, 10, 20, "x")
    assert estimate.relative_interval() == pytest.approx((-0.32, -0.08))
    assert estimate.to_dict()["relative"] == pytest.approx(-0.2)


def test_clustered_standard_errors_count_a_person_once_however_many_runs_they_have():
    from pipeline.impact.aipw import standard_error

    rng = np.random.default_rng(3)
    phi = rng.normal(size=400)
    # each person's influence repeated over 5 identical rows: 5x the rows, no more information
    repeated, groups = np.repeat(phi, 5), np.repeat(np.arange(400), 5)
    assert standard_error(phi) == pytest.approx(standard_error(phi, np.arange(400)))
    assert standard_error(repeated, groups) == pytest.approx(standard_error(phi), rel=1e-9)
    assert standard_error(repeated) < 0.5 * standard_error(repeated, groups)  # unclustered: falsely precise


def test_a_persons_rows_stay_in_one_cross_fitting_fold():
    from pipeline.impact.aipw import cross_fit_nuisances

    rng = np.random.default_rng(4)
    person = np.repeat(np.arange(300), 4)
    x = rng.normal(size=(person.size, 2))
    treated = (rng.random(person.size) < 0.3).astype(int)
    y = (rng.random(person.size) < 0.2).astype(int)
    folds = cross_fit_nuisances(x, treated, y, folds=5, seed=0, groups=person)["fold"]
    assert (pd.Series(folds.to_numpy()).groupby(person).nunique() == 1).all()


def test_the_naive_difference_over_every_row_with_person_clustered_errors():
    from pipeline.impact.aipw import naive_offer_difference

    rows = pd.DataFrame({"person_id": np.repeat(np.arange(200), 3), "offered": np.tile([1, 0, 0], 200),
                         "y": np.tile([1, 0, 1], 200)})
    got = naive_offer_difference(rows, outcome="y", programme="p", horizon_months=12, cluster="person_id")
    assert got.design == "naive_difference" and got.effect == pytest.approx(0.5)
    assert (got.n_treated, got.n_comparison) == (200, 400)
    with pytest.raises(ValueError, match="no offered"):
        naive_offer_difference(rows.assign(offered=0), outcome="y", programme="p", horizon_months=12)


def test_a_comparison_with_no_outcomes_does_not_shrink_the_interval_to_nothing():
    from pipeline.impact.aipw import _aipw

    # 200 offered (2 outcomes) against 20 heavily weighted not-offered with none: the usual error sees only
    # zeros among the comparison; the outcome model says about 1% of them would have had one
    t = np.r_[np.ones(200), np.zeros(20)].astype(int)
    y = np.r_[np.ones(2), np.zeros(218)].astype(int)
    e, mu0 = np.r_[np.full(200, 0.9), np.full(20, 0.9)], np.full(220, 0.01)
    effect, se, _ = _aipw(t, y, e, mu0, mu0, "att")
    residual_only = np.sqrt(np.sum(t * (y - mu0 - effect) ** 2 + (1 - t) * 81 * mu0**2)) / 200
    assert se > 2.5 * residual_only
    assert se == pytest.approx(np.sqrt(np.sum(t * (y - mu0 - effect) ** 2) + 20 * 81 * 0.01 * 0.99) / 200)
