"""The state-ranked yardstick: the expected precision of the list ``p_state`` ranks, checked by hand, and each
model's share of it with a paired interval from the generator comparison's own replicates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from models.evaluation import generator_comparison
from models.metrics.bootstrap import decision_replicates
from models.metrics.operating_point import expected_precision_at_k
from models.oracle import attach_true_probability
from models.selection import select_top, selection_order

ROWS = pd.DataFrame({"person_id": ["a", "b", "c", "d", "e"],
                     "p_true": [0.9, 0.1, 0.5, 0.3, 0.2],
                     "p_state": [0.2, 0.8, 0.6, 0.1, 0.05]})
SHARE_KEYS = ("expected_precision_to_state_ranked", "expected_precision_to_state_ranked_ci")


def scored(rows: pd.DataFrame, outcome, released, rule) -> pd.DataFrame:
    """``rows`` with the score columns the generator comparison reads (logistic ranks as the released model)."""
    released, rule = np.asarray(released, dtype=np.float64), np.asarray(rule, dtype=np.float64)
    return rows.assign(outcome=outcome, margin_released=released, score_released=expit(released),
                       margin_logistic=released, score_logistic=expit(released),
                       score_rule=rule, probability_rule=expit(rule))


@pytest.fixture(scope="module")
def county():
    rng = np.random.default_rng(8)
    n = 1200
    p_true = expit(rng.normal(-2.0, 1.1, n))
    margin = np.round(logit(p_true) + rng.normal(0, 0.7, n), 1)
    rows = pd.DataFrame({"person_id": [f"T{i:05d}" for i in range(n)], "p_true": p_true,
                         "p_state": expit(logit(p_true) + rng.normal(0, 0.5, n))})
    return scored(rows, (rng.random(n) < p_true).astype(np.int64), margin, np.round(margin))


def test_state_ranked_list_is_scored_with_p_true():
    # p_state ranks b (0.8), c (0.6) first: their p_true are 0.1 and 0.5; the released model ranks a, c: 0.9, 0.5;
    # the rule ranks e, d: 0.2, 0.3
    frame = scored(ROWS, [1, 0, 1, 0, 0], ROWS["p_true"], [0.1, 0.2, 0.3, 0.4, 0.5])
    blocks, summary = generator_comparison(frame, 2, tie_seed=1, n_boot=20, seed=2, n_bins=2)
    state = summary["state_ranked"]
    assert state["rows"] == 5 and state["expected_precision_at_capacity"] == pytest.approx(0.3)
    assert state["to_state_ranked"]["lightgbm"] == pytest.approx(0.7 / 0.3)
    assert state["to_state_ranked"]["generator"] == pytest.approx(0.7 / 0.3)
    assert state["to_state_ranked"]["rule"] == pytest.approx(0.25 / 0.3)
    assert list(state["to_state_ranked"]) == list(state["to_state_ranked_ci"]) == list(blocks)
    assert "state_ranked" not in blocks  # a yardstick, not a model
    for name, share in state["to_state_ranked"].items():
        assert blocks[name]["against_generator"]["expected_precision_to_state_ranked"] == share


def test_ties_at_the_cut_are_broken_as_every_list_breaks_them():
    tied = scored(ROWS.assign(p_state=[0.5, 0.5, 0.5, 0.5, 0.1]), [1, 0, 1, 0, 0], ROWS["p_true"], [1, 2, 3, 4, 5])
    for seed in range(5):
        chosen = select_top(tied["p_state"].to_numpy(), tied["person_id"].to_numpy(), 2, seed)
        _, summary = generator_comparison(tied, 2, tie_seed=seed, n_boot=5, seed=0, n_bins=2)
        assert summary["state_ranked"]["expected_precision_at_capacity"] == pytest.approx(
            tied.loc[chosen, "p_true"].mean())


def test_each_share_has_the_paired_interval_of_the_same_replicates_and_nothing_else_moves(county):
    blocks, summary = generator_comparison(county, 90, tie_seed=4, n_boot=150, seed=6, n_bins=10)
    people, p_true = county["person_id"].to_numpy(), county["p_true"].to_numpy()
    orders = {"state": selection_order(county["p_state"].to_numpy(), people, 4),
              "rule": selection_order(county["score_rule"].to_numpy(), people, 4),
              "lightgbm": selection_order(county["margin_released"].to_numpy(), people, 4)}
    # a separate bootstrap of the same seed draws the same rows: the reference replicates of each list
    alone = decision_replicates(county["outcome"], {name: (order, p_true) for name, order in orders.items()}, 90,
                                n_boot=150, seed=6, expected=p_true, calibration=False)
    state = summary["state_ranked"]
    by_hand = p_true[select_top(county["p_state"].to_numpy(), people, 90, 4)].mean()
    assert state["expected_precision_at_capacity"] == pytest.approx(by_hand)
    for name in ("rule", "lightgbm"):
        ratio = (alone[name]["expected_precision_at_capacity"] / alone["state"]["expected_precision_at_capacity"])
        assert state["to_state_ranked_ci"][name] == list(np.quantile(ratio[np.isfinite(ratio)], [0.025, 0.975]))
        lo, hi = state["to_state_ranked_ci"][name]
        assert lo < state["to_state_ranked"][name] < hi
        assert blocks[name]["against_generator"]["expected_precision_to_state_ranked_ci"] == [lo, hi]
        chosen = select_top(county[{"rule": "score_rule", "lightgbm": "margin_released"}[name]].to_numpy(), people,
                            90, 4)
        assert state["to_state_ranked"][name] == pytest.approx(p_true[chosen].mean() / by_hand)
    # the p_state list joins the same pass without changing any other figure
    without, summary_without = generator_comparison(county.drop(columns="p_state"), 90, tie_seed=4, n_boot=150,
                                                    seed=6, n_bins=10)
    assert "state_ranked" not in summary_without and summary == summary_without | {"state_ranked": state}
    for name, block in blocks.items():
        against = {k: v for k, v in block["against_generator"].items() if k not in SHARE_KEYS}
        assert {**block, "against_generator": against} == without[name]


def test_no_p_state_no_yardstick():
    frame = scored(ROWS, [1, 0, 1, 0, 0], ROWS["p_true"], [1, 2, 3, 4, 5])
    for rows in (frame.drop(columns="p_state"), frame.assign(p_state=np.nan)):
        blocks, summary = generator_comparison(rows, 2, tie_seed=1, n_boot=5, seed=0, n_bins=2)
        assert "state_ranked" not in summary
        assert not any(key in block["against_generator"] for block in blocks.values() for key in SHARE_KEYS)


def test_expected_precision_at_k_is_the_mean_p_true_of_the_list():
    order = selection_order(ROWS["p_state"].to_numpy(), ROWS["person_id"].to_numpy(), 1)
    assert expected_precision_at_k(ROWS["p_true"], order, 2) == pytest.approx(0.3)
    assert expected_precision_at_k(ROWS["p_true"], order, 50) == pytest.approx(ROWS["p_true"].mean())
    assert expected_precision_at_k(ROWS["p_true"], order, 0) is None
    assert expected_precision_at_k([], np.array([], dtype=np.int64), 3) is None


def test_p_state_travels_with_p_true_through_linkage():
    person_map = pd.DataFrame({"person_id": ["L1", "L2"], "true_person_id": [7, 8]})
    outcome = pd.DataFrame({"person_id": [7, 8], "index_date": pd.to_datetime(["2020-01-17"] * 2),
                            "p_true": [0.2, 0.4], "p_state": [0.1, 0.5], "outcome": [True, False]})
    scores = pd.DataFrame({"person_id": ["L1", "L2", "L3"], "index_date": pd.to_datetime(["2020-01-16"] * 3)})
    attached = attach_true_probability(scores, person_map, outcome)
    assert attached["p_state"].tolist()[:2] == [0.1, 0.5] and np.isnan(attached["p_state"].iloc[2])
    assert "p_state" not in attach_true_probability(scores, person_map, outcome.drop(columns="p_state")).columns
