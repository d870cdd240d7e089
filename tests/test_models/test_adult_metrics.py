"""The adults' evaluation figures on simulated frames whose answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ethics.card.adult import adult_table
from models.adult_evaluation import care_home_truth, emergency_truth
from models.adult_metrics import (
    adult_block,
    calibration_by,
    leakage_warning,
    no_prior_admission,
    outcomes_by_band,
    top_share_lift,
)


def simulated(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """People with a known risk: admissions follow ``p``; prior admissions and deaths rise with it."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-(-2.5 + 1.2 * z)))
    outcome = (rng.random(n) < p).astype("int8")
    return pd.DataFrame({
        "outcome": outcome, "p": p, "score": z,
        "outcome_spells": outcome * rng.integers(1, 4, n),
        "outcome_death": (rng.random(n) < 0.02 + 0.2 * p).astype("int8"),
        "emergency_spells_24m": rng.poisson(p * 2),
        "fair_age_band": rng.choice(["18-44", "45-64", "65-74"], n),
        "fair_imd_quintile": rng.integers(1, 6, n),
    })


def test_a_perfect_list_holds_every_admission_it_can():
    rows = pd.DataFrame({"outcome": [1] * 10 + [0] * 990, "score": np.r_[np.arange(10, 0, -1), np.zeros(990)],
                         "outcome_spells": [2] * 10 + [0] * 990})
    top = {r["share"]: r for r in top_share_lift(rows, "score")}
    assert top[0.005]["people"] == 5 and top[0.005]["admitted_rate"] == 1.0
    assert top[0.005]["lift"] == pytest.approx(100.0)  # 1 / 1% base rate
    assert top[0.01]["share_of_admitted_people"] == 1.0 and top[0.01]["share_of_admissions"] == 1.0
    assert top[0.05]["admitted_rate"] == pytest.approx(10 / 50)


def test_a_random_score_has_lift_about_one():
    rows = simulated()
    rows["score"] = np.random.default_rng(1).random(len(rows))
    assert top_share_lift(rows, "score", shares=(0.05,))[0]["lift"] == pytest.approx(1.0, abs=0.25)


def test_no_prior_admission_is_judged_on_that_subgroup_only():
    rows = simulated()
    rows["score"] = rows["emergency_spells_24m"]  # a past-admissions list
    block = no_prior_admission(rows, "score")
    none_before = rows["emergency_spells_24m"] == 0
    assert block["people"] == int(none_before.sum())
    assert block["auroc"] == 0.5  # every one of them has the same score
    assert block["share_of_admitted_people"] == pytest.approx(rows.loc[none_before, "outcome"].sum()
                                                             / rows["outcome"].sum())
    assert no_prior_admission(rows, "p")["auroc"] > 0.6


def test_bands_cover_everyone_and_deaths_rise_with_risk():
    rows = simulated()
    bands = outcomes_by_band(rows, "score")
    assert sum(b["people"] for b in bands) == len(rows)
    assert bands[0]["band"] == "top 0.5%" and bands[-1]["band"] == "rest"
    assert bands[0]["died_rate"] > bands[-1]["died_rate"]
    assert bands[0]["admitted_rate"] > bands[-1]["admitted_rate"]


def test_calibration_by_group_reads_observed_over_expected():
    rows = simulated()
    table = {g["group"]: g for g in calibration_by(rows, "p", "fair_age_band")}
    assert set(table) == {"18-44", "45-64", "65-74"}
    assert all(g["observed_to_expected"] == pytest.approx(1.0, abs=0.15) for g in table.values())
    doubled = {g["group"]: g for g in calibration_by(rows.assign(p=rows["p"] * 2), "p", "fair_age_band")}
    assert all(g["observed_to_expected"] == pytest.approx(0.5, abs=0.1) for g in doubled.values())
    assert calibration_by(rows.head(30), "p", "fair_age_band") == []  # groups under 50 people are left out


