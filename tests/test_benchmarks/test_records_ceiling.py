"""The records-ceiling study's paired bootstrap and its hidden factors (benchmarks/records_ceiling.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.records_ceiling import expected_precision_draws, hidden_factors, people_sample
from models.selection import selection_order


def test_each_replicate_reselects_the_first_k_drawn_rows_of_every_list():
    rng = np.random.default_rng(3)
    n, k, seed = 300, 25, 11
    p_true = rng.uniform(0, 0.2, n)
    person = np.array([f"p{i}" for i in range(n)])
    scores = {"good": p_true + rng.normal(0, 0.02, n), "noise": rng.normal(size=n)}
    point, draws = expected_precision_draws(scores, person, p_true, k, seed, replicates=40)
    for name, score in scores.items():
        order = selection_order(score, person, seed)
        assert point[name] == p_true[order[:k]].mean()
    # the plain reference: redraw the same rows, expand each by its count, walk the list's order to k
    again = np.random.default_rng(seed)
    for b in range(40):
        counts = np.bincount(again.integers(0, n, n), minlength=n)
        for name, score in scores.items():
            expanded = np.repeat(selection_order(score, person, seed), counts[selection_order(score, person, seed)])
            assert np.isclose(draws[name][b], p_true[expanded[:k]].mean())
    assert point["good"] > point["noise"]
    assert (draws["good"] > draws["noise"]).mean() > 0.9  # paired: the same draws for both lists


def test_a_parents_adversity_counts_only_while_its_episode_is_open_the_day_after_the_index_date(tmp_path):
    pd.DataFrame({
        "person_id": [1, 2, 3, 4], "household_id": [10, 10, 20, 20], "role": ["child", "mother", "child", "father"],
        "child_effect": [0.5, 0.0, -0.2, 0.0], "poverty": [1.0, 1.0, 0.0, 0.0],
        "ethnicity_group": ["Asian", "Asian", "White", "White"],
    }).to_parquet(tmp_path / "people.parquet")
    pd.DataFrame({"person_id": [2, 4], "kind": ["domestic_abuse", "substance_misuse"],
                  "start": pd.to_datetime(["2020-04-01", "2018-04-01"]),
                  "end": pd.to_datetime(["2022-03-31", "2020-04-01"]),
                  }).to_parquet(tmp_path / "adults_adversity.parquet")
    rows = pd.DataFrame({"true_person_id": [1, 1, 3, 3],
                         "index_date": pd.to_datetime(["2020-03-31", "2019-03-31", "2020-03-31", "2019-03-31"])})
    hidden = hidden_factors(tmp_path, rows)
    assert hidden["hidden_parent_domestic_abuse"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert hidden["hidden_parent_substance_misuse"].tolist() == [0.0, 0.0, 0.0, 1.0]  # ended 1 April 2020
    assert hidden["hidden_child_effect"].tolist() == [0.5, 0.5, -0.2, -0.2]
    assert hidden["hidden_ethnicity_term"].tolist() == [-0.95, -0.95, 0.0, 0.0]


def test_a_fraction_of_the_people_keeps_each_chosen_persons_every_row():
    rows = pd.DataFrame({"person_id": np.repeat([f"p{i}" for i in range(100)], 3), "x": range(300)})
    half = people_sample(rows, 0.5, seed=1)
    assert half["person_id"].nunique() == 50 and len(half) == 150
    assert people_sample(rows, 1.0, seed=1) is rows


def test_a_county_without_adults_has_no_parents_adversity_columns(tmp_path):
    pd.DataFrame({"person_id": [1], "household_id": [10], "role": ["child"], "child_effect": [0.5],
                  "poverty": [1.0], "ethnicity_group": ["White"]}).to_parquet(tmp_path / "people.parquet")
    rows = pd.DataFrame({"true_person_id": [1], "index_date": pd.to_datetime(["2020-03-31"])})
    hidden = hidden_factors(tmp_path, rows)
    assert list(hidden.columns) == ["hidden_child_effect", "hidden_poverty", "hidden_ethnicity_term"]
