"""Bootstrap intervals of the decision metrics, against brute-force resampling; generator comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression

from models.evaluation import evaluate_models, metrics_blocks, replicates_of_blocks
from models.metrics.bootstrap import decision_replicates, replicate_counts
from models.metrics.calibration import against_generator, bootstrap_slope, recalibration_fit
from models.metrics.operating_point import bootstrap_at_capacity
from models.selection import selection_order


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(8)
    n = 1500
    p_true = expit(rng.normal(-2.5, 1.0, n))
    y = (rng.random(n) < p_true).astype(int)
    margin = logit(p_true) + rng.normal(0, 0.7, n)
    people = np.array([f"P{i:08d}" for i in range(n)])
    return y, p_true, np.round(margin, 1), people  # rounded: ties at the cut


def test_replicates_reselect_the_top_k_of_each_resample(rows):
    y, p_true, margin, people = rows
    order = selection_order(margin, people, seed=4)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    _, counts = next(replicate_counts(len(y), 6, seed=2))
    out = bootstrap_at_capacity(counts, y.astype(float), order, 40, expected=p_true)
    for b in range(len(counts)):
        drawn = np.repeat(np.arange(len(y)), counts[b].astype(int))
        top = drawn[np.argsort(rank[drawn], kind="stable")[:40]]  # the resample's own top 40, same ranking
        assert out["precision"][b] == pytest.approx(y[top].mean())
        assert out["recall"][b] == pytest.approx(y[top].sum() / y[drawn].sum())
        assert out["lift"][b] == pytest.approx(y[top].mean() / y[drawn].mean())
        assert out["expected_precision"][b] == pytest.approx(p_true[top].mean())


def test_replicate_slopes_match_a_direct_fit_of_each_resample(rows):
    y, p_true, _, _ = rows
    prediction = expit(0.8 * logit(p_true) - 0.3)
    _, counts = next(replicate_counts(len(y), 4, seed=3))
    slopes = bootstrap_slope(counts, y.astype(float), prediction, recalibration_fit(y, prediction))
    for b in range(len(counts)):
        drawn = np.repeat(np.arange(len(y)), counts[b].astype(int))
        direct = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(logit(prediction[drawn])[:, None], y[drawn])
        assert slopes[b] == pytest.approx(direct.coef_[0, 0], rel=1e-4)


def test_intervals_cover_the_point_and_a_paired_gain_of_one_score_against_itself_is_zero(rows):
    y, p_true, margin, people = rows
    scores = {"lightgbm": (margin, expit(margin)), "rule": (margin, expit(margin))}
    blocks, replicates, _ = replicates_of_blocks(y, scores, 60, person_id=people, tie_seed=1, n_boot=300, seed=5)
    block = blocks["lightgbm"]
    for key in ("precision_at_capacity", "recall_at_capacity", "lift_at_capacity", "oe_ratio", "calibration_slope"):
        low, high = block[f"{key}_ci"]
        assert low <= block[key] <= high, key
        assert len(replicates["lightgbm"][key]) == 300
    np.testing.assert_array_equal(replicates["lightgbm"]["precision_at_capacity"],
                                  replicates["rule"]["precision_at_capacity"])
    # more replicates, same seed: the first 300 are the same draws
    more = decision_replicates(y, {"m": (selection_order(margin, people, 1), expit(margin))}, 60, n_boot=400, seed=5)
    np.testing.assert_allclose(more["m"]["precision_at_capacity"][:300],
                               replicates["lightgbm"]["precision_at_capacity"])


def test_calibration_against_the_generator_reads_slope_and_mean_ratio():
    p_true = expit(np.linspace(-5, 1, 2000))
    same = against_generator(p_true, p_true)
    assert same["calibration_slope"] == pytest.approx(1.0, abs=1e-6) and same["mean_ratio"] == pytest.approx(1.0)
    too_extreme = against_generator(p_true, expit(2 * logit(p_true)))
    assert too_extreme["calibration_slope"] == pytest.approx(0.5, abs=1e-6)
    assert against_generator(p_true, 0.5 * p_true)["mean_ratio"] == pytest.approx(0.5)


def test_the_generator_has_the_highest_expected_precision_and_replaces_the_oracle(rows):
    y, p_true, margin, people = rows
    n = len(y)
    scores = pd.DataFrame({"person_id": people, "index_date": pd.Timestamp("2020-01-20"),
                           "split": np.where(np.arange(n) % 2, "test", "validation"), "outcome": y,
                           "margin_released": margin, "score_released": expit(margin),
                           "margin_logistic": -margin, "score_logistic": expit(-margin),
                           "score_rule": np.round(margin), "probability_rule": expit(np.round(margin)),
                           "p_true": p_true})
    metrics = evaluate_models(scores, 30, tie_seed=2, n_boot=200, seed=1)
    assert set(metrics["baselines"]) == {"logistic", "rule", "generator"}
    assert metrics["bootstrap"] == {"replicates": 200, "interval": "percentile", "level": 0.95, "seed": 1}
    expected = {name: block["against_generator"]["expected_precision_at_capacity"]
                for name, block in {"lightgbm": metrics["test"], **metrics["baselines"]}.items()}
    assert expected["generator"] == max(expected.values()) and expected["logistic"] < expected["lightgbm"]
    summary = metrics["generator_comparison"]["test"]
    assert summary["lightgbm_to_generator"]["value"] == pytest.approx(expected["lightgbm"] / expected["generator"])
    low, high = summary["lightgbm_to_rule"]["ci"]
    assert low <= summary["lightgbm_to_rule"]["value"] <= high
    gain = metrics["test"]["precision_gain_over_rule"]
    assert gain["value"] == pytest.approx(metrics["test"]["precision_at_capacity"]
                                          - metrics["baselines"]["rule"]["precision_at_capacity"])
    one = metrics_blocks(y, {"x": (margin, expit(margin))}, 30, person_id=people, tie_seed=2, n_boot=0)["x"]
    assert one["precision_at_capacity_ci"] == [None, None]  # no replicates, no interval
