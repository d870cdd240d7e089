"""The deployment-faithful backtest: trained only on what had matured by the test index date."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.backtest import fit_backtest, plan_backtest
from models.evaluation import evaluate_backtest, evaluate_rows, labelled_rows, scored_alike
from models.spec import SplitSpec, parse_model_spec
from models.training import train_models

from .conftest import SPEC, make_features

# a long outcome window, as neet18's: the last three index years are not labelled at the extract date
YEARS = range(2013, 2023)
IMMATURE = (2020, 2021, 2022)
SPLIT = {"train_years": [2013, 2014, 2015, 2016, 2017], "validation_year": 2018, "test_year": 2019,
         "score_year": 2022}


@pytest.fixture(scope="module")
def long_window():
    frame = make_features(n_per_year=500, years=YEARS, seed=5)
    frame.loc[frame["index_year"].isin(IMMATURE), "outcome"] = pd.NA
    return frame


@pytest.fixture(scope="module")
def long_spec():
    return parse_model_spec({**SPEC, "index_dates": {"kind": "spring_census", "first_year": 2013, "last_year": 2022},
                             "split": SPLIT})


def _standard(frame, spec, columns):
    return train_models(frame, spec, columns)


def test_the_gap_is_the_live_lists_and_only_matured_years_train(long_window, long_spec):
    plan = plan_backtest(long_window, long_spec.split)
    protocol = plan.protocol
    # live: scoring 2022 with 2019 the latest labelled year, so a 3-year gap; the test year 2019 then trains
    # on what was labelled by 2016, calibrating on 2016 itself
    assert protocol["gap_years"] == 3 and protocol["live_latest_matured_year"] == 2019
    assert protocol["matured_years"] == [2013, 2014, 2015, 2016]
    assert plan.split.train_years == [2013, 2014, 2015] and plan.split.validation_year == 2016
    assert protocol["differs_from_standard"] is True


def test_the_plan_reads_which_rows_are_labelled_never_the_labels(long_window, long_spec):
    flipped = long_window.copy()
    labelled = flipped["outcome"].notna()
    flipped.loc[labelled, "outcome"] = 1 - flipped.loc[labelled, "outcome"]
    assert plan_backtest(flipped, long_spec.split).protocol == plan_backtest(long_window, long_spec.split).protocol


def test_the_backtest_model_never_sees_a_year_that_matured_after_the_test_index_date(long_window, long_spec,
                                                                                       feature_names):
    standard = _standard(long_window, long_spec, feature_names)
    split = SplitSpec(**long_spec.split.model_dump())
    scores, protocol = fit_backtest(long_window, long_spec, feature_names, standard.scores, split)
    assert protocol["calibration_year"] == 2016 and "lightgbm_best_iteration" in protocol
    assert set(scores["index_year"]) == {2019} and scores["outcome"].notna().all()
    # scramble the outcomes of 2017-2018 (labelled now, not by the 2019 index date): the backtest is unmoved,
    # while the standard fit, which trains on them, changes
    later = long_window["index_year"].isin([2017, 2018])
    scrambled = long_window.copy()
    scrambled.loc[later, "outcome"] = np.random.default_rng(0).permutation(
        scrambled.loc[later, "outcome"].to_numpy())
    again, _ = fit_backtest(scrambled, long_spec, feature_names, standard.scores, split)
    for column in ("margin_released", "score_released", "score_logistic", "probability_rule"):
        np.testing.assert_array_equal(again[column].to_numpy(), scores[column].to_numpy())
    assert not np.array_equal(_standard(scrambled, long_spec, feature_names).scores["margin_released"],
                              standard.scores["margin_released"])


def test_a_backtest_with_the_standard_years_reuses_the_standard_scores(trained, toy_features, toy_spec,
                                                                         feature_names):
    scores, protocol = fit_backtest(toy_features, toy_spec, feature_names, trained.scores,
                                    SplitSpec(**toy_spec.split.model_dump()))
    assert protocol["differs_from_standard"] is False
    pd.testing.assert_frame_equal(scores, labelled_rows(trained.scores, "test").reset_index(drop=True))


def test_a_backtest_of_the_standard_rows_copies_the_standard_figures_it_would_recompute(trained, toy_features,
                                                                                        toy_spec, feature_names):
    """With ``standard_year`` the backtest that is the standard fit is not bootstrapped again: its block equals,
    to the last figure, the one computed from its rows; rows scored differently are still computed."""
    scores, protocol = fit_backtest(toy_features, toy_spec, feature_names, trained.scores,
                                    SplitSpec(**toy_spec.split.model_dump()))
    test_rows = labelled_rows(trained.scores, "test").assign(p_true=lambda f: f["score_released"] * 0.9)
    scores = scores.assign(p_true=test_rows["p_true"].to_numpy())
    standard = evaluate_rows(test_rows, 40, tie_seed=7, n_boot=30, seed=1, n_bins=10)
    computed = evaluate_backtest(scores, protocol, standard[0], 40, tie_seed=7, n_boot=30, seed=1, n_bins=10)
    copied = evaluate_backtest(scores, protocol, standard[0], 40, tie_seed=7, n_boot=30, seed=1, n_bins=10,
                               standard_year=(test_rows, standard))
    assert json.dumps(copied, sort_keys=True, default=str) == json.dumps(computed, sort_keys=True, default=str)
    assert copied["test"] is not standard[0] and set(copied["minus_standard"].values()) <= {0.0, None}
    assert scored_alike(scores, test_rows)
    reordered = scores.iloc[::-1]
    assert not scored_alike(reordered, test_rows)
    other = evaluate_backtest(reordered, protocol, standard[0], 40, tie_seed=7, n_boot=30, seed=1, n_bins=10,
                              standard_year=(test_rows, standard))
    assert other["test"]["auc_ci"] != copied["test"]["auc_ci"]  # recomputed: another order, other replicates


def test_one_training_year_chooses_its_trees_by_folds_of_its_rows(toy_features, feature_names):
    spec = parse_model_spec({**SPEC, "split": {"train_years": [2016], "validation_year": 2017, "test_year": 2018}})
    fitted = train_models(toy_features, spec, feature_names)
    assert fitted.summary["lightgbm_early_stopping"].endswith("folds of the rows (one training year)")
    assert fitted.summary["lightgbm_best_iteration"] < spec.learners.lightgbm["n_estimators"]


def test_a_county_without_matured_years_says_why(long_window, long_spec):
    young = long_window[long_window["index_year"] >= 2016]
    plan = plan_backtest(young, long_spec.split)
    assert plan.split is None and "calibration year" in plan.protocol["reason"]


def test_the_backtest_block_reports_beside_the_standard(long_window, long_spec, feature_names):
    standard = _standard(long_window, long_spec, feature_names)
    scores, protocol = fit_backtest(long_window, long_spec, feature_names, standard.scores,
                                    SplitSpec(**long_spec.split.model_dump()))
    standard_test = {"precision_at_capacity": 0.5, "auc": 0.9}
    block = evaluate_backtest(scores, protocol, standard_test, 40, tie_seed=7, n_boot=50, seed=1, n_bins=10)
    test = block["test"]
    low, high = test["precision_at_capacity_ci"]
    assert low <= test["precision_at_capacity"] <= high
    assert {"oe_ratio_ci", "calibration_slope_ci", "lift_at_capacity_ci", "precision_gain_over_rule"} <= set(test)
    assert set(block["baselines"]) == {"logistic", "rule"}
    assert block["minus_standard"]["auc"] == pytest.approx(test["auc"] - 0.9)
    assert block["minus_standard"]["oe_ratio"] is None  # the standard block given here has none
    with_truth = evaluate_backtest(scores.assign(p_true=0.1), protocol, standard_test, 40, tie_seed=7, n_boot=20,
                                   seed=1, n_bins=10)
    assert with_truth["generator_comparison"]["rows"] == len(scores)
    assert "expected_precision_at_capacity" in with_truth["test"]["against_generator"]


def test_monotone_directions_constrain_the_risk_and_refuse_unknown_features(toy_features, feature_names):
    from models.learners import monotone_constraints

    assert monotone_constraints(feature_names, {"attendance_rate_12m": -1, "referrals_12m": 1}) == [-1, 0, 0, 1]
    with pytest.raises(ValueError, match="not model inputs: \\['absence'\\]"):
        monotone_constraints(feature_names, {"absence": 1})
    with pytest.raises(ValueError, match="must be 1 or -1"):
        monotone_constraints(feature_names, {"referrals_12m": 2})
    spec = parse_model_spec({**SPEC, "learners": {**SPEC["learners"], "lightgbm": {
        **SPEC["learners"]["lightgbm"], "monotone": {"attendance_rate_12m": -1, "exclusions_12m": 1}}}})
    fitted = train_models(toy_features, spec, feature_names)
    rows = toy_features[toy_features["index_year"] == 2019].head(200)
    # more attendance never raises the margin, more exclusions never lower it, whatever else the row holds
    from models.learners import lightgbm_margin

    base = lightgbm_margin(fitted.lightgbm, rows)
    attendance = rows["attendance_rate_12m"] + 0.05
    more_attendance = lightgbm_margin(fitted.lightgbm, rows.assign(attendance_rate_12m=attendance))
    more_exclusions = lightgbm_margin(fitted.lightgbm, rows.assign(exclusions_12m=rows["exclusions_12m"] + 1))
    assert (more_attendance <= base + 1e-12).all() and (more_exclusions >= base - 1e-12).all()


def test_cross_fitted_calibration_pools_out_of_fold_training_years(toy_features, toy_spec, feature_names):
    from models.learners import find_lightgbm, lightgbm_margin

    spec = toy_spec.model_copy(update={"calibration": toy_spec.calibration.model_copy(
        update={"cross_fit_training_years": True})})
    fitted = train_models(toy_features, spec, feature_names)
    choice = fitted.summary["calibration"]["lightgbm"]
    # the validation year (2018) and every training year (2015-2017), each scored out of fold: 4 x 400 rows
    assert choice["rows"] == 1600 and choice["fitted_on"].startswith("the validation year and every training year")
    chosen_on = fitted.summary["lightgbm_early_stopping"]
    assert chosen_on.startswith("the summed log-loss of 3 training years (2015-2017) each")
    rows = toy_features[toy_features["index_year"] == 2019]
    margin, probability = lightgbm_margin(fitted.lightgbm, rows), fitted.lightgbm.predict_proba(rows)[:, 1]
    order = np.argsort(margin)
    assert (np.diff(probability[order]) >= -1e-12).all()  # calibration is monotone in the margin
    # and it keeps the margin's information: out-of-fold scores on another scale than the validation year's would
    # leave a nearly flat calibrated probability
    assert np.corrcoef(probability, rows["p_true"])[0, 1] > 0.5 and probability.std() > 0.2 * rows["p_true"].std()
    assert find_lightgbm(fitted.lightgbm)[1] is find_lightgbm(fitted.lightgbm.estimator)[1]


def test_the_backtests_groups_are_evaluated_where_it_differs(long_window, long_spec, feature_names):
    from models.evaluate_stage import KEYS, evaluate_scores
    from pipeline.core.config import EvaluateParams

    standard = _standard(long_window, long_spec, feature_names)
    scores, protocol = fit_backtest(long_window, long_spec, feature_names, standard.scores,
                                    SplitSpec(**long_spec.split.model_dump()))
    fair = ["fair_sex", "fair_ethnicity_group"]
    with_groups = standard.scores.merge(long_window[[*KEYS, *fair]], on=KEYS, how="left")
    evaluation = evaluate_scores(with_groups, 40, EvaluateParams(n_boot=20), {"sex": ["fair_sex"]}, tie_seed=7,
                                 min_group_n=10,
                                 backtest=scores, backtest_protocol=protocol)
    block = evaluation.metrics["backtest"]
    groups = pd.DataFrame(block["group_metrics"])
    assert set(groups["group"]) >= {"M", "F"} and groups["n"].sum() >= len(scores)
    assert groups.loc[groups["group"] == "F", "n"].iloc[0] == (scores.merge(
        long_window[[*KEYS, "fair_sex"]], on=KEYS)["fair_sex"] == "F").sum()
    assert "sex" in block["fairness"] or "fair_sex" in block["fairness"]
    assert all(v is None or v == v for row in block["group_metrics"] for v in row.values())  # no NaN in JSON
