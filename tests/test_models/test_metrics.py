"""Metric code against independent computations (scikit-learn, fairlearn, hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from scipy.special import logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.metrics.calibration import calibration_metrics, calibration_slope_intercept, reliability_table
from models.metrics.discrimination import (
    auc_and_average_precision_from_counts,
    auc_with_ci,
    average_precision_with_ci,
    bootstrap_discrimination,
    discrimination_with_ci,
    percentile_interval,
    rank_codes,
)
from models.metrics.fairness import group_metrics, suppress_small_cells
from models.metrics.group_bootstrap import bootstrap_group_sums
from models.metrics.operating_point import operating_point_metrics, precision_recall_at_k, selection_weights
from models.selection import selection_order


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(3)
    n = 3000
    y = (rng.random(n) < 0.08).astype(int)
    p = np.clip(0.05 + 0.25 * y * rng.random(n) + 0.1 * rng.random(n), 0, 1)
    points = np.round(p * 10)  # heavy ties, like a rule score
    return y, p, points


def _counted(y, score, weight):
    code, m = rank_codes(y, score)
    counts = np.bincount(code, weights=weight, minlength=3 * m + 1)
    return auc_and_average_precision_from_counts(counts, m)


@pytest.mark.parametrize("which", ["p", "points"])
def test_counted_auc_and_ap_match_sklearn_with_ties(scored, which):
    y, p, points = scored
    s = p if which == "p" else points
    auc, ap = _counted(y, s, np.ones(len(y)))
    assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert ap == pytest.approx(average_precision_score(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_counted_auc_and_ap_match_sklearn_sample_weight(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    y = (rng.random(n) < rng.uniform(0.05, 0.6)).astype(int)
    y[:2] = [0, 1]
    score = rng.integers(0, int(rng.integers(2, 50)), n).astype(float)  # ties, as bootstrap rows repeat
    weight = rng.poisson(1.0, n).astype(float)
    weight[:2] = 1
    auc, ap = _counted(y, score, weight)
    assert auc == pytest.approx(roc_auc_score(y, score, sample_weight=weight), abs=1e-12)
    assert ap == pytest.approx(average_precision_score(y, score, sample_weight=weight), abs=1e-12)


def test_bootstrap_replicates_match_sklearn_on_the_drawn_rows(scored):
    y, p, points = scored
    replicates = bootstrap_discrimination(y, [p, points], n_boot=5, seed=4)
    idx = np.random.default_rng(4).integers(0, len(y), size=(5, len(y)))  # the documented draws
    for s, (auc, ap) in zip([p, points], replicates, strict=True):
        np.testing.assert_allclose(auc, [roc_auc_score(y[i], s[i]) for i in idx], atol=1e-12)
        np.testing.assert_allclose(ap, [average_precision_score(y[i], s[i]) for i in idx], atol=1e-12)


def test_bootstrap_ci_is_the_percentile_interval_of_resampled_sklearn_values(scored):
    y, p, _ = scored
    out = discrimination_with_ci(y[:400], [p[:400]], n_boot=30, seed=8)[0]
    idx = np.random.default_rng(8).integers(0, 400, size=(30, 400))
    values = np.array([roc_auc_score(y[i], p[i]) if 0 < y[i].sum() < 400 else np.nan for i in idx])
    assert out["auc_ci"] == pytest.approx(percentile_interval(values))
    assert out == discrimination_with_ci(y[:400], [p[:400]], n_boot=30, seed=8)[0]  # same seed, same output


def test_one_replicate_without_positives_is_left_out():
    y = np.r_[1, np.zeros(30, dtype=int)]
    auc, ap = bootstrap_discrimination(y, [np.arange(31.0)], n_boot=20, seed=0)[0]
    idx = np.random.default_rng(0).integers(0, 31, size=(20, 31))
    no_positive = ~(y[idx] == 1).any(axis=1)
    assert no_positive.any() and np.isnan(auc[no_positive]).all() and np.isnan(ap[no_positive]).all()
    assert np.isfinite(auc[~no_positive]).all()


def test_confidence_intervals_bracket_the_estimate_and_narrow_with_n(scored):
    y, p, _ = scored
    full = auc_with_ci(y, p, n_boot=200, seed=1)
    low, high = full["auc_ci"]
    assert low < full["auc"] < high
    small = auc_with_ci(y[:300], p[:300], n_boot=200, seed=1)
    assert (small["auc_ci"][1] - small["auc_ci"][0]) > (high - low)
    ap = average_precision_with_ci(y, p, n_boot=100, seed=1)
    assert ap["average_precision_ci"][0] < ap["average_precision"] < ap["average_precision_ci"][1]


def test_one_class_gives_none_not_an_error():
    assert auc_with_ci([0, 0, 0], [0.1, 0.2, 0.3])["auc"] is None


def test_precision_at_k_hand_computed():
    y = np.array([1, 0, 1, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    result = precision_recall_at_k(y, np.argsort(-s), 3)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["lift"] == pytest.approx((2 / 3) / 0.5)


def test_external_score_ties_at_the_cut_are_shared_pro_rata():
    # top-2 of scores [3, 1, 1, 1]: the 3 is in; one of three tied 1s joins it (external scores only:
    # the models' own rows are selected by models.selection)
    s = np.array([3.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(selection_weights(s, 2), [1, 1 / 3, 1 / 3, 1 / 3])


def test_operating_point_top_fractions(scored):
    y, p, _ = scored
    order = selection_order(p, np.arange(len(p)), seed=5)
    out = operating_point_metrics(y, order, capacity=30)
    assert (np.diff(p[order]) <= 0).all()
    assert out["precision_at_capacity"] == pytest.approx(y[order[:30]].mean())
    assert out["precision_top_1pct"] == pytest.approx(y[order[:30]].mean())  # 1% of 3000 = 30
    assert out["lift_top_5pct"] == pytest.approx(y[order[:150]].mean() / y.mean())


def test_calibration_against_sklearn(scored):
    y, p, _ = scored
    out = calibration_metrics(y, p)
    assert out["brier"] == pytest.approx(brier_score_loss(y, p))
    assert out["oe_ratio"] == pytest.approx(y.sum() / p.sum())
    z = logit(np.clip(p, 1e-6, 1 - 1e-6)).reshape(-1, 1)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(z, y)
    assert out["calibration_slope"] == pytest.approx(reference.coef_[0, 0], rel=1e-5)


def test_perfectly_calibrated_predictions_have_slope_one_and_intercept_zero():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.01, 0.5, 200_000)
    y = (rng.random(len(p)) < p).astype(int)
    out = calibration_slope_intercept(y, p)
    assert out["calibration_slope"] == pytest.approx(1, abs=0.03)
    assert out["calibration_intercept"] == pytest.approx(0, abs=0.02)
    doubled = calibration_slope_intercept(y, np.clip(p * 2, 0, 0.99))
    assert doubled["calibration_intercept"] < -0.3  # over-prediction shows as a negative intercept


def test_reliability_table_equal_frequency_bins():
    p = np.linspace(0.01, 0.99, 100)
    y = np.r_[np.zeros(50), np.ones(50)]
    table = reliability_table(y, p, n_bins=4)
    assert table["n"].tolist() == [25, 25, 25, 25]
    assert table["observed"].tolist() == [0, 0, 1, 1]
    assert table["mean_predicted"].iloc[0] == pytest.approx(p[:25].mean())


def test_group_metrics_match_fairlearn_and_hand_counts(scored):
    y, p, _ = scored
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], len(y)), "eth": rng.choice(["A", "B", None], len(y))})
    selected = (p > np.quantile(p, 0.9)).astype(int)
    table = group_metrics(y, selected, p, frame, {"sex": ["sex"], "sex_x_eth": ["sex", "eth"]}, n_boot=50, seed=1)
    reference = MetricFrame(
        metrics={"tpr": true_positive_rate, "fpr": false_positive_rate, "selection_rate": selection_rate},
        y_true=y, y_pred=selected, sensitive_features=frame["sex"],
    ).by_group
    sex = table[table["attribute"] == "sex"].set_index("group")
    for metric in ("tpr", "fpr", "selection_rate"):
        np.testing.assert_allclose(sex.loc[["F", "M"], metric], reference.loc[["F", "M"], metric])
    female = frame["sex"].to_numpy() == "F"
    assert sex.loc["F", "auc"] == pytest.approx(roc_auc_score(y[female], p[female]))
    assert sex.loc["F", "oe_ratio"] == pytest.approx(y[female].sum() / p[female].sum())
    assert sex.loc["F", "ppv"] == pytest.approx(y[female & (selected == 1)].mean())
    assert sex.loc["F", "diff_tpr"] == pytest.approx(sex.loc["F", "tpr"] - true_positive_rate(y, selected))
    assert sex.loc["F", "diff_tpr_ci_low"] <= sex.loc["F", "diff_tpr"] <= sex.loc["F", "diff_tpr_ci_high"]
    assert "F x Unknown" in set(table["group"])  # missing values are a group, not dropped
    assert table.groupby("attribute")["n"].sum().tolist() == [len(y), len(y)]


def test_small_cells_are_suppressed_before_publication():
    y = np.r_[np.ones(6), np.zeros(44), np.ones(2), np.zeros(7)]
    p = np.full(len(y), 0.1)
    frame = pd.DataFrame({"g": ["big"] * 50 + ["small"] * 9})
    table = group_metrics(y, (np.arange(len(y)) % 3 == 0).astype(int), p, frame, {"g": ["g"]}, n_boot=0)
    assert table.set_index("group")["suppressed"].to_dict() == {"big": False, "small": True}
    published = suppress_small_cells(table).set_index("group")
    assert published.loc["small", ["n", "tpr", "positives"]].isna().all()
    assert published.loc["big", "n"] == 50


def test_group_bootstrap_sums_match_a_loop_over_the_drawn_rows(scored):
    y, p, _ = scored
    y = y.astype(float)
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 4, len(y))
    selected = (p > np.quantile(p, 0.9)).astype(float)
    selected[:3] = 0.5  # a tie shared at the cut
    probability = np.round(p, 2)  # few distinct values: rows pool into cells
    sums = bootstrap_group_sums(y, selected, probability, codes, 4, n_boot=6, seed=2)
    draws = np.random.default_rng(2)
    for b in range(6):
        i = draws.integers(0, len(y), len(y))
        yi, si, pi, ci = y[i], selected[i], probability[i], codes[i]
        for g in range(4):
            rows = ci == g
            expected = [rows.sum(), yi[rows].sum(), si[rows].sum(), (si * yi)[rows].sum(),
                        (si * (1 - yi))[rows].sum(), ((pi - yi) ** 2)[rows].sum(), pi[rows].sum()]
            np.testing.assert_allclose(sums[b, g], expected, rtol=1e-12)
        np.testing.assert_allclose(sums[b, 4], sums[b, :4].sum(axis=0))


def test_ties_at_the_cut_count_pro_rata_in_group_figures():
    # top-3 of [5, 1, 1, 1, 1, 1]: the 5 and a 2/5 share of each tied row; the group figures must add
    # up to the 3 rows flagged overall, not drop the shared rows
    score = np.array([5.0, 1, 1, 1, 1, 1])
    y = np.array([1, 1, 0, 0, 1, 0])
    frame = pd.DataFrame({"g": ["a", "a", "a", "b", "b", "b"]})
    selected = selection_weights(score, 3)
    table = group_metrics(y, selected, score / 10, frame, {"g": ["g"]}, n_boot=0, min_n=1, min_positives=1)
    by_group = table.set_index("group")
    assert (by_group["n"] * by_group["selection_rate"]).sum() == pytest.approx(3)
    assert by_group.loc["a", "tpr"] == pytest.approx((1 + 0.4) / 2)
    assert by_group.loc["b", "ppv"] == pytest.approx(0.4 / (3 * 0.4))
    assert by_group.loc["a", "diff_selection_rate"] == pytest.approx((1 + 0.8) / 3 - 3 / 6)
