"""Training on a very large county: a seeded sample of whole people past ``train.max_training_rows``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import models.spec
from features.registry import feature_columns
from models.train_stage import run_train
from models.training_sample import training_sample
from pipeline.core.config import TrainParams
from pipeline.core.io import write_parquet
from pipeline.core.paths import project_paths

from .conftest import write_toy_spec

TRAIN_YEARS = [2015, 2016, 2017]


def people_frame(n_people: int = 2000, seed: int = 3) -> pd.DataFrame:
    """People each present in a run of years 2015-2019 (so some have 1 training year, some 3, some none)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_people):
        first = int(rng.integers(2015, 2020))
        last = int(rng.integers(first, 2020))
        for year in range(first, last + 1):
            rows.append({"person_id": f"p{i}", "index_year": year, "outcome": int(rng.random() < 0.1)})
    frame = pd.DataFrame(rows)
    frame["outcome"] = frame["outcome"].astype("Int8")
    return frame


def test_under_the_cap_every_row_is_fitted():
    frame = people_frame()
    fitted, summary = training_sample(frame, TRAIN_YEARS, max_rows=10**9, seed=1)
    assert fitted is frame
    in_train = frame["index_year"].isin(TRAIN_YEARS)
    assert summary["sampled"] is False and summary["rows"] == summary["rows_fitted"] == int(in_train.sum())
    _, off = training_sample(frame, TRAIN_YEARS, max_rows=None, seed=1)
    assert off["sampled"] is False and off["max_rows"] is None


def test_over_the_cap_whole_people_are_sampled_and_other_years_kept():
    frame = people_frame()
    in_train = frame["index_year"].isin(TRAIN_YEARS)
    cap = int(in_train.sum()) // 3
    fitted, summary = training_sample(frame, TRAIN_YEARS, max_rows=cap, seed=1)
    fitted_train = fitted[fitted["index_year"].isin(TRAIN_YEARS)]
    assert summary["sampled"] is True
    assert summary["rows_fitted"] == len(fitted_train) <= cap
    assert len(fitted_train) > cap * 0.95  # filled up to the cap, less at most one person's rows
    # whole people: each sampled person has every one of their training-year rows
    sampled = set(fitted_train["person_id"])
    assert summary["people_fitted"] == len(sampled)
    assert len(fitted_train) == int((in_train & frame["person_id"].isin(sampled)).sum())
    # validation, test and score years are all kept, row for row
    pd.testing.assert_frame_equal(fitted[~fitted["index_year"].isin(TRAIN_YEARS)], frame[~in_train])
    assert summary["positives_fitted"] == int(fitted_train["outcome"].sum())
    assert f"{summary['rows_fitted']:,}" in summary["description"] and "seed 1" in summary["description"]


def test_the_sample_is_the_seeds():
    frame = people_frame()
    cap = 1000
    first, _ = training_sample(frame, TRAIN_YEARS, max_rows=cap, seed=1)
    again, _ = training_sample(frame, TRAIN_YEARS, max_rows=cap, seed=1)
    other, _ = training_sample(frame, TRAIN_YEARS, max_rows=cap, seed=2)
    pd.testing.assert_frame_equal(first, again)
    assert set(first["person_id"]) != set(other["person_id"])


def test_a_simple_sample_keeps_the_outcome_rate():
    frame = people_frame(n_people=20000)
    train = frame[frame["index_year"].isin(TRAIN_YEARS)]
    fitted, summary = training_sample(frame, TRAIN_YEARS, max_rows=len(train) // 4, seed=5)
    rate = summary["positives_fitted"] / summary["rows_fitted"]
    assert rate == pytest.approx(train["outcome"].mean(), abs=0.01)


def test_run_train_fits_the_sample_records_it_and_scores_every_test_row(tmp_path, monkeypatch, registry_features):
    monkeypatch.setattr(models.spec, "SPECS_DIR", write_toy_spec(tmp_path / "specs"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    paths = project_paths(tmp_path)
    write_parquet(registry_features, paths.features_table("toy"))
    in_train = registry_features["index_year"].isin(TRAIN_YEARS)
    cap = int(in_train.sum()) * 3 // 4
    trained = run_train("toy", TrainParams(max_training_rows=cap), paths, params_file=tmp_path / "p.yaml",
                        thresholds_file=tmp_path / "t.yaml", choose_inputs=feature_columns)
    run = json.loads(trained.run_file.read_text())
    sample = run["training_sample"]
    assert sample["sampled"] is True and sample["max_rows"] == cap and sample["rows_fitted"] <= cap
    scores = pd.read_parquet(trained.scores_file)
    assert (scores["split"] == "train").sum() == sample["rows_fitted"]
    # evaluation is unchanged: every validation and test row is scored
    for split, year in (("validation", 2018), ("test", 2019)):
        assert (scores["split"] == split).sum() == int((registry_features["index_year"] == year).sum())
    # the years' counts are the whole county's, not the sample's
    assert run["capacity"]["test_year"]["cohort_rows"] == int((registry_features["index_year"] == 2019).sum())
    summary = json.loads((paths.model_artifacts("toy") / "train_summary.json").read_text())
    assert summary["training_sample"] == sample
    assert summary["rows"]["train"]["rows"] == sample["rows_fitted"]


def test_the_card_says_what_the_learners_were_fitted_on_from_the_run():
    from ethics.card.model import CardInputs, build_model_card

    frame = people_frame()
    _, sample = training_sample(frame, TRAIN_YEARS, max_rows=1000, seed=4)
    inputs = dict(model="emergency_admission", spec=models.spec.load_model_spec("emergency_admission").model_dump(
        mode="json"), context={"purpose": "p"}, metrics={"capacity": 20, "test": {"auc": 0.8}},
        group_metrics=pd.DataFrame({"attribute": ["fair_sex"], "group": ["F"], "n": [100], "suppressed": [False]}),
        governance={"status": "blocked"}, min_group_size=50)
    card = build_model_card(CardInputs(run={"run_id": "r1", "feature_columns": [], "training_sample": sample},
                                       **inputs))
    assert card.method["Rows the learners were fitted on"] == sample["description"]
    assert f"{sample['rows_fitted']:,} of the {sample['rows']:,}" in sample["description"]
    older = build_model_card(CardInputs(run={"run_id": "r1", "feature_columns": []}, **inputs))
    assert older.method["Rows the learners were fitted on"] == "-"  # a run from before the setting says nothing
