"""Inputs kept out of the years their source could not describe (issue #18): ``models.input_coverage`` and the
train stage's record of it."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import models.spec
from ethics.card.left_out import describe_left_out
from features.registry import feature_columns
from models.input_coverage import cover_inputs
from models.learners import released_inputs
from models.rule_score import RuleScore
from models.train_stage import run_train
from pipeline.core.config import TrainParams
from pipeline.core.io import write_json, write_parquet
from pipeline.core.paths import project_paths

from .conftest import write_toy_spec

TRAIN, VALIDATION = list(range(2014, 2024)), 2024


def register_frame(events_per_year: int = 6, rows_per_year: int = 150, seed: int = 0) -> pd.DataFrame:
    """Index years 2014-2025 on 31 March; ``late`` is 0 before the source starts (April 2023), ``full`` always
    recorded; ``events_per_year`` outcomes a year."""
    rng = np.random.default_rng(seed)
    parts = []
    for year in range(2014, 2026):
        outcome = np.zeros(rows_per_year, dtype="int8")
        outcome[:events_per_year] = 1
        late = rng.random(rows_per_year) < 0.3
        parts.append(pd.DataFrame({
            "person_id": [f"r{year}_{i}" for i in range(rows_per_year)], "index_date": pd.Timestamp(f"{year}-03-31"),
            "index_year": year, "outcome": pd.array(outcome, dtype="Int8"),
            "full": rng.normal(size=rows_per_year), "late": np.where(year >= 2024, late, 0).astype("int8")}))
    return pd.concat(parts, ignore_index=True)


COVERAGE = {"late": {"source": "adult_social_care", "window": "ever", "source_starts": "2023-04-01",
                     "covered_from": "2023-04-01"}}


def test_an_input_whose_source_starts_late_is_left_out_and_recorded():
    frame = register_frame()
    before = frame.copy()
    covered = cover_inputs(frame, ["full", "late"], COVERAGE, TRAIN, VALIDATION)
    assert covered.feature_columns == ["full"]  # the input covered everywhere is untouched
    assert covered.train_years == TRAIN and covered.restricted is None
    [entry] = covered.left_out
    assert entry["input"] == "late" and entry["source"] == "adult social care"
    assert entry["covered_from"] == "2023-04-01" and entry["training_years_uncovered"] == TRAIN
    assert "2014-2023" in entry["reason"] and "left out" in entry["reason"]
    pd.testing.assert_frame_equal(frame, before)  # the rows' features are never changed


def test_every_input_covered_leaves_the_inputs_and_years_as_they_are():
    covered = cover_inputs(register_frame(), ["full", "late"], {}, TRAIN, VALIDATION)
    assert covered.feature_columns == ["full", "late"] and covered.left_out == [] and covered.restricted is None
    early = {"late": {**COVERAGE["late"], "covered_from": "2014-03-31"}}  # covered on the first index date itself
    assert cover_inputs(register_frame(), ["full", "late"], early, TRAIN, VALIDATION).left_out == []


def test_an_input_uncovered_in_the_validation_year_is_left_out_even_with_many_events():
    twelve_months = {"late": {**COVERAGE["late"], "window": "12m", "covered_from": "2024-04-01"}}
    covered = cover_inputs(register_frame(events_per_year=40), ["full", "late"], twelve_months, TRAIN, VALIDATION)
    assert covered.feature_columns == ["full"]
    assert covered.left_out[0]["training_years_uncovered"] == [*TRAIN, VALIDATION]
    assert "validation year" in covered.left_out[0]["reason"]


def test_enough_outcomes_in_the_covered_years_fit_on_them_instead():
    """(a): covered from 2019's index date on, and 2019-2024 hold 6 x 6 = 36 events: the input is kept and the
    learners fit on 2019-2023 only; with 1 event a year (6 in all, fewer than 10) it is left out instead."""
    mid = {"late": {**COVERAGE["late"], "covered_from": "2018-06-01"}}
    covered = cover_inputs(register_frame(), ["full", "late"], mid, TRAIN, VALIDATION)
    assert covered.feature_columns == ["full", "late"] and covered.left_out == []
    assert covered.train_years == [2019, 2020, 2021, 2022, 2023]
    assert covered.restricted["dropped_years"] == [2014, 2015, 2016, 2017, 2018]
    assert covered.restricted["inputs"] == ["late"]
    later = {"late": {**COVERAGE["late"], "covered_from": "2019-06-01"}}  # 6 of 10 training years: too many
    too_many = cover_inputs(register_frame(), ["full", "late"], later, TRAIN, VALIDATION)
    assert too_many.feature_columns == ["full"] and "give up 6 of 10 training years" in too_many.left_out[0]["reason"]
    few = cover_inputs(register_frame(events_per_year=1), ["full", "late"], mid, TRAIN, VALIDATION)
    assert few.feature_columns == ["full"] and few.train_years == TRAIN
    assert "6 events" in few.left_out[0]["reason"]


def test_the_card_says_it_in_one_sentence():
    covered = cover_inputs(register_frame(), ["full", "late"], COVERAGE, TRAIN, VALIDATION)
    sentence = describe_left_out(covered.left_out)
    assert sentence.count(".") == 1 and sentence.startswith("late was left out of the fitted learners")
    assert "adult social care" in sentence and "2014-2023" in sentence and "rule is unchanged" in sentence
    assert describe_left_out([]) == "-" and describe_left_out(None) == "-"


def test_the_train_stage_leaves_the_input_out_and_records_it(tmp_path, monkeypatch, registry_features):
    """The toy spec with features.json saying referrals are held only from mid-2017: the learners do not see
    them, run.json and train_summary.json say why, the rule still reads them, the features file is unchanged."""
    monkeypatch.setattr(models.spec, "SPECS_DIR", write_toy_spec(tmp_path / "specs"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    paths = project_paths(tmp_path)
    features_file = write_parquet(registry_features, paths.features_table("toy"))
    digest = hashlib.sha256(features_file.read_bytes()).hexdigest()
    write_json({"input_coverage": {"referrals_12m": {"source": "social_care", "window": "12m",
                                                     "source_starts": "2016-06-01", "covered_from": "2017-06-01"}}},
               paths.model_reports("toy") / "features.json")
    trained = run_train("toy", TrainParams(), paths, params_file=tmp_path / "p.yaml",
                        thresholds_file=tmp_path / "t.yaml", choose_inputs=feature_columns)
    run = json.loads(trained.run_file.read_text())
    spec = models.spec.load_model_spec("toy")
    assert run["feature_columns"] == [c for c in feature_columns(spec) if c != "referrals_12m"]
    [entry] = run["inputs_left_out"]
    assert entry["input"] == "referrals_12m" and entry["training_years_uncovered"] == [2015, 2016, 2017]
    summary = json.loads((paths.model_artifacts("toy") / "train_summary.json").read_text())
    assert summary["inputs_left_out"] == run["inputs_left_out"] and summary["training_years_restricted"] is None
    assert hashlib.sha256(features_file.read_bytes()).hexdigest() == digest
    # the rule is fixed by experts: it still scores referrals (points computed here independently)
    points = (2 * (registry_features["attendance_rate_12m"] < 0.9) + (registry_features["suspensions_12m"] >= 1)
              + (registry_features["referrals_12m"] >= 1)).to_numpy()
    scores = pd.read_parquet(trained.scores_file)
    np.testing.assert_array_equal(scores["score_rule"].to_numpy(), points)
    # LightGBM is released: it reads the learners' inputs only
    assert run["released_inputs"] == run["feature_columns"]


def test_a_released_rule_reads_its_criteria_though_the_learners_left_one_out():
    rule = RuleScore([("full", ">=", 0.0, 1), ("late", ">=", 1.0, 2)]).fit(register_frame())
    assert released_inputs(rule, ["full"]) == ["full", "late"]  # the live list and its calibration score with both
    assert released_inputs(rule, ["late", "full"]) == ["late", "full"]
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())  # a fitted learner: its inputs as they are
    assert released_inputs(pipeline, ["full"]) == ["full"]
