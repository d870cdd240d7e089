"""Selection at capacity (models.selection): margin first, ties by a seeded draw, never by token order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.evaluation import metrics_blocks
from models.selection import select_top, selection_order, tie_break_draw


def _tokens(n: int, prefix: str = "P") -> np.ndarray:
    return np.array([f"{prefix}{i:08d}" for i in range(n)])


def test_higher_margin_always_wins_and_equal_margins_follow_the_draw():
    margin = np.array([0.5, 2.0, 0.5, 0.5, 1.0])
    people = _tokens(5)
    order = selection_order(margin, people, seed=11)
    assert order[:2].tolist() == [1, 4]
    tied = order[2:]
    draws = tie_break_draw(people[tied], seed=11)
    assert (np.diff(draws.astype(np.float64)) > 0).all()


def test_the_selection_does_not_depend_on_row_order():
    rng = np.random.default_rng(2)
    people = _tokens(500)
    margin = np.round(rng.normal(size=500), 1)  # many ties
    chosen = set(people[select_top(margin, people, 60, seed=5)])
    shuffled = rng.permutation(500)
    assert set(people[shuffled][select_top(margin[shuffled], people[shuffled], 60, seed=5)]) == chosen


def test_ties_are_not_broken_by_token_order():
    # tokens that sort first (here "A…", as tokens of children with a linked health record did) must not
    # take the tied places: with every margin equal, the pick is a fair draw across both halves
    people = np.concatenate([_tokens(1000, "A"), _tokens(1000, "B")])
    margin = np.zeros(2000)
    chosen = people[select_top(margin, people, 200, seed=20260331)]
    from_first_half = np.char.startswith(chosen.astype(str), "A").sum()
    assert 70 <= from_first_half <= 130  # Binomial(200, 1/2): 100 ± 4.2 sd
    assert sorted(chosen.tolist()) != sorted(people)[:200]
    # another seed draws other children
    other = people[select_top(margin, people, 200, seed=1)]
    assert set(other) != set(chosen)


def test_missing_margins_rank_last_and_lengths_must_agree():
    margin = np.array([np.nan, 0.1, 0.2])
    assert selection_order(margin, _tokens(3), seed=0).tolist() == [2, 1, 0]
    with pytest.raises(ValueError, match="3 margins but 2"):
        selection_order(margin, _tokens(2), seed=0)


def test_evaluated_precision_is_that_of_the_rows_selected():
    rng = np.random.default_rng(4)
    n, k = 800, 40
    people = _tokens(n)
    margin = np.round(rng.normal(size=n), 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-(margin - 2)))).astype(int)
    block = metrics_blocks(y, {"m": (margin, 1 / (1 + np.exp(-margin)))}, k, person_id=people, tie_seed=9,
                           n_boot=0)["m"]
    selected = select_top(margin, people, k, seed=9)
    assert block["precision_at_capacity"] == pytest.approx(y[selected].mean())
    assert block["recall_at_capacity"] == pytest.approx(y[selected].sum() / y.sum())
    assert pd.Series(margin[selected]).min() >= margin[~selected].max()


def test_the_registered_model_lists_the_test_rows_evaluation_selected(trained, toy_features, toy_spec):
    """The calibrated model the list stage loads gives the margins training wrote, so the same rows are chosen."""
    from models.evaluation import labelled_rows
    from pipeline.lists.scoring import score_margin, score_with_contributions
    from pipeline.lists.selection import select_top_by_capacity

    test = labelled_rows(trained.scores, "test")
    features = toy_features.loc[test.index, trained.feature_columns]
    risk, _ = score_with_contributions(trained.lightgbm, features)
    scored = test[["person_id"]].assign(risk=risk, margin=score_margin(trained.lightgbm, features))
    np.testing.assert_allclose(scored["margin"], test["margin_released"])
    listed = select_top_by_capacity(scored, toy_spec.capacity_per_year, seed=toy_spec.seed)
    evaluated = test[select_top(test["margin_released"], test["person_id"], toy_spec.capacity_per_year, toy_spec.seed)]
    assert set(listed["person_id"]) == set(evaluated["person_id"])
    metrics = metrics_blocks(test["outcome"], {"lightgbm": (test["margin_released"], test["score_released"])},
                             toy_spec.capacity_per_year, person_id=test["person_id"], tie_seed=toy_spec.seed,
                             n_boot=0)["lightgbm"]
    assert metrics["precision_at_capacity"] == pytest.approx(evaluated["outcome"].mean())