def test_an_auroc_above_point_nine_is_a_leakage_warning():
    assert leakage_warning(0.78) is None and leakage_warning(None) is None
    assert "0.950" in leakage_warning(0.95)
    rows = simulated()
    rows["leaky"] = rows["outcome"] + np.random.default_rng(2).normal(0, 0.1, len(rows))
    block = adult_block(rows, {"leaky": ("leaky", "p"), "fair": ("score", "p")})
    assert block["models"]["leaky"]["leakage_warning"] and block["models"]["fair"]["leakage_warning"] is None
    assert block["rows"] == len(rows) and block["models"]["fair"]["no_prior_admission"]["people"] > 0


def test_the_generator_probability_and_true_outcome_follow_the_simulation():
    risk = pd.DataFrame({"person_id": [1, 1, 2], "year": [2025, 2026, 2026], "expected": [0.0, 0.5, 2.0]})
    admissions = pd.DataFrame({
        "person_id": [1, 1, 2],
        "admission_date": pd.to_datetime(["2025-03-30", "2025-03-31", "2026-04-01"]),
        "admission_method": ["21", "11", "22"],  # an emergency the day before 31 March 2025; a planned one on it
    })
    truth = emergency_truth(risk, admissions, shape=0.8).set_index(["person_id", "index_date"])
    assert truth.loc[(1, pd.Timestamp("2024-03-31")), "outcome"] == 1  # admitted in the year from 31 March 2024
    assert truth.loc[(1, pd.Timestamp("2025-03-31")), "outcome"] == 0  # planned admissions are not the outcome
    assert truth.loc[(2, pd.Timestamp("2025-03-31")), "outcome"] == 0  # 1 April 2026 is after that year
    assert truth.loc[(1, pd.Timestamp("2024-03-31")), "p_true"] == 0.0
    assert truth.loc[(2, pd.Timestamp("2025-03-31")), "p_true"] == pytest.approx(1 - (1 + 2.0 / 0.8) ** -0.8)



def test_the_care_home_yardstick_counts_permanent_moves_in_the_year_after_each_31_march():
    risk = pd.DataFrame({"person_id": [1, 1, 2], "year": [2025, 2026, 2026], "care_home_p": [0.02, 0.3, 0.1]})
    entries = pd.DataFrame({
        "person_id": [1, 2],
        "entry_date": pd.to_datetime(["2025-06-01", "2025-05-01"]),
        "permanent": [True, False],  # person 2's was a short stay: not a move
    })
    truth = care_home_truth(risk, entries).set_index(["person_id", "index_date"])
    assert truth.loc[(1, pd.Timestamp("2025-03-31")), "outcome"] == 1
    assert truth.loc[(1, pd.Timestamp("2024-03-31")), "outcome"] == 0
    assert truth.loc[(2, pd.Timestamp("2025-03-31")), "outcome"] == 0
    assert truth.loc[(1, pd.Timestamp("2025-03-31")), "p_true"] == 0.3

def test_the_card_shows_the_adult_block_and_children_s_cards_do_not():
    from ethics.card.adult import adult_table, describe_adult

    rows = simulated()
    block = adult_block(rows, {"lightgbm": ("score", "p"), "rule": ("emergency_spells_24m", "p")})
    table = adult_table(block)
    assert [r[0] for r in table.rows] == ["model (LightGBM)", "past admissions (the list practices used)"]
    assert table.columns[1:4] == ["lift top 0.5%", "lift top 1%", "lift top 5%"]
    assert f"{len(rows):,} adults" in describe_adult(block)
    assert adult_table(None).rows == [] and describe_adult(None) == ""


