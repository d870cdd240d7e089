"""The family-gain study's arms and paired bootstrap (benchmarks/family_gain.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from benchmarks.family_gain import (
    METRICS,
    WITH,
    WITHOUT,
    arm_columns,
    compare_arms,
    family_coverage,
    family_variant,
    ranking_metric_draws,
)
from benchmarks.records_ceiling import expected_precision_draws
from features.registry import FEATURES, feature_columns
from models.selection import selection_order
from models.spec import load_model_spec


def _rows(n: int = 600, seed: int = 5):
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(2 * risk - 2.5)))).astype(float)
    person = np.array([f"p{i}" for i in range(n)])
    return risk, y, person, rng


def _comparisons(scores, y, person, k=40, seed=11, replicates=80):
    point, draws = ranking_metric_draws(scores, y, person, k, seed, replicates)
    return {m: compare_arms({a: point[a][m] for a in scores}, {a: draws[a][m] for a in scores}, "noise", "signal")
            for m in METRICS}


def test_a_score_that_carries_signal_gains_over_noise_with_an_interval_above_zero():
    risk, y, person, rng = _rows()
    compared = _comparisons({"noise": rng.normal(size=len(y)), "signal": risk + rng.normal(0, 0.5, len(y))},
                            y, person)
    for metric in METRICS:
        d = compared[metric]["difference"]
        assert d["value"] > 0 and d["ci"][0] > 0, metric
        assert d["value"] == pytest.approx(compared[metric][WITH]["value"] - compared[metric][WITHOUT]["value"])
    assert compared["auroc"][WITHOUT]["ci"][0] < 0.5 < compared["auroc"][WITHOUT]["ci"][1]  # noise is a coin


def test_identical_arms_differ_by_exactly_zero_on_every_draw():
    risk, y, person, _ = _rows()
    compared = _comparisons({"noise": risk, "signal": risk.copy()}, y, person)
    for metric in METRICS:
        assert compared[metric]["difference"] == {"value": 0.0, "ci": [0.0, 0.0]}
        assert compared[metric][WITH] == compared[metric][WITHOUT]


def test_each_draw_is_the_metric_of_the_resampled_rows_and_the_draws_are_expected_precisions():
    risk, y, person, rng = _rows(n=300)
    scores = {"a": risk, "b": rng.normal(size=len(y))}
    k, seed, replicates = 30, 7, 25
    point, draws = ranking_metric_draws(scores, y, person, k, seed, replicates)
    # the plain reference: index the drawn rows, repeat each as often as drawn, walk the list to k
    again = np.random.default_rng(seed)
    for b in range(replicates):
        rows = again.integers(0, len(y), len(y))
        counts = np.bincount(rows, minlength=len(y))
        for name, score in scores.items():
            assert draws[name]["auroc"][b] == pytest.approx(roc_auc_score(y[rows], score[rows]))
            assert draws[name]["average_precision"][b] == pytest.approx(average_precision_score(y[rows], score[rows]))
            order = selection_order(score, person, seed)
            listed = np.repeat(order, counts[order])[:k]
            assert draws[name]["precision_at_capacity"][b] == pytest.approx(y[listed].mean())
    for name, score in scores.items():
        assert point[name]["auroc"] == pytest.approx(roc_auc_score(y, score))
        assert point[name]["precision_at_capacity"] == y[selection_order(score, person, seed)[:k]].mean()
    # the same draws as records_ceiling's expected precision with the recorded outcome for p_true
    same_point, same_draws = expected_precision_draws(scores, person, y, k, seed, replicates)
    for name in scores:
        assert same_point[name] == pytest.approx(point[name]["precision_at_capacity"])
        assert np.allclose(same_draws[name], draws[name]["precision_at_capacity"])


@pytest.mark.parametrize("model", ["neet18", "care_entry"])
def test_the_with_family_arm_is_the_specs_inputs_and_the_family_features_and_nothing_else(model):
    spec = load_model_spec(model)
    assert spec.features.family == []  # the spec as released has none: the study must add them
    variant = family_variant(spec)
    assert variant.features.family == ["parent", "sibling"] and variant.name == spec.name
    columns = arm_columns(spec, variant)
    family = [name for name, f in FEATURES.items() if f.group == "family" and f.role == "model"]
    assert columns[WITHOUT] == feature_columns(spec)
    assert sorted(columns[WITH]) == sorted([*columns[WITHOUT], *family])
    assert len(columns[WITH]) == len(set(columns[WITH]))


def test_a_variant_that_adds_no_family_feature_is_refused():
    spec = load_model_spec("neet18")
    with pytest.raises(ValueError, match="not the spec's plus family features"):
        arm_columns(spec, spec)


def test_family_coverage_counts_rows_with_any_nonzero_family_feature():
    rows = pd.DataFrame({"family_parent_known_ever": [1, 0, 0, 0, np.nan],
                         "family_parent_ed_harm_36m": [0.0, 2.0, 0.0, 0.0, 0.0],
                         "family_sibling_looked_after_ever": [1, 0, 1, 0, 0]})
    assert family_coverage(rows, list(rows.columns)) == {"any": 0.6, "parent": 0.4, "sibling": 0.4}
