"""The state-ranked yardstick: the expected precision of the list ``p_state`` ranks, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.generator_yardstick import expected_precision_of_ranking, state_ranked_yardstick
from models.oracle import attach_true_probability
from models.selection import select_top

ROWS = pd.DataFrame({"person_id": ["a", "b", "c", "d", "e"],
                     "p_true": [0.9, 0.1, 0.5, 0.3, 0.2],
                     "p_state": [0.2, 0.8, 0.6, 0.1, 0.05]})


def test_state_ranked_list_is_scored_with_p_true():
    # p_state ranks b (0.8), c (0.6) first: their p_true are 0.1 and 0.5
    out = state_ranked_yardstick(ROWS, 2, {"lightgbm": 0.45, "generator": 0.7, "rule": None}, tie_seed=1)
    assert out["rows"] == 5 and out["expected_precision_at_capacity"] == pytest.approx(0.3)
    assert out["to_state_ranked"]["lightgbm"] == pytest.approx(1.5)
    assert out["to_state_ranked"]["generator"] == pytest.approx(0.7 / 0.3)
    assert out["to_state_ranked"]["rule"] is None


def test_ties_at_the_cut_are_broken_as_every_list_breaks_them():
    tied = ROWS.assign(p_state=[0.5, 0.5, 0.5, 0.5, 0.1])
    for seed in range(5):
        chosen = select_top(tied["p_state"].to_numpy(), tied["person_id"].to_numpy(), 2, seed)
        value = expected_precision_of_ranking(tied["p_true"], tied["p_state"], tied["person_id"], 2, tie_seed=seed)
        assert value == pytest.approx(tied.loc[chosen, "p_true"].mean())


def test_no_p_state_no_yardstick():
    assert state_ranked_yardstick(ROWS.drop(columns="p_state"), 2, {"lightgbm": 0.4}, tie_seed=1) is None
    assert state_ranked_yardstick(ROWS.assign(p_state=np.nan), 2, {"lightgbm": 0.4}, tie_seed=1) is None
    assert expected_precision_of_ranking(ROWS["p_true"], ROWS["p_state"], ROWS["person_id"], 0, tie_seed=1) is None


def test_p_state_travels_with_p_true_through_linkage():
    person_map = pd.DataFrame({"person_id": ["L1", "L2"], "true_person_id": [7, 8]})
    outcome = pd.DataFrame({"person_id": [7, 8], "index_date": pd.to_datetime(["2020-01-17"] * 2),
                            "p_true": [0.2, 0.4], "p_state": [0.1, 0.5], "outcome": [True, False]})
    scores = pd.DataFrame({"person_id": ["L1", "L2", "L3"], "index_date": pd.to_datetime(["2020-01-16"] * 3)})
    attached = attach_true_probability(scores, person_map, outcome)
    assert attached["p_state"].tolist()[:2] == [0.1, 0.5] and np.isnan(attached["p_state"].iloc[2])
    assert "p_state" not in attach_true_probability(scores, person_map, outcome.drop(columns="p_state")).columns
