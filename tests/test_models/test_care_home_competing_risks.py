"""A care home or death first (issue #18): the follow-up the features stage writes, the Aalen-Johansen figures,
and the ``competing_risks`` block of metrics.json and its card section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ethics.card.care_home import competing_risks_table, describe_competing_risks
from features.build import build_features
from models.care_home_evaluation import competing_risks_block
from models.competing_risks import CARE_HOME, DEATH, cumulative_incidence, fitting_rows
from tests.test_features.conftest import _frame, spec_with
from tests.test_features.test_adult_features import EXTRACT, adult_index, adult_tables
from tests.test_models.conftest import FEATURES, write_toy_spec

DAYS = list(range(0, 800, 7))


def test_care_home_death_and_neither_sum_to_one_at_every_day():
    rng = np.random.default_rng(3)
    n = 2_000
    time = rng.integers(1, 731, n).astype("float64")
    event = rng.choice([0, CARE_HOME, DEATH], n, p=[0.6, 0.1, 0.3])
    for row in cumulative_incidence(time, event, DAYS):
        # event_free is a Kaplan-Meier estimate of neither event, computed apart from the two incidences
        assert row["care_home"] + row["death"] + row["event_free"] == pytest.approx(1.0, abs=1e-9)
        assert 0 <= row["care_home"] <= 1 and 0 <= row["death"] <= 1
    late = cumulative_incidence(time, event, [365])[0]
    low, high = late["care_home_ci"]
    assert low < late["care_home"] < high


def test_without_censoring_the_incidence_is_the_share_who_had_each_event_first():
    time = np.array([10.0, 20, 30, 40, 400, 500, 730, 730, 730, 730])
    event = np.array([CARE_HOME, DEATH, DEATH, CARE_HOME, CARE_HOME, DEATH, 0, 0, 0, 0])
    at_365, at_730 = cumulative_incidence(time, event, [365, 730])
    assert (at_365["care_home"], at_365["death"], at_365["event_free"]) == pytest.approx((0.2, 0.2, 0.6))
    assert (at_730["care_home"], at_730["death"], at_730["event_free"]) == pytest.approx((0.3, 0.3, 0.4))


def test_a_death_that_comes_first_moves_incidence_from_care_home_to_death():
    # 100 people: 20 move into a care home on day 200, 10 die on day 300, the rest are followed to day 730
    time = np.r_[np.full(20, 200.0), np.full(10, 300.0), np.full(70, 730.0)]
    event = np.r_[np.full(20, CARE_HOME), np.full(10, DEATH), np.zeros(70, dtype=int)]
    before = cumulative_incidence(time, event, [150, 365])
    # planted: 8 of the 20 die on day 100, before the move they would have made
    time_planted, event_planted = time.copy(), event.copy()
    time_planted[:8], event_planted[:8] = 100.0, DEATH
    after = cumulative_incidence(time_planted, event_planted, [150, 365])
    assert before[1]["care_home"] == pytest.approx(0.20) and after[1]["care_home"] == pytest.approx(0.12)
    assert after[1]["death"] - before[1]["death"] == pytest.approx(0.08)
    assert after[0]["death"] == pytest.approx(0.08) and before[0]["death"] == 0
    # the people still at home and alive at one year are the same: death replaced a move, it added no event
    assert after[1]["event_free"] == pytest.approx(before[1]["event_free"])


def _care_home_rows(tables, index=None):
    """The hand-made county's care-home rows of 31 March 2020, by person."""
    spec = spec_with("care_home_admission", index_dates={"first_year": 2018, "last_year": 2020},
                     split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None})
    frame = build_features(tables, adult_index() if index is None else index, spec, EXTRACT).frame
    return frame[frame["index_year"] == 2020].set_index("person_id")


def test_the_features_stage_ends_follow_up_at_the_first_of_care_home_death_or_leaving():
    rows = _care_home_rows(adult_tables())
    # A7 is discharged to a care home 10 days after the index date; A1 on day 2, then dies (care home first)
    assert (rows.loc["A7", "followup_event"], rows.loc["A7", "followup_days"]) == (CARE_HOME, 10)
    assert (rows.loc["A1", "followup_event"], rows.loc["A1", "followup_days"]) == (CARE_HOME, 2)
    # the 24 months from 31 March 2020 ended before the 2026 extract
    assert rows["matured_24m"].all() and rows.loc["A7", "outcome_24m"] == 1

    planted = adult_tables()
    # A7 dies on day 5, before the discharge: death comes first, although the 12-month label still reads 1
    planted["death_registration"] = pd.concat([planted["death_registration"], _frame(
        [{"registration_id_tok": "d7", "date_of_death": "2020-04-05"}], "death_registration")], ignore_index=True)
    index = adult_index()
    index.loc[len(index)] = ["deaths", "d7", "A7"]
    died = _care_home_rows(planted, index)
    assert (died.loc["A7", "followup_event"], died.loc["A7", "followup_days"]) == (DEATH, 5)
    assert died.loc["A7", "outcome"] == 1

    left = adult_tables()
    gp = left["gp_patient"]
    gp.loc[gp["patient_id_tok"] == "g7", "registration_end"] = pd.Timestamp("2020-04-04")
    moved = _care_home_rows(left)
    # A7 left the GP list on day 4: censored then, the later discharge is not seen as follow-up
    assert (moved.loc["A7", "followup_event"], moved.loc["A7", "followup_days"]) == (0, 4)


