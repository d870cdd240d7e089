"""Every audited attribute reads one set of bootstrap replicates (``bootstrap_attribute_sums``).

The earlier code drew the rows again for each attribute (seed + the attribute's position), which was most of
``fairness_table``'s time. These tests check the shared sums against a plain loop over the drawn rows, that
the table is the earlier one given the same draws, and that the intervals of the attributes whose draws
changed agree with the earlier ones to within bootstrap noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import models.metrics.fairness as fairness
from models.metrics.fairness import group_metrics
from models.metrics.group_bootstrap import bootstrap_attribute_sums, bootstrap_group_sums

ATTRIBUTES = {"sex": ["sex"], "eth": ["eth"], "imd": ["imd"], "sex_x_eth": ["sex", "eth"]}


def synthetic_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Outcome, selection (a tie shared at the cut), rounded probability and four attributes' columns."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(-1.5, 1.0, n)))
    y = (rng.random(n) < p).astype(np.float64)
    selected = (p > np.quantile(p, 0.85)).astype(np.float64)
    selected[:4] = 0.25
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "eth": rng.choice(["A", "B", "C", None], n),
                          "imd": rng.integers(1, 6, n)})
    return y, selected, np.round(p, 2), frame


def per_attribute_draws(offset: int):
    """The earlier replicates: each attribute drew its own rows with ``seed + position`` (or all ``seed``)."""
    def sums(y, s, p, codes_by_attribute, n_groups_by_attribute, n_boot, seed):
        return [bootstrap_group_sums(y, s, p, codes, n_groups, n_boot, seed + offset * k)
                for k, (codes, n_groups) in enumerate(zip(codes_by_attribute, n_groups_by_attribute, strict=True))]
    return sums


def interval_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.endswith(("_ci_low", "_ci_high"))]


def test_shared_sums_match_a_plain_loop_over_the_drawn_rows():
    y, s, p, frame = synthetic_rows(300, seed=1)
    codes = [pd.factorize(frame[c], sort=True)[0] for c in ("sex", "imd")]
    codes.append(pd.factorize(frame["sex"] + "/" + frame["eth"].fillna("?"), sort=True)[0])
    n_groups = [int(c.max()) + 1 for c in codes]
    out = bootstrap_attribute_sums(y, s, p, codes, n_groups, n_boot=7, seed=4)
    quantities = np.column_stack([np.ones(len(y)), y, s, s * y, s * (1 - y), (p - y) ** 2, p])
    draws = np.random.default_rng(4)
    for b in range(7):
        rows = draws.integers(0, len(y), len(y))
        for sums, code, groups in zip(out, codes, n_groups, strict=True):
            assert sums.shape == (7, groups + 1, 7)
            for g in range(groups):
                np.testing.assert_allclose(sums[b, g], quantities[rows[code[rows] == g]].sum(axis=0), rtol=1e-12)
            np.testing.assert_allclose(sums[b, groups], quantities[rows].sum(axis=0), rtol=1e-12)


def test_the_first_attribute_keeps_its_replicates_and_no_rows_give_zeros():
    y, s, p, frame = synthetic_rows(200, seed=2)
    codes = [pd.factorize(frame["eth"].fillna("?"), sort=True)[0], pd.factorize(frame["sex"], sort=True)[0]]
    shared = bootstrap_attribute_sums(y, s, p, codes, [4, 2], n_boot=9, seed=3)
    np.testing.assert_allclose(shared[0], bootstrap_group_sums(y, s, p, codes[0], 4, 9, 3), rtol=1e-12)
    empty = np.array([], dtype=np.int64)
    none = bootstrap_attribute_sums(empty.astype(float), empty.astype(float), empty.astype(float), [empty], [2], 5, 0)
    assert none[0].shape == (5, 3, 7) and not none[0].any()
    assert bootstrap_attribute_sums(y, s, p, [], [], 5, 0) == []


def test_group_metrics_is_the_earlier_table_given_the_same_draws(monkeypatch):
    y, s, p, frame = synthetic_rows(600, seed=5)
    new = group_metrics(y, s, p, frame, ATTRIBUTES, n_boot=60, seed=11, min_n=5, min_positives=2)
    monkeypatch.setattr(fairness, "bootstrap_attribute_sums", per_attribute_draws(offset=0))
    same_draws = group_metrics(y, s, p, frame, ATTRIBUTES, n_boot=60, seed=11, min_n=5, min_positives=2)
    monkeypatch.setattr(fairness, "bootstrap_attribute_sums", per_attribute_draws(offset=1))
    earlier = group_metrics(y, s, p, frame, ATTRIBUTES, n_boot=60, seed=11, min_n=5, min_positives=2)
    assert list(new.columns) == list(earlier.columns)
    intervals = interval_columns(new)
    assert len(intervals) == 2 * (1 + 2 * len(fairness.COMPARED))
    figures = [c for c in new.columns if c not in intervals]
    # the figures group_metrics.csv publishes beside the intervals do not depend on the draws: same to the bit
    assert new[figures].to_csv(index=False) == earlier[figures].to_csv(index=False)
    # the shared sums are added up by finest group first: equal up to rounding in the last bits
    pd.testing.assert_frame_equal(new, same_draws, check_exact=False, rtol=1e-9, atol=1e-12)
    first = new["attribute"] == "sex"
    pd.testing.assert_frame_equal(new[first], earlier[first], check_exact=False, rtol=1e-9, atol=1e-12)
    assert not np.allclose(new.loc[~first, intervals], earlier.loc[~first, intervals], equal_nan=True)


def test_intervals_from_shared_draws_agree_with_per_attribute_draws(monkeypatch):
    """Attributes after the first now draw other replicates: their intervals move only by bootstrap noise."""
    y, s, p, frame = synthetic_rows(4000, seed=8)
    new = group_metrics(y, s, p, frame, ATTRIBUTES, n_boot=400, seed=0)
    monkeypatch.setattr(fairness, "bootstrap_attribute_sums", per_attribute_draws(offset=1))
    earlier = group_metrics(y, s, p, frame, ATTRIBUTES, n_boot=400, seed=0)
    later = new["attribute"] != "sex"
    for metric in ("diff_tpr", "diff_fpr", "diff_selection_rate", "ratio_oe_ratio", "diff_brier"):
        low, high = f"{metric}_ci_low", f"{metric}_ci_high"
        width = (earlier.loc[later, high] - earlier.loc[later, low]).to_numpy()
        for end in (low, high):
            moved = np.abs(new.loc[later, end] - earlier.loc[later, end]).to_numpy() / width
            assert np.nanmedian(moved) < 0.1, (metric, end)
            assert np.nanmax(moved) < 0.35, (metric, end)
        widths = (new.loc[later, high] - new.loc[later, low]).to_numpy() / width
        assert np.nanmedian(widths) == pytest.approx(1, abs=0.1)
