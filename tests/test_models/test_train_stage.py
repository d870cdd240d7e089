"""The train stage's IO: what it writes and logs, checked against direct calls and independent hashes."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

import models.spec
from features.registry import feature_columns
from models.train_stage import FeaturesMissing, TrainingStopped, run_train, training_rows
from models.training import train_models
from pipeline.core.config import TrainParams
from pipeline.core.io import write_parquet
from pipeline.core.paths import project_paths

from .conftest import write_toy_spec


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_scores_are_those_train_models_returns(toy_project, registry_features, registry_spec):
    scores = pd.read_parquet(toy_project.paths.model_artifacts("toy") / "scores.parquet")
    expected = train_models(registry_features, registry_spec, feature_columns(registry_spec))
    pd.testing.assert_frame_equal(scores, expected.scores)
    summary = json.loads((toy_project.paths.model_artifacts("toy") / "train_summary.json").read_text())
    assert summary["calibration"] == expected.summary["calibration"]


def test_run_json_records_the_registered_version_and_the_thresholds_digest(toy_project, registry_spec):
    run = json.loads(toy_project.trained.run_file.read_text())
    assert run == toy_project.trained.run
    assert run["model_version"] == 1 and run["registered_model"] == "riskpipe-toy"
    assert run["feature_columns"] == feature_columns(registry_spec)
    # the gate compares the SHA-256 of the thresholds file's bytes
    assert run["thresholds_sha256"] == sha256(toy_project.thresholds_file)


def test_mlflow_run_holds_lineage_and_the_training_rows(toy_project, toy_features):
    from mlflow.tracking import MlflowClient

    run = toy_project.trained.run
    logged = MlflowClient(tracking_uri=run["tracking_uri"]).get_run(run["run_id"])
    features_file = toy_project.paths.features_table("toy")
    assert logged.data.tags["lineage.toy.parquet"] == sha256(features_file)
    assert logged.data.tags["lineage.toy.yaml"] == sha256(toy_project.specs_dir / "toy.yaml")
    assert "lineage.params.yaml" not in logged.data.tags  # a file that does not exist is not hashed
    labelled_train = (toy_features["index_year"] <= 2017) & toy_features["outcome"].notna()
    assert logged.data.metrics["rows.train.labelled"] == labelled_train.sum()


def test_training_rows_are_the_labelled_train_split():
    features = pd.DataFrame({"outcome": pd.array([1, None, 0, 1], dtype="Int8")}, index=[10, 11, 12, 13])
    scores = pd.DataFrame({"split": ["train", "train", "validation", "train"]})
    assert training_rows(features, scores).tolist() == [True, False, False, True]


def test_missing_features_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(models.spec, "SPECS_DIR", write_toy_spec(tmp_path / "specs"))
    paths = project_paths(tmp_path)
    with pytest.raises(FeaturesMissing) as caught:
        run_train("toy", TrainParams(), paths, params_file=tmp_path / "p.yaml", thresholds_file=tmp_path / "t.yaml",
                  choose_inputs=feature_columns)
    assert caught.value.path == paths.features_table("toy")


def test_a_split_without_outcomes_stops_training_and_writes_nothing(tmp_path, monkeypatch, registry_features):
    monkeypatch.setattr(models.spec, "SPECS_DIR", write_toy_spec(tmp_path / "specs"))
    paths = project_paths(tmp_path)
    features = registry_features.copy()
    features.loc[features["index_year"] == 2018, "outcome"] = pd.NA
    write_parquet(features, paths.features_table("toy"))
    with pytest.raises(TrainingStopped, match="validation"):
        run_train("toy", TrainParams(), paths, params_file=tmp_path / "p.yaml", thresholds_file=tmp_path / "t.yaml",
                  choose_inputs=feature_columns)
    assert not paths.model_artifacts("toy").exists()


def test_too_few_validation_outcomes_fall_back_to_an_earlier_year_and_say_so(tmp_path, monkeypatch,
                                                                           registry_features):
    """A small county: one positive in the validation year cannot calibrate. Training carries on with the
    latest train year that can (so evaluate, govern, card and score still run) and run.json says why."""
    monkeypatch.setattr(models.spec, "SPECS_DIR", write_toy_spec(tmp_path / "specs"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    paths = project_paths(tmp_path)
    features = registry_features.copy()
    validation = features.index[(features["index_year"] == 2018) & (features["outcome"] == 1)]
    features.loc[validation[1:], "outcome"] = 0
    write_parquet(features, paths.features_table("toy"))
    trained = run_train("toy", TrainParams(), paths, params_file=tmp_path / "p.yaml",
                        thresholds_file=tmp_path / "t.yaml", choose_inputs=feature_columns)
    run = json.loads(trained.run_file.read_text())
    assert "validation year 2018 has 1 positive" in run["fallback_reason"]
    assert run["evaluation_outcomes"]["validation"] == {"year": 2018, "labelled": int((features["index_year"] == 2018)
                                                        .sum()), "positives": 1,
                                                        "negatives": int((features["index_year"] == 2018).sum()) - 1}
    scores = pd.read_parquet(trained.scores_file)
    assert set(scores.loc[scores["split"] == "validation", "index_year"]) == {2017}
    assert set(scores.loc[scores["split"] == "test", "index_year"]) == {2019}
    summary = json.loads((paths.model_artifacts("toy") / "train_summary.json").read_text())
    assert summary["fitted_split"]["validation_year"] == 2017 and summary["fitted_split"]["train_years"] == [2015, 2016]


def test_the_spec_split_is_used_when_it_can_be(toy_project, registry_features, registry_spec):
    run = toy_project.trained.run
    assert run["fallback_reason"] is None
    test = registry_features[registry_features["index_year"] == 2019]
    assert run["evaluation_outcomes"]["test"] == {"year": 2019, "labelled": int(test["outcome"].notna().sum()),
                                                  "positives": int((test["outcome"] == 1).sum()),
                                                  "negatives": int((test["outcome"] == 0).sum())}
    # the list's share of the cohort it is drawn from, for the card
    share = run["capacity"]["test_year"]
    assert share["cohort_rows"] == len(test) and share["capacity"] == registry_spec.capacity_per_year
    assert share["share"] == round(registry_spec.capacity_per_year / len(test), 5)
    metrics = json.loads((toy_project.paths.model_reports("toy") / "metrics.json").read_text())
    assert metrics["capacity_share"] == run["capacity"] and metrics["capacity"] == registry_spec.capacity_per_year


def test_the_registered_candidate_loads_and_predicts_on_the_features_file_as_it_is(toy_project, monkeypatch):
    """``models:/riskpipe-<m>@candidate`` from the SQLite registry predicts on the features file's own dtypes."""
    import mlflow.pyfunc

    run = toy_project.trained.run
    features = pd.read_parquet(toy_project.paths.features_table("toy"))
    df = features[run["feature_columns"]]
    assert str(df["age_months"].dtype) == "Int64" and df["age_months"].isna().any()
    # mlflow.set_tracking_uri exports $MLFLOW_TRACKING_URI; monkeypatch takes it away again after the test,
    # so later tests in this worker use their own project's store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", run["tracking_uri"])
    mlflow.set_tracking_uri(run["tracking_uri"])
    loaded = mlflow.pyfunc.load_model("models:/riskpipe-toy@candidate")
    predicted = loaded.predict(df)
    assert predicted.shape == (len(df), 2)
    direct = mlflow.sklearn.load_model(run["model_uri"]).predict_proba(df)
    np.testing.assert_allclose(np.asarray(predicted), direct)
