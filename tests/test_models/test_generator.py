"""The generator-probability baseline is the probability of the label as recorded, fitted off the test year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.populations import CHILDREN
from models.evaluate_stage import evaluate_scores
from models.oracle import attach_true_probability, recorded_label_probability
from pipeline.core.config import EvaluateParams

ATTRIBUTES = CHILDREN.fairness_attributes


def test_the_true_outcome_travels_with_its_probability():
    person_map = pd.DataFrame({"person_id": ["L1", "L2"], "true_person_id": [7, 8]})
    outcome = pd.DataFrame({"person_id": [7, 8], "index_date": pd.to_datetime(["2020-01-17"] * 2),
                            "p_true": [0.2, 0.4], "outcome": [True, False]})
    scores = pd.DataFrame({"person_id": ["L1", "L2", "L3"], "index_date": pd.to_datetime(["2020-01-16"] * 3)})
    attached = attach_true_probability(scores, person_map, outcome)
    assert attached["true_outcome"].tolist()[:2] == [1.0, 0.0] and np.isnan(attached["true_outcome"].iloc[2])


def test_recording_rates_come_from_the_training_years_only():
    # training years: 4 true outcomes, 3 recorded; 10 non-outcomes, 1 recorded. The test year records
    # everything, which must not move the rates
    scores = pd.DataFrame({
        "split": ["train"] * 14 + ["test"] * 4,
        "true_outcome": [1, 1, 1, 1] + [0] * 10 + [1, 1, 0, 0],
        "outcome": [1, 1, 1, 0] + [1] + [0] * 9 + [1, 1, 1, 1],
        "p_true": np.linspace(0.05, 0.9, 18),
    })
    probability, recording = recorded_label_probability(scores)
    assert recording == {"fitted_on": "train", "rows": 14, "sensitivity": 0.75, "false_positive_rate": 0.1}
    np.testing.assert_allclose(probability, 0.75 * scores["p_true"] + 0.1 * (1 - scores["p_true"]))


def test_evaluation_judges_the_generator_on_the_recorded_label(trained, toy_features, toy_spec):
    rng = np.random.default_rng(0)
    y = trained.scores["outcome"].astype("float64")
    # the true outcome: every recorded one, plus as many again that were never recorded (sensitivity 1/2)
    missed = (y == 0) & (rng.random(len(y)) < y.mean())
    scores = trained.scores.join(toy_features.filter(like="fair_")).assign(
        p_true=toy_features["p_true"].to_numpy(), true_outcome=np.where(missed, 1.0, y))
    params = EvaluateParams(n_boot=0)
    metrics = evaluate_scores(scores, toy_spec.capacity_per_year, params, ATTRIBUTES, tie_seed=1,
                              min_group_n=10).metrics
    recording = metrics["generator_recording"]
    train = scores[(scores["split"] == "train") & scores["outcome"].notna()]
    assert recording["sensitivity"] == pytest.approx(train["outcome"].sum() / train["true_outcome"].sum())
    assert recording["false_positive_rate"] == 0
    as_true = evaluate_scores(scores.drop(columns="true_outcome"), toy_spec.capacity_per_year, params, ATTRIBUTES,
                              tie_seed=1, min_group_n=10).metrics
    assert "generator_recording" not in as_true
    ratio = metrics["baselines"]["generator"]["oe_ratio"] / as_true["baselines"]["generator"]["oe_ratio"]
    assert ratio == pytest.approx(1 / recording["sensitivity"])