def test_the_generator_is_judged_on_the_rows_truth_places_when_a_few_are_missing(tmp_path):
    from models.adult_evaluation import adult_metrics
    from models.score_columns import RELEASED_MARGIN, RELEASED_SCORE
    from pipeline.core.io import write_parquet
    from pipeline.core.paths import ProjectPaths

    frame = simulated(5_000, seed=3)
    keys = pd.DataFrame({"person_id": [f"p{i}" for i in range(len(frame))],
                         "index_date": pd.Timestamp("2025-03-31")})
    paths = ProjectPaths(tmp_path)
    paths.features.mkdir(parents=True)
    write_parquet(pd.concat([keys, frame[["outcome_spells", "outcome_death", "emergency_spells_24m"]]], axis=1),
                  paths.features_table("emergency_admission"))
    scores = pd.concat([keys, frame[["outcome", "fair_age_band", "fair_imd_quintile"]]], axis=1).assign(
        split="test", **{RELEASED_MARGIN: frame["score"], RELEASED_SCORE: frame["p"], "p_true": frame["p"]})
    scores.loc[:9, "p_true"] = np.nan  # ten people truth cannot place (0.2%)
    block = adult_metrics("emergency_admission", scores, paths, seed=1)
    assert block["models"]["generator"]["rows"] == len(frame) - 10
    assert block["models"]["lightgbm"]["auroc"] == pytest.approx(0.77, abs=0.05)
    scores.loc[:99, "p_true"] = np.nan  # 2%: too few placed to stand for the test year
    assert "generator" not in adult_metrics("emergency_admission", scores, paths, seed=1)["models"]


def test_calibration_by_group_counts_observed_and_expected():
    rows = simulated()
    rows.loc[rows["fair_age_band"] == "18-44", "outcome"] = 0  # a group in which no one had the outcome
    table = {g["group"]: g for g in calibration_by(rows, "p", "fair_age_band")}
    young = rows[rows["fair_age_band"] == "18-44"]
    assert table["18-44"]["observed"] == 0 and table["18-44"]["observed_count"] == 0  # the fact, kept
    assert table["18-44"]["expected_count"] == pytest.approx(young["p"].sum())
    older = rows[rows["fair_age_band"] == "65-74"]
    assert table["65-74"]["observed_count"] == int(older["outcome"].sum())
    assert table["65-74"]["observed_to_expected"] == pytest.approx(older["outcome"].sum() / older["p"].sum())


def _block(groups: list[dict]) -> dict:
    return {"rows": 1000, "admitted_rate": 0.02, "died_rate": 0.01, "models": {"lightgbm": {
        "top": [{"lift": 3.0}, {"lift": 2.5}, {"lift": 2.0}], "auroc": 0.75, "no_prior_admission": None,
        "by_risk_band": None, "calibration_by_age_band": None, "calibration_by_imd_quintile": groups}}}


def test_the_card_names_a_group_with_no_outcome_and_what_was_expected():
    groups = [{"group": "1", "people": 600, "mean_predicted": 0.01, "observed": 0.012, "observed_to_expected": 1.2,
               "observed_count": 7, "expected_count": 6.0},
              {"group": "2", "people": 500, "mean_predicted": 0.01, "observed": 0.008, "observed_to_expected": 0.8,
               "observed_count": 4, "expected_count": 5.0},
              {"group": "4", "people": 1056, "mean_predicted": 6.48 / 1056, "observed": 0.0,
               "observed_to_expected": 0.0,
               "observed_count": 0, "expected_count": 6.48}]
    cell = adult_table(_block(groups), "care_home_entry").rows[0][-1]
    assert cell == "0.80-1.20; no moves into a care home in the test year in quintile 4 (6.5 expected)"
    emergency = adult_table(_block(groups), "emergency_spell").rows[0][-1]
    assert "no emergency admissions in the test year in quintile 4" in emergency and "0.00" not in emergency
    # metrics.json written before the counts: the same words, from the rate and the people
    older = [{k: v for k, v in g.items() if k not in ("observed_count", "expected_count")} for g in groups]
    assert adult_table(_block(older), "care_home_entry").rows[0][-1] == cell


def test_the_card_says_so_when_no_group_had_the_outcome():
    groups = [{"group": "5", "people": 80, "mean_predicted": 0.02, "observed": 0.0, "observed_to_expected": 0.0,
               "observed_count": 0, "expected_count": 1.6}]
    assert (adult_table(_block(groups)).rows[0][-1]
            == "-; no outcomes in the test year in quintile 5 (1.6 expected)")


def test_the_adult_section_is_headed_by_the_model_s_own_events():
    from ethics.card.adult import adult_heading

    assert adult_heading("care_home_entry").startswith("Moves into a care home at the top of the list")
    assert adult_heading("emergency_spell").startswith("Emergency admissions at the top of the list")
    assert adult_heading("").startswith("Outcomes at the top of the list")
