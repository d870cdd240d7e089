"""The one-pass bootstrap gives exactly the replicates of the earlier one-metric-at-a-time code.

The references below are the earlier implementations, kept here plainly: each metric drew its own rows
(``cell[drawn]`` or ``counts[:, row_order]``) instead of pooling the shared row counts. Counts per cell are
integers, so the pooled counts, and every figure fitted or divided from them, must agree to the bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from models.evaluation import generator_comparison, replicates_of_blocks
from models.metrics import resampling
from models.metrics.bootstrap import decision_replicates
from models.metrics.calibration import (
    PROBABILITY_FLOOR,
    fit_replicate_slopes,
    pooled_log_odds,
    recalibration_fit,
)
from models.metrics.discrimination import (
    auc_and_average_precision_from_counts,
    bootstrap_discrimination,
    discrimination_with_ci,
    rank_codes,
)
from models.metrics.group_bootstrap import bootstrap_group_sums, pool_rows
from models.metrics.operating_point import bootstrap_at_capacity
from models.selection import selection_order


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(21)
    n = 900
    p_true = expit(rng.normal(-2.0, 1.1, n))
    y = (rng.random(n) < p_true).astype(np.int64)
    margin = np.round(logit(p_true) + rng.normal(0, 0.6, n), 1)  # ties, as the rule's points have
    people = np.array([f"P{i:06d}" for i in range(n)])
    return y, p_true, margin, people


def earlier_counts(n: int, n_boot: int, seed: int):
    """The earlier ``replicate_counts``: one bincount of every replicate's offset draws."""
    rng = np.random.default_rng(seed)
    chunk = max(1, resampling.BOOTSTRAP_CHUNK_CELLS // n)
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(rows, n)) + n * np.arange(rows)[:, None]
        yield start, idx, np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n).astype(np.float64)


def earlier_slopes(counts, y, probability, start):
    """The earlier ``bootstrap_slope``: the counts reordered by cell and summed with ``reduceat``."""
    z = logit(np.clip(probability, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR))
    row_order, starts, y_cells, z_cells = pooled_log_odds(y, z)
    return fit_replicate_slopes(np.add.reduceat(counts[:, row_order], starts, axis=1), y_cells, z_cells, start)


def earlier_discrimination(idx, n, code, m):
    """The earlier AUROC replicates: each draw's code gathered and counted."""
    drawn = code[idx - n * np.arange(len(idx))[:, None]] + (3 * m + 1) * np.arange(len(idx))[:, None]
    counts = np.bincount(drawn.ravel(), minlength=len(idx) * (3 * m + 1)).reshape(len(idx), 3 * m + 1)
    return auc_and_average_precision_from_counts(counts.astype(np.float64), m)


def test_row_counts_are_the_draws_of_the_seed_chunk_by_chunk(monkeypatch):
    monkeypatch.setattr(resampling, "BOOTSTRAP_CHUNK_CELLS", 7 * 50)  # 7 replicates a chunk: 3 chunks for 17
    new = list(resampling.replicate_counts(50, 17, seed=3))
    old = list(earlier_counts(50, 17, seed=3))
    assert [first for first, _ in new] == [first for first, _, _ in old] == [0, 7, 14]
    for (_, counts), (_, _, reference) in zip(new, old, strict=True):
        np.testing.assert_array_equal(counts, reference)
    assert all(counts.sum(axis=1).tolist() == [50.0] * len(counts) for _, counts in new)


def test_pooled_counts_add_each_cells_draws():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4, size=(5, 40)).astype(np.float64)
    cell = rng.integers(0, 6, 40)
    expected = np.zeros((5, 7))
    for b in range(5):
        np.add.at(expected[b], cell, counts[b])
    np.testing.assert_array_equal(resampling.pooled_counts(counts, cell, 7), expected)


def test_one_pass_equals_the_earlier_metric_by_metric_replicates(rows, monkeypatch):
    monkeypatch.setattr(resampling, "BOOTSTRAP_CHUNK_CELLS", 40 * 900)  # several chunks
    y, p_true, margin, people = rows
    n, n_boot, capacity = len(y), 130, 45
    scores = {"a": margin, "b": -0.5 * margin + np.round(p_true, 2)}
    probability = {"a": expit(margin - 0.4), "b": expit(0.3 * logit(p_true) - 1.5)}
    orders = {name: selection_order(score, people, 9) for name, score in scores.items()}
    new = decision_replicates(y, {name: (orders[name], probability[name]) for name in scores}, capacity,
                              n_boot=n_boot, seed=11, expected=p_true, ranking=scores)
    yf = y.astype(np.float64)
    for name in scores:
        start = recalibration_fit(yf, probability[name])
        code, m = rank_codes(y, scores[name])
        for first, idx, counts in earlier_counts(n, n_boot, seed=11):
            end = first + len(counts)
            at = bootstrap_at_capacity(counts, yf, orders[name], capacity, p_true)
            np.testing.assert_array_equal(new[name]["precision_at_capacity"][first:end], at["precision"])
            np.testing.assert_array_equal(new[name]["recall_at_capacity"][first:end], at["recall"])
            np.testing.assert_array_equal(new[name]["lift_at_capacity"][first:end], at["lift"])
            np.testing.assert_array_equal(new[name]["expected_precision_at_capacity"][first:end],
                                          at["expected_precision"])
            np.testing.assert_array_equal(new[name]["oe_ratio"][first:end],
                                          (counts @ yf) / (counts @ probability[name]))
            np.testing.assert_array_equal(new[name]["calibration_slope"][first:end],
                                          earlier_slopes(counts, yf, probability[name], start))
            auc, ap = earlier_discrimination(idx, n, code, m)
            np.testing.assert_array_equal(new[name]["auc"][first:end], auc)
            np.testing.assert_array_equal(new[name]["average_precision"][first:end], ap)
    assert np.isfinite(new["a"]["calibration_slope"]).all()
    # the AUROC counted in the pass is what the discrimination module counts alone with the seed
    alone = bootstrap_discrimination(y, [scores["a"], scores["b"]], n_boot=n_boot, seed=11)
    for name, (auc, ap) in zip(scores, alone, strict=True):
        np.testing.assert_array_equal(new[name]["auc"], auc)
        np.testing.assert_array_equal(new[name]["average_precision"], ap)


