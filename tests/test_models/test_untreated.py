"""Risk without help (issue 19): offer exposure, IPW / drop-in training rows, the estimand and the offered split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.performative_retrain import help_prevented, run_study, seed_summary, simulate_listed_county
from features.feature import Feature
from features.offers import help_features, offer_exposure
from models.offer_split import describe_offer_split, observed_over_expected, performance_by_offer
from models.spec import ModelSpecError, TrainingSpec, load_model_spec, parse_model_spec
from models.training import train_models
from models.untreated import (
    OfferExposureAsInput,
    calibrated_propensity,
    check_no_exposure_inputs,
    dropin_rows,
    effective_sample_size,
    inverse_untreated_weights,
    ipw_rows,
    out_of_fold_propensity,
    resolve_mode,
    untreated_training_rows,
)
from tests.test_models.conftest import SPEC


@pytest.fixture(scope="module")
def listed_county() -> pd.DataFrame:
    # help strong enough (80% accept, 80% of their care entries prevented) that four years of lists show clearly
    return simulate_listed_county(5000, list_share=0.12, acceptance=0.8, relative_reduction=0.8, seed=2)


def test_naive_retrain_under_predicts_risk_without_help_for_the_offered_and_ipw_does_not():
    # three small simulated counties (2,000 children a year; help strong enough that four years of lists show:
    # 12% listed, 80% accept, 80% of their care entries prevented), the care_entry learners with isotonic
    # calibration only (sigmoid's fits are most of the run time and do not change the direction)
    base = load_model_spec("care_entry")
    base = base.model_copy(update={"calibration": base.calibration.model_copy(update={"methods": ["isotonic"]})})
    per_seed = []
    for seed in (1, 2, 3):
        county = simulate_listed_county(2000, list_share=0.12, acceptance=0.8, relative_reduction=0.8, seed=seed)
        result = run_study(county, ("naive", "ipw"), base=base)
        per_seed.append(result)
        naive, ipw = result["naive"]["offered"], result["ipw"]["offered"]
        # true chance of care entry without help / predicted, among children offered help in the held-out years
        # (above 1 = under-predicted); against the true chance, not its draw, so outcome noise cannot decide it.
        # Seeds 1-3 gave naive 1.21-1.37 and IPW 0.99-1.08: in every seed naive under-predicts, and by more
        assert naive["p0_over_predicted"] > 1.1, (seed, naive)
        assert naive["p0_over_predicted"] > ipw["p0_over_predicted"] + 0.05, (seed, naive, ipw)
        # the realised outcomes without help (y0) say the same: the naive model under-predicts them more
        assert naive["ratio"] > ipw["ratio"], (seed, naive, ipw)
        assert result["ipw"]["untreated"]["dropped_offered_rows"] == int(
            (county["offered_in_window"] & county["index_year"].between(2014, 2022)).sum())
    summary = seed_summary(per_seed, ("naive", "ipw"))
    # IPW lands near the truth over seeds (its spread is variance: few untreated rows at the top of the list)
    assert 0.9 <= summary["ipw"]["median_p0_over_predicted"] <= 1.12, summary
    assert summary["ipw"]["naive_above"] == 1.0
    # and does not buy it by over-predicting the children never offered
    assert 0.85 <= summary["ipw"]["median_not_offered_p0_over_predicted"] <= 1.1, summary


def test_propensity_is_recalibrated_where_overrides_keep_the_offer_below_one():
    rng = np.random.default_rng(4)
    x = rng.normal(size=20000)
    # a list takes the top 10% of a noisy score; a tenth of the listed are not offered (overrides)
    chance = 0.9 / (1 + np.exp(-4 * (x - 1.3)))
    offered = (rng.random(x.size) < chance).astype(int)
    rows = pd.DataFrame({"x": x})
    e = out_of_fold_propensity(rows, offered, ["x"], [], seed=0)
    top = x > 2.2
    # a logistic link runs on towards 1 at the top; the recalibrated chance stays at the observed rate (~0.9)
    assert e[top].mean() == pytest.approx(offered[top].mean(), abs=0.03)
    assert e.max() < 0.97
    assert calibrated_propensity(np.array([0.2, 0.5, 0.99]), np.array([0, 1, 1])).tolist() == [0.0, 1.0, 1.0]


def test_inverse_untreated_weights_clip_and_count():
    weights, clipped = inverse_untreated_weights(np.array([0.0, 0.5, 0.9, 0.99]), 0.95)
    assert weights == pytest.approx([1.0, 2.0, 10.0, 20.0])
    assert clipped == 1
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        inverse_untreated_weights(np.array([0.2, 1.2]), 0.95)


def test_effective_sample_size_is_kish():
    assert effective_sample_size(np.ones(50)) == pytest.approx(50)
    assert effective_sample_size(np.array([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)
    assert effective_sample_size(np.array([1000.0, *np.full(99, 1e-6)])) == pytest.approx(1.0, abs=1e-3)


def test_ipw_rows_drop_the_offered_and_weight_only_years_with_offers(listed_county):
    rows = listed_county[listed_county["index_year"].between(2016, 2020)].reset_index(drop=True)
    y = rows["outcome"].astype("int64").to_numpy()
    columns = ["prior_referrals", "parent_factors", "absence_rate", "age_years"]
    out = ipw_rows(rows, y, columns, [], TrainingSpec(max_propensity=0.9), seed=1)
    assert not out.rows["offered_in_window"].any()
    assert len(out.rows) == (~rows["offered_in_window"]).sum() == out.summary["kept_rows"]
    assert out.weights.mean() == pytest.approx(1.0)
    before = out.weights[(out.rows["index_year"] < 2019).to_numpy()]
    after = out.weights[(out.rows["index_year"] >= 2019).to_numpy()]
    assert np.ptp(before) == pytest.approx(0.0)  # no lists yet: e(x) = 0, one weight
    assert after.max() > before[0] * 1.5  # high-risk profiles, often offered, count for those who were
    assert after.max() <= before[0] / (1 - 0.9) + 1e-9  # clipped
    assert out.summary["years_with_offers"] == [2019, 2020]
    assert 0 < out.summary["effective_sample_size"] < len(out.rows)


def test_dropin_relabels_the_offered_by_the_effect():
    rows = pd.DataFrame({"index_year": 2020, "offered_in_window": [True] * 10 + [False] * 10})
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0] + [0] * 10)
    out = dropin_rows(rows, y, -0.18)
    offered = out.rows["offered_in_window"].to_numpy()
    # weighted outcome rate among the offered: recorded 0.1 plus the 18 points the help prevented
    assert np.average(out.y[offered], weights=out.weights[offered]) == pytest.approx(0.28)
    assert out.weights[offered].sum() == pytest.approx(10)
    assert (out.y[~offered] == 0).all() and (out.weights[~offered] == 1).all()
    with pytest.raises(ValueError, match="reduction"):
        dropin_rows(rows, y, 0.05)


def test_default_mode_is_ipw_only_where_offers_were_recorded():
    with_offers = pd.DataFrame({"offered_in_window": [False, True]})
    assert resolve_mode(TrainingSpec(), with_offers)[0] == "ipw"
    assert resolve_mode(TrainingSpec(), with_offers.assign(offered_in_window=False))[0] == "naive"
    assert resolve_mode(TrainingSpec(), pd.DataFrame({"x": [1]}))[0] == "naive"
    assert resolve_mode(TrainingSpec(untreated="naive"), with_offers) == (
        "naive", "set by the spec (training.untreated)")
    with pytest.raises(ValueError, match="needs the offer exposure"):
        untreated_training_rows(pd.DataFrame({"index_year": [2020]}), np.array([0]), ["x"], [],
                                TrainingSpec(untreated="ipw"), 0)


def test_offered_is_never_a_model_input(toy_features, feature_names):
    with pytest.raises(OfferExposureAsInput, match="never a model input"):
        check_no_exposure_inputs(["referrals_12m", "offered_in_window"])
    with pytest.raises(ModelSpecError, match="never a model input"):
        parse_model_spec({**SPEC, "features": {"include": [*SPEC["features"]["include"], "offered_in_window"]}})
    frame = toy_features.assign(offered_in_window=False)
    with pytest.raises(OfferExposureAsInput):
        train_models(frame, parse_model_spec(SPEC), [*feature_names, "offered_in_window"])


def test_the_registry_holds_no_help_feature():
    from features.registry import FEATURES

    assert help_features(FEATURES) == []
    planted = {"offers_12m": Feature("offers_12m", "Early help offers, last 12 months", "early help records", "12m",
                                     "numeric", "model", "interventions", "offer", "count(*)", 0)}
    assert help_features({**FEATURES, **planted}) == ["offers_12m"]
    from features.spec_checks import spec_problems

    assert spec_problems(load_model_spec("care_entry")) == []  # the features stage's check passes a real spec


def test_estimand_defaults_from_outcome_and_horizon_and_a_stated_one_is_kept():
    care = load_model_spec("care_entry")
    assert care.estimand == ("risk of entering care within 12 months of the index date if no early help offer is "
                             "made (usual care otherwise)")
    assert "if no early help offer is made" in parse_model_spec(SPEC).estimand
    stated = parse_model_spec({**SPEC, "estimand": "risk of NEET if nothing changes"})
    assert stated.estimand == "risk of NEET if nothing changes"
    with pytest.raises(ModelSpecError, match="dropin_effect"):
        parse_model_spec({**SPEC, "training": {"untreated": "dropin"}})


def test_offer_exposure_counts_offers_in_the_outcome_window_only():
    rows = pd.DataFrame({"person_id": ["a", "b", "c", "d", "e"],
                         "index_date": pd.to_datetime(["2024-03-31"] * 5)})
    offers = pd.DataFrame({"person_id": ["a", "b", "c", "c", "d", "x"],
                           "date": pd.to_datetime(["2024-03-30", "2024-03-31", "2024-09-01", "2024-06-01",
                                                   "2025-04-01", "2024-05-01"])})
    out = offer_exposure(rows, offers, 12)
    assert out["offered_in_window"].tolist() == [False, True, True, False, False]
    assert out["offer_date"].iloc[2] == pd.Timestamp("2024-06-01")  # the first in the window
    assert out["offer_date"].isna().tolist() == [True, False, False, True, True]
    with pytest.raises(ValueError, match="date"):
        offer_exposure(rows, offers.rename(columns={"date": "offered_on"}), 12)


def test_observed_over_expected_interval():
    even = observed_over_expected(100, 100.0)
    assert even["ratio"] == 1.0 and even["low"] < 1.0 < even["high"]
    assert observed_over_expected(0, 5.0)["low"] == 0.0
    assert observed_over_expected(3, 0.0)["ratio"] is None


def test_monitoring_splits_realised_performance_by_offer():
    rng = np.random.default_rng(0)
    n = 4000
    p = rng.uniform(0.01, 0.4, n)
    offered = p > 0.3
    y = rng.random(n) < np.where(offered, p * 0.5, p)  # help halves risk among the offered
    scores = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "index_date": pd.Timestamp("2024-03-31"),
                           "split": "test", "outcome": pd.array(y.astype("int8"), dtype="Int8"),
                           "score_released": p})
    exposure = scores[["person_id", "index_date"]].assign(offered_in_window=offered)
    block = performance_by_offer(scores, exposure)
    assert block["year"] == 2024
    assert block["offered"]["rows"] == offered.sum()
    not_offered = block["not_offered"]["observed_over_expected"]
    assert not_offered["low"] <= 1.0 <= not_offered["high"]
    assert block["offered"]["observed_over_expected"]["high"] < 1.0
    assert block["performative_gap"] == pytest.approx(p[offered].mean() - y[offered].mean(), abs=1e-4)
    text = describe_offer_split(block)
    assert "not as the model drifting" in text and "not offered early help" in text
    assert performance_by_offer(scores, exposure.drop(columns="offered_in_window")) is None
    assert describe_offer_split(None).startswith("Not measured")
    assert "percentage points fewer outcomes than predicted without help" in text
    # a gap that rounds to nothing, or the other way, is said as it is (never "-0.0 points fewer")
    assert "about as many outcomes as predicted" in describe_offer_split({**block, "performative_gap": -0.0004})
    assert "1.5 percentage points more outcomes" in describe_offer_split({**block, "performative_gap": -0.015})


def test_the_card_states_the_estimand_how_offers_were_trained_and_the_split():
    from ethics.card.model import CardInputs, build_model_card
    from ethics.card.render import render_model_card_markdown

    spec = load_model_spec("care_entry").model_dump(mode="json")
    untreated = {"mode": "ipw", "why": "default: offer records exist for the training years",
                 "dropped_offered_rows": 812, "kept_rows": 40210, "max_propensity": 0.95,
                 "effective_sample_size": 35102.4}
    split = {"year": 2025, "score": "score_released", "performative_gap": 0.031,
             "not_offered": {"rows": 9000, "observed_over_expected": {"ratio": 0.98, "low": 0.85, "high": 1.12}},
             "offered": {"rows": 400, "observed_over_expected": {"ratio": 0.7, "low": 0.55, "high": 0.88}}}
    card = build_model_card(CardInputs(
        model="care_entry", spec=spec, context={"purpose": "p"},
        metrics={"capacity": 20, "test": {"auc": 0.8}, "offer_split": split},
        group_metrics=pd.DataFrame({"attribute": ["fair_sex"], "group": ["F"], "n": [100], "suppressed": [False]}),
        run={"run_id": "r1", "feature_columns": [], "untreated": untreated}, governance={"status": "blocked"},
        min_group_size=50))
    assert card.data["What the model predicts"] == spec["estimand"]
    assert "812 rows" in card.method["Offers of help in training"]
    assert "effective sample size 35,102" in card.method["Offers of help in training"]
    assert "not as the model drifting" in card.method["Performance by offer"]
    text = render_model_card_markdown(card)
    assert "if no early help offer is made" in text
    naive = build_model_card(CardInputs(
        model="care_entry", spec=spec, context={}, metrics={"capacity": 20, "test": {}},
        group_metrics=pd.DataFrame(columns=["attribute", "group", "n", "suppressed"]),
        run={"run_id": "r1", "feature_columns": [], "untreated": {"mode": "naive", "why": "set by the spec",
                                                                  "offered_rows_fitted_as_recorded": 50}},
        governance={"status": "blocked"}, min_group_size=50))
    assert "under-predicts risk without help" in naive.method["Offers of help in training"]
    assert naive.method["Performance by offer"].startswith("Not measured")


def test_dropin_takes_the_effect_from_the_impact_estimates(tmp_path):
    from models.train_stage import with_estimated_effect
    from models.untreated import effect_from_estimates
    from pipeline.core.io import write_json
    from pipeline.core.paths import ProjectPaths

    summary = {"estimates": [
        {"design": "naive_difference", "outcome": "care_entry", "horizon_months": 12, "effect": -0.2},
        {"design": "aipw", "outcome": "referral", "horizon_months": 12, "effect": -0.05},
        {"design": "aipw", "outcome": "care_entry", "horizon_months": 12, "effect": -0.021}]}
    assert effect_from_estimates(summary, "care_entry", 12) == -0.021
    assert effect_from_estimates(summary, "care_entry", 24) is None
    assert effect_from_estimates({"estimates": [{**summary["estimates"][2], "effect": 0.01}]}, "care_entry", 12) == 0
    assert effect_from_estimates(None, "care_entry", 12) is None
    spec = load_model_spec("care_entry")
    dropin = spec.model_copy(update={"training": TrainingSpec(untreated="dropin", dropin_effect=-0.01)})
    paths = ProjectPaths(tmp_path)
    assert with_estimated_effect(dropin, paths).training.dropin_effect == -0.01  # no estimates yet: the spec's
    write_json(summary, paths.reports / "impact" / "estimates.json")
    assert with_estimated_effect(dropin, paths).training.dropin_effect == -0.021
    assert with_estimated_effect(spec, paths) is spec  # ipw / naive never read it


def test_county_study_adds_back_the_entry_an_offer_in_the_window_prevented():
    rows = pd.DataFrame({"person_id": ["P1", "P1", "P2", "P3"],
                         "index_date": pd.to_datetime(["2024-03-31", "2025-03-31", "2024-03-31", "2024-03-31"])})
    people = pd.DataFrame({"person_id": ["P1", "P2", "P3"], "true_person_id": [11, 12, 13]})
    help_rows = pd.DataFrame({
        "person_id": [11, 12, 13],
        "offered": [True, True, False],
        "offer_date": pd.to_datetime(["2024-06-10", "2024-06-10", "2024-06-10"]),
        "y0_care_12m": [True, False, True],  # 12: nothing to prevent; 13: not offered
        "y1_care_12m": [False, False, False]})
    # P1's 2024 window holds the offer that stopped its entry; its 2025 window does not
    assert help_prevented(rows, people, help_rows).tolist() == [True, False, False, False]
