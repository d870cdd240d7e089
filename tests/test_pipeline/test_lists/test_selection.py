"""The issued list holds exactly the rows evaluation judged (pipeline.lists.selection vs models.evaluation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.evaluation import fairness_table, metrics_blocks
from models.selection import select_top
from pipeline.lists.selection import rank_by_risk, select_top_by_capacity, tie_break_seed


@pytest.fixture()
def cohort():
    """A cohort whose calibrated risk is heavily tied (isotonic steps) and whose margins tie too."""
    rng = np.random.default_rng(7)
    n = 600
    margin = np.round(rng.normal(size=n), 1)
    risk = np.floor((1 / (1 + np.exp(-margin))) * 8) / 8  # isotonic-like steps: dozens tie at the cut
    outcome = (rng.random(n) < 0.15).astype(int)
    people = [f"P{i:08d}" for i in rng.permutation(n)]
    return pd.DataFrame({"person_id": people, "margin": margin, "risk": risk, "outcome": outcome,
                         "fair_sex": rng.choice(["F", "M"], n)})


def test_the_list_holds_the_rows_evaluation_selected(cohort):
    capacity, seed = 45, 20260331
    listed = select_top_by_capacity(cohort, capacity, seed=seed)
    evaluated = cohort[select_top(cohort["margin"], cohort["person_id"], capacity, seed)]
    assert set(listed["person_id"]) == set(evaluated["person_id"])
    # and the evaluated precision at capacity is the listed children's outcome rate
    block = metrics_blocks(cohort["outcome"], {"lightgbm": (cohort["margin"], cohort["risk"])}, capacity,
                           person_id=cohort["person_id"], tie_seed=seed, n_boot=0)["lightgbm"]
    assert block["precision_at_capacity"] == pytest.approx(listed["outcome"].mean())
    # the fairness table flags the same rows
    table = fairness_table(cohort, "margin", "risk", capacity, attributes={"sex": ["fair_sex"]}, tie_seed=seed,
                           n_boot=0, min_n=1, min_positives=0)
    by_sex = table.set_index("group")
    assert (by_sex["n"] * by_sex["selection_rate"]).round().astype(int).to_dict() == (
        listed["fair_sex"].value_counts().to_dict())


def test_list_ties_are_not_broken_by_token_order(cohort):
    tied = cohort.assign(margin=0.0)
    listed = select_top_by_capacity(tied, 100, seed=3)
    first_tokens = tied.sort_values("person_id")["person_id"].head(100)
    assert set(listed["person_id"]) != set(first_tokens)
    assert listed["rank"].tolist() == list(range(1, 101))
    assert rank_by_risk(tied, seed=3)["person_id"].head(100).tolist() == listed["person_id"].tolist()


def test_the_list_refuses_rows_without_a_margin_and_metrics_without_a_seed(cohort):
    with pytest.raises(ValueError, match="margin"):
        select_top_by_capacity(cohort.drop(columns="margin"), 5, seed=1)
    with pytest.raises(ValueError, match="tie_break_seed"):
        tie_break_seed({"capacity": 5})
    assert tie_break_seed({"selection": {"tie_break_seed": 12}}) == 12
