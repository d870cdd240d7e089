"""LightGBM's trees chosen on every training year held out in turn (models.held_out_years)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss

from models.calibration import model_response
from models.held_out_years import held_out_years, usable_years
from models.learners import fit_lightgbm_trees, make_lightgbm_pipeline
from models.preprocess import categorical_columns

PARAMS = {"n_estimators": 120, "learning_rate": 0.2, "num_leaves": 7, "min_child_samples": 10, "n_jobs": 1}


@pytest.fixture(scope="module")
def training(toy_features, feature_names):
    rows = toy_features[toy_features["index_year"].between(2015, 2017)].reset_index(drop=True)
    return rows, rows["outcome"].astype("int64").to_numpy(), categorical_columns(rows, feature_names)


def _fold_score(rows, y, year, trees, feature_names, categorical):
    held = rows["index_year"].to_numpy() == year
    model = fit_lightgbm_trees(make_lightgbm_pipeline(feature_names, categorical, {**PARAMS, "n_estimators": trees},
                                                      7), rows[~held], y[~held])
    return model_response(model, rows[held]), y[held]


def test_each_year_is_scored_by_the_model_fitted_without_it_with_the_chosen_trees(training, feature_names):
    rows, y, categorical = training
    folds = held_out_years(rows, y, feature_names, categorical, PARAMS, 7)
    assert folds.years == [2015, 2016, 2017] and 1 <= folds.trees <= PARAMS["n_estimators"]
    assert folds.outcomes_held_out == int(y.sum()) and len(folds.scores) == len(rows)
    start = 0
    for year in folds.years:
        expected, outcomes = _fold_score(rows, y, year, folds.trees, feature_names, categorical)
        np.testing.assert_allclose(folds.scores[start:start + len(expected)], expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(folds.outcomes[start:start + len(expected)], outcomes)
        start += len(expected)


def test_the_chosen_trees_give_the_lowest_summed_held_out_log_loss(training, feature_names):
    """A fast learning rate overfits: the summed held-out log-loss at the chosen trees is below that at every
    other count tried, each fold refitted independently."""
    rows, y, categorical = training
    folds = held_out_years(rows, y, feature_names, categorical, PARAMS, 7)
    assert folds.trees < PARAMS["n_estimators"]

    def summed(trees: int) -> float:
        total = 0.0
        for year in folds.years:
            p, outcomes = _fold_score(rows, y, year, trees, feature_names, categorical)
            total += log_loss(outcomes, 1 / (1 + np.exp(-p)), labels=[0, 1]) * len(outcomes)
        return total

    best = summed(folds.trees)
    for other in {max(1, folds.trees // 2), min(PARAMS["n_estimators"], folds.trees * 2), PARAMS["n_estimators"]}:
        if other != folds.trees:
            assert best <= summed(other) + 1e-9


def test_weights_weight_the_held_out_log_loss(training, feature_names):
    rows, y, categorical = training
    weights = np.where(rows["index_year"].to_numpy() == 2017, 3.0, 1.0)
    folds = held_out_years(rows, y, feature_names, categorical, PARAMS, 7, weights)
    assert folds.weights is not None and len(folds.weights) == len(rows)
    latest = int((rows["index_year"] == 2017).sum())  # the last year held out comes last
    assert folds.weights[-latest:].tolist() == [3.0] * latest and set(folds.weights[:-latest]) == {1.0}


def test_fewer_than_two_usable_years_leave_the_choice_to_the_older_rule(training, feature_names):
    rows, y, categorical = training
    one = rows["index_year"].to_numpy() == 2016
    assert held_out_years(rows[one], y[one], feature_names, categorical, PARAMS, 7) is None
    no_outcomes = np.where(rows["index_year"].to_numpy() == 2017, 0, y)
    assert usable_years(rows["index_year"].to_numpy(), no_outcomes) == [2015, 2016]


def test_cross_fitting_never_lets_the_validation_year_choose_the_trees(toy_features, toy_spec, feature_names):
    """Scrambling the validation year's inputs leaves the trees and every training row's margin unchanged."""
    from models.training import train_models

    spec = toy_spec.model_copy(update={"calibration": toy_spec.calibration.model_copy(
        update={"cross_fit_training_years": True})})
    first = train_models(toy_features, spec, feature_names)
    validation = toy_features["index_year"] == 2018
    scrambled = toy_features.copy()
    rng = np.random.default_rng(5)
    for column in feature_names:
        scrambled.loc[validation, column] = rng.permutation(scrambled.loc[validation, column].to_numpy())
    again = train_models(scrambled, spec, feature_names)
    assert again.summary["lightgbm_best_iteration"] == first.summary["lightgbm_best_iteration"]
    train_rows = (toy_features["index_year"] <= 2017).to_numpy()
    np.testing.assert_array_equal(again.scores["margin_released"].to_numpy()[train_rows],
                                  first.scores["margin_released"].to_numpy()[train_rows])


def test_a_county_with_many_outcomes_holds_out_only_the_latest_years_it_needs(training, feature_names):
    """Years are held out from the latest back until they hold enough outcomes (at least two years)."""
    rows, y, categorical = training
    years = rows["index_year"].to_numpy()
    assert usable_years(years, y, enough=1) == [2016, 2017]
    assert usable_years(years, y, enough=int(y[years == 2017].sum()) + int(y[years == 2016].sum()) + 1) == \
        [2015, 2016, 2017]
    few = held_out_years(rows, y, feature_names, categorical, PARAMS, 7, enough=1)
    assert few.years == [2016, 2017] and few.partial and len(few.scores) == int((years >= 2016).sum())
    assert few.describe_years() == "the training years 2016-2017"
    assert held_out_years(rows, y, feature_names, categorical, PARAMS, 7).describe_years() == "every training year"
