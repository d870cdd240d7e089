"""Training on a tiny synthetic features frame: out-of-time split, calibration, scores contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.populations import CHILDREN
from models.evaluation import evaluate_models, fairness_table, labelled_rows
from models.oracle import attach_true_probability, linked_to_true_person
from models.rule_score import RuleScore
from models.split import assign_split


def test_split_is_by_year_and_never_shuffled(toy_features, toy_spec):
    split = assign_split(toy_features, toy_spec.split)
    by_year = pd.crosstab(toy_features["index_year"], split)
    assert (by_year.gt(0).sum(axis=1) == 1).all()  # one split per year
    assert split[toy_features["index_year"] == 2019].eq("test").all()
    assert split[toy_features["index_year"] == 2020].eq("score").all()


def test_rule_score_points_hand_computed():
    frame = pd.DataFrame({"attendance_rate_12m": [0.85, 0.95, np.nan], "exclusions_12m": [2, 0, 1]})
    rule = RuleScore([("attendance_rate_12m", "<", 0.9, 2), ("exclusions_12m", ">=", 1, 1)]).fit(frame)
    np.testing.assert_array_equal(rule.decision_function(frame), [3, 0, 1])  # missing scores no points
    with pytest.raises(KeyError):
        RuleScore([("no_such_feature", ">", 0, 1)]).fit(frame)


def test_trained_scores_follow_the_contract(trained, toy_features):
    scores = trained.scores
    assert list(scores.columns[:5]) == ["person_id", "index_date", "index_year", "split", "outcome"]
    assert len(scores) == len(toy_features)
    for column in ("score_released", "score_logistic", "probability_rule"):
        assert scores[column].between(0, 1).all()
    # calibration is monotone: ordered by the uncalibrated margin, the calibrated risk never rises
    for model in ("released", "logistic"):  # released: LightGBM's here
        by_margin = scores.sort_values(f"margin_{model}", ascending=False)[f"score_{model}"].to_numpy()
        assert (np.diff(by_margin) <= 1e-12).all(), model
        assert scores[f"margin_{model}"].nunique() > scores[f"score_{model}"].nunique() * 0.9
    assert set(trained.summary["calibration"]["lightgbm"]["log_loss"]) == {"isotonic", "sigmoid"}


def test_models_learn_the_signal_and_calibrate_out_of_time(trained, toy_features):
    test = labelled_rows(trained.scores.assign(p_true=toy_features["p_true"].to_numpy()), "test")
    y = test["outcome"].astype(int)
    assert roc_auc_score(y, test["score_released"]) > 0.65
    assert roc_auc_score(y, test["score_logistic"]) > 0.7
    # calibrated on the validation year: mean prediction near the observed rate out of time
    assert test["score_logistic"].mean() == pytest.approx(y.mean(), abs=0.04)


def test_calibrated_model_predicts_on_raw_frame_with_unseen_category(trained, toy_features, feature_names):
    frame = toy_features[feature_names].head(3).copy()
    frame.loc[frame.index[0], "sen_status"] = "never_seen"
    p = trained.lightgbm.predict_proba(frame)[:, 1]
    assert np.isfinite(p).all()


def test_evaluate_models_blocks_and_generator(trained, toy_features):
    scores = trained.scores.assign(p_true=toy_features["p_true"].to_numpy())
    metrics = evaluate_models(scores, capacity=40, tie_seed=3, n_boot=50, seed=1)
    assert set(metrics["baselines"]) == {"logistic", "rule", "generator"}
    test = labelled_rows(scores, "test")
    assert metrics["test"]["auc"] == pytest.approx(roc_auc_score(test["outcome"].astype(int), test["margin_released"]))
    assert metrics["baselines"]["generator"]["auc"] == pytest.approx(
        roc_auc_score(test["outcome"].astype(int), test["p_true"]))
    assert metrics["test"]["n"] == len(test) and metrics["test_index_date"] == "2019-01-20"
    for key in ("auc_ci", "brier", "ece", "oe_ratio", "calibration_slope", "precision_at_capacity",
                "recall_at_capacity", "lift_top_0_5pct"):
        assert key in metrics["baselines"]["rule"]


def test_the_years_evaluated_in_worker_processes_give_the_same_figures(trained, toy_features):
    """``workers=2`` evaluates the validation year in a worker process beside the test year: the same metrics tree,
    to the last digit and in the same order, as one year after the other."""
    scores = trained.scores.assign(p_true=toy_features["p_true"].to_numpy())
    one = evaluate_models(scores, capacity=40, tie_seed=3, n_boot=40, seed=1)
    two = evaluate_models(scores, capacity=40, tie_seed=3, n_boot=40, seed=1, workers=2)
    assert json.dumps(two, default=str) == json.dumps(one, default=str)
    assert list(two) == list(one) and two["validation"]["n"] == len(labelled_rows(scores, "validation"))


def test_fairness_table_covers_every_attribute(trained, toy_features):
    rows = labelled_rows(trained.scores.join(toy_features.filter(like="fair_")), "test")
    table = fairness_table(rows, "margin_released", "score_released", 40, attributes=CHILDREN.fairness_attributes,
                           tie_seed=3, n_boot=20)
    assert set(table["attribute"]) == {"sex", "ethnicity_group", "sen", "fsm", "imd_quintile", "sex_x_ethnicity"}
    assert (table.groupby("attribute")["n"].sum() == len(rows)).all()


def test_oracle_maps_truth_through_linkage_by_majority():
    index = pd.DataFrame({"table": ["school", "health", "school", "health"], "record_key_tok": ["a", "b", "c", "d"],
                          "person_id": ["L1", "L1", "L2", "L2"]})
    truth_keys = pd.DataFrame({"source": ["school", "health", "school", "health"],
                               "record_key_tok": ["a", "b", "c", "d"], "true_person_id": ["7", "7", "8", "9"]})
    mapping = linked_to_true_person(index, truth_keys).set_index("person_id")["true_person_id"]
    assert mapping.to_dict() == {"L1": 7, "L2": 8}  # L2 tie -> the smaller true id
    outcome = pd.DataFrame({"person_id": [7, 8], "index_date": pd.to_datetime(["2020-01-17", "2020-01-17"]),
                            "p_true": [0.2, 0.4]})
    scores = pd.DataFrame({"person_id": ["L1", "L2", "L3"], "index_date": pd.to_datetime(["2020-01-16"] * 3)})
    attached = attach_true_probability(scores, mapping.reset_index(), outcome)
    assert attached["p_true"].tolist()[:2] == [0.2, 0.4] and np.isnan(attached["p_true"].iloc[2])


def test_training_refuses_a_split_without_outcomes(toy_spec, features_factory, feature_names):
    from models.training import train_models

    frame = features_factory(n_per_year=50)
    frame["outcome"] = pd.array([pd.NA] * len(frame), dtype="Int8")
    with pytest.raises(ValueError, match="train"):
        train_models(frame, toy_spec, feature_names)


def test_case_control_rows_keep_every_positive_and_reweight_negatives():
    from models.learners import case_control_rows

    y = np.r_[np.ones(10, dtype=int), np.zeros(1000, dtype=int)]
    rows, weights = case_control_rows(y, 50, seed=3)
    assert set(np.flatnonzero(y == 1)) <= set(rows) and (y[rows] == 0).sum() == 50
    assert weights[y[rows] == 1].tolist() == [1.0] * 10
    assert weights[y[rows] == 0].sum() == pytest.approx((y == 0).sum())  # negatives stand for all negatives
    every_row, ones = case_control_rows(y, None, seed=3)
    assert every_row.tolist() == list(range(len(y))) and (ones == 1).all()
    assert len(case_control_rows(y, 5000, seed=3)[0]) == len(y)  # asking for more than exist keeps all


def test_logistic_on_a_case_control_sample_still_learns(toy_features, toy_spec, feature_names):
    from models.training import train_models

    learners = toy_spec.learners.model_copy(update={"logistic": {"max_negatives": 300}})
    sampled = train_models(toy_features, toy_spec.model_copy(update={"learners": learners}), feature_names)
    test = labelled_rows(sampled.scores, "test")
    assert roc_auc_score(test["outcome"].astype(int), test["score_logistic"]) > 0.7


def test_logged_training_dataset_has_the_schema_of_all_rows(toy_features, feature_names):
    from mlflow.types.utils import _infer_schema

    from pipeline.core.tracking import frame_digest, training_dataset

    X = toy_features[feature_names].copy()
    X.loc[X.index[5], "sen_status"] = None
    dataset = training_dataset(X, None, "toy-train")
    assert dataset.schema.to_dict() == _infer_schema(X).to_dict()
    assert dataset.digest == frame_digest(X) != frame_digest(X.assign(exclusions_12m=X["exclusions_12m"] + 1))
    assert dataset.profile["num_rows"] == len(X)


def test_lightgbm_never_sees_the_validation_year_calibration_uses(trained, toy_features, toy_spec, feature_names):
    """The trees are chosen on the latest training year and refitted; scrambling the validation year
    leaves LightGBM's uncalibrated margins unchanged (only the calibration on top of them moves)."""
    from models.training import train_models

    assert trained.summary["lightgbm_early_stopping"] == "index year 2017 (the latest training year)"
    validation = toy_features["index_year"] == 2018
    rng = np.random.default_rng(3)
    scrambled = toy_features.copy()
    for column in feature_names:
        values = scrambled.loc[validation, column].to_numpy()
        scrambled.loc[validation, column] = rng.permutation(values)
    again = train_models(scrambled, toy_spec, feature_names)
    train_rows = (toy_features["index_year"] <= 2017).to_numpy()
    assert again.summary["lightgbm_best_iteration"] == trained.summary["lightgbm_best_iteration"]
    np.testing.assert_array_equal(again.scores["margin_released"].to_numpy()[train_rows],
                                  trained.scores["margin_released"].to_numpy()[train_rows])