def test_a_score_reads_the_same_replicates_whichever_scores_share_the_pass(rows):
    y, p_true, margin, people = rows
    order = selection_order(margin, people, 1)
    alone = decision_replicates(y, {"m": (order, expit(margin))}, 30, n_boot=60, seed=2)["m"]
    shared = decision_replicates(y, {"r": (order[::-1], p_true), "m": (order, expit(margin))}, 30, n_boot=60,
                                 seed=2, calibration=["m"], expected=p_true, ranking={"r": -margin})
    for key, values in alone.items():
        np.testing.assert_array_equal(shared["m"][key], values)
    assert np.isnan(shared["r"]["oe_ratio"]).all() and np.isnan(shared["r"]["calibration_slope"]).all()
    assert "auc" in shared["r"] and "auc" not in shared["m"]


def test_blocks_and_the_generator_comparison_match_separate_bootstraps(rows):
    y, p_true, margin, people = rows
    scores = {"lightgbm": (margin, expit(margin)), "rule": (np.round(margin), expit(np.round(margin)))}
    blocks, replicates, _ = replicates_of_blocks(y, scores, 40, person_id=people, tie_seed=3, n_boot=80, seed=4)
    separate = discrimination_with_ci(y, [margin, np.round(margin)], n_boot=80, seed=4)
    for name, reference in zip(scores, separate, strict=True):
        assert {k: blocks[name][k] for k in reference} == reference
        assert "auc" not in replicates[name]
    frame = pd.DataFrame({"person_id": people, "outcome": y, "p_true": np.where(np.arange(len(y)) % 9, p_true, np.nan),
                          "margin_released": margin, "score_released": expit(margin),
                          "margin_logistic": -margin, "score_logistic": expit(-margin),
                          "score_rule": np.round(margin), "probability_rule": expit(np.round(margin))})
    out, summary = generator_comparison(frame, 40, tie_seed=3, n_boot=80, seed=4, n_bins=10)
    same = frame[frame["p_true"].notna()]
    order = selection_order(same["score_rule"].to_numpy(), same["person_id"].to_numpy(), 3)
    alone = decision_replicates(same["outcome"], {"rule": (order, same["probability_rule"].to_numpy())}, 40,
                                n_boot=80, seed=4, expected=same["p_true"].to_numpy(), calibration=False)["rule"]
    low, high = np.quantile(alone["expected_precision_at_capacity"], [0.025, 0.975])
    assert out["rule"]["against_generator"]["expected_precision_at_capacity_ci"] == [low, high]
    assert summary["rows"] == len(same)


def test_group_sums_equal_the_earlier_gathered_counts_and_a_plain_sum(rows):
    y, p_true, margin, _ = rows
    yf = y.astype(np.float64)
    s = (margin > np.quantile(margin, 0.9)).astype(np.float64)
    codes = (np.arange(len(y)) % 4).astype(np.int64)
    p = np.round(p_true, 2)
    out = bootstrap_group_sums(yf, s, p, codes, 4, 25, seed=6)
    quantities = np.column_stack([np.ones(len(y)), yf, s, s * yf, s * (1 - yf), (p - yf) ** 2, p])
    drawn = np.random.default_rng(6).integers(0, len(y), size=(25, len(y)))  # one chunk holds all 25
    cell, first_row = pool_rows([codes, yf, s, p])
    n_cells = len(first_row)
    gathered = cell[drawn] + n_cells * np.arange(25)[:, None]
    counts = np.bincount(gathered.ravel(), minlength=25 * n_cells).reshape(25, n_cells).astype(np.float64)
    bounds = np.searchsorted(codes[first_row], np.arange(5))
    for g in range(4):
        np.testing.assert_array_equal(out[:, g], counts[:, bounds[g]:bounds[g + 1]]
                                      @ quantities[first_row][bounds[g]:bounds[g + 1]])
        plain = np.stack([quantities[d[codes[d] == g]].sum(axis=0) for d in drawn])
        np.testing.assert_allclose(out[:, g], plain, rtol=1e-12)
    np.testing.assert_allclose(out[:, 4], np.stack([quantities[d].sum(axis=0) for d in drawn]), rtol=1e-12)