def with_follow_up(frame: pd.DataFrame, *, matured_until: int, seed: int = 5,
                   risk_columns=("suspensions_12m", "referrals_12m")) -> pd.DataFrame:
    """The toy features frame given a 24-month follow-up: a labelled move is a care home within the year,
    the riskiest of the rest often die first, and years after ``matured_until`` are followed to one year."""
    rng = np.random.default_rng(seed)
    risk = frame[list(risk_columns)].sum(axis=1).to_numpy()
    entered = frame["outcome"].fillna(0).to_numpy(dtype=bool)
    dies = ~entered & (rng.random(len(frame)) < 0.04 + 0.05 * risk)
    late_move = ~entered & ~dies & (rng.random(len(frame)) < 0.02)
    matured = frame["index_year"].to_numpy() <= matured_until
    end = np.where(matured, 730, 365)
    days = np.where(entered, rng.integers(0, 365, len(frame)),
                    np.where(dies, rng.integers(0, 730, len(frame)),
                             np.where(late_move, rng.integers(365, 730, len(frame)), end)))
    kind = np.where(entered, CARE_HOME, np.where(dies, DEATH, np.where(late_move, CARE_HOME, 0)))
    over = days >= end  # past the extract: censored there
    days, kind = np.where(over, end, days), np.where(over, 0, kind)
    outcome_24m = pd.array(((kind == CARE_HOME) & (days < 730)).astype("int8"), dtype="Int8")
    outcome_24m[~matured] = pd.NA
    return frame.assign(followup_days=days.astype("int64"), followup_event=kind.astype("int8"),
                        outcome_24m=outcome_24m, matured_24m=matured)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, registry_features):
    """The toy spec trained and evaluated through the stage functions on features holding the follow-up."""
    import models.spec
    from features.populations import CHILDREN
    from features.registry import feature_columns
    from models.evaluate_stage import run_evaluate
    from models.train_stage import run_train
    from pipeline.core.config import EvaluateParams, TrainParams
    from pipeline.core.io import write_parquet
    from pipeline.core.paths import project_paths

    root = tmp_path_factory.mktemp("care_home_project")
    paths = project_paths(root)
    write_parquet(with_follow_up(registry_features, matured_until=2018), paths.features_table("toy"))
    thresholds_file = root / "thresholds.yaml"
    thresholds_file.write_text("min_precision_at_capacity: 0.1\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.spec, "SPECS_DIR", write_toy_spec(root / "specs"))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        run_train("toy", TrainParams(), paths, params_file=root / "params.yaml", thresholds_file=thresholds_file,
                  choose_inputs=feature_columns)
        run_evaluate("toy", EvaluateParams(n_boot=0), paths, key_file=root / "no.key",
                     fairness_attributes=CHILDREN.fairness_attributes, min_group_n=10)
    return json.loads((paths.model_reports("toy") / "metrics.json").read_text(encoding="utf-8"))


def test_metrics_json_holds_the_competing_risks_block(evaluated):
    block = evaluated["competing_risks"]
    assert block["test_year"] == 2019 and block["bands_ranked_by"] == "lightgbm"
    assert [b["band"] for b in block["by_band"]] == ["top 1%", "1-5%", "5-20%", "rest"]
    assert sum(b["people"] for b in block["by_band"]) == block["test"]["rows"]
    for band in [*block["by_band"], block["overall"]]:
        twelve = band["12m"]
        assert twelve["care_home"] + twelve["death"] + twelve["event_free"] == pytest.approx(1.0, abs=1e-9)
        # the test year is followed for one year only: no 24-month figure, a statement instead
        assert band["24m"]["status"] == "not matured" and "care_home" not in band["24m"]
    assert block["horizon_24m"] == {"status": "not matured", "matures_on": "2021-01-20"}
    latest = block["horizon_24m_latest_matured"]
    assert latest["index_year"] == 2018 and latest["split"] == "validation"
    # the labelled moves follow the toy risk: the survival model and LightGBM both rank them
    cox = block["cause_specific_cox"]
    assert cox["care_home_concordance"]["harrell"] > 0.6 and cox["auroc_12m"] > 0.6
    assert block["auroc_12m"]["lightgbm"] == pytest.approx(evaluated["test"]["auc"])  # the same test rows
    top, rest = block["by_band"][0]["12m"], block["by_band"][-1]["12m"]
    assert top["care_home"] > rest["care_home"]


def test_the_card_section_reads_the_block_and_says_not_matured(evaluated):
    block = evaluated["competing_risks"]
    table = competing_risks_table(block)
    assert [row[0] for row in table.rows] == ["top 1%", "1-5%", "5-20%", "rest", "everyone"]
    assert all(row[table.columns.index("care home by 24 months")] == "not matured" for row in table.rows)
    top_cell = table.rows[0][table.columns.index("care home by 12 months")]
    assert top_cell.startswith(f"{100 * block['by_band'][0]['12m']['care_home']:.1f}%")
    text = " ".join(describe_competing_risks(block))
    assert "cannot then move into a care home" in text and "not matured for the test year 2019" in text
    assert competing_risks_table(None).rows == [] and describe_competing_risks(None) == []


def test_a_matured_test_year_gets_24_month_figures_instead_of_a_statement(trained, toy_features):
    features = with_follow_up(toy_features, matured_until=2020, risk_columns=("exclusions_12m", "referrals_12m"))
    rows = trained.scores.merge(features.drop(columns=["outcome", "index_year"]), on=["person_id", "index_date"])
    block = competing_risks_block(rows, FEATURES, seed=7)
    h24 = block["horizon_24m"]
    assert h24["status"] == "matured" and "horizon_24m_latest_matured" not in block
    assert set(h24["auroc"]) == {"lightgbm", "logistic", "cause_specific_cox"} and h24["auroc"]["lightgbm"] > 0.5
    assert h24["calibration"]["mean_predicted"] > 0
    for band in block["by_band"]:
        month_24 = band["24m"]
        assert month_24["care_home"] + month_24["death"] + month_24["event_free"] == pytest.approx(1.0, abs=1e-9)
        assert month_24["care_home"] >= band["12m"]["care_home"]  # incidence only grows with time


def test_without_a_training_death_the_block_says_why_and_the_card_shows_no_table(trained, toy_features):
    features = with_follow_up(toy_features, matured_until=2018, risk_columns=("exclusions_12m", "referrals_12m"))
    features["followup_event"] = features["followup_event"].where(features["followup_event"] != DEATH, 0)
    rows = trained.scores.merge(features.drop(columns=["outcome", "index_year"]), on=["person_id", "index_date"])
    block = competing_risks_block(rows, FEATURES, seed=7)
    assert block == {"status": "not estimable", "reason": "no training row ends in a death"}
    assert competing_risks_table(block).rows == []
    assert "not estimable" in describe_competing_risks(block)[0]


def test_a_large_county_fits_the_cox_models_on_a_seeded_simple_sample():
    assert fitting_rows(50, seed=1, max_rows=100).tolist() == list(range(50))
    sample = fitting_rows(1_000, seed=1, max_rows=100)
    assert len(set(sample.tolist())) == 100 and (np.diff(sample) > 0).all() and sample.max() < 1_000
    assert (fitting_rows(1_000, seed=1, max_rows=100) == sample).all()


@pytest.mark.parametrize(("place", "event", "outcome"), [("care_home", CARE_HOME, 1), ("hospital", DEATH, 0)])
def test_a_death_registered_in_a_care_home_is_a_move_into_one(place, event, outcome):
    # A8: 82, no other record of a care home; dies on 1 July 2020 (day 92), in a care home or in hospital
    tables = adult_tables()
    tables["gp_patient"] = pd.concat([tables["gp_patient"], _frame(
        [{"patient_id_tok": "g8", "birth_year": 1938, "birth_month": 1, "lsoa_imd_decile": 3, "sex": "M",
          "ethnicity_group": "White", "registration_start": "2000-01-01"}], "gp_patient")], ignore_index=True)
    tables["death_registration"] = pd.concat([tables["death_registration"], _frame(
        [{"registration_id_tok": "d8", "date_of_death": "2020-07-01", "place_of_death": place}],
        "death_registration")], ignore_index=True)
    index = adult_index()
    index.loc[len(index)] = ["gp", "g8", "A8"]
    index.loc[len(index)] = ["deaths", "d8", "A8"]
    row = _care_home_rows(tables, index).loc["A8"]
    assert (row["outcome"], row["outcome_death"]) == (outcome, 1)
    assert (row["followup_event"], row["followup_days"]) == (event, 92)
