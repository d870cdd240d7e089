"""A spec chooses the learner it releases (issue #18), and a county too small to train LightGBM still gets outputs
the later stages read, with the reason the gate blocks on (issue #14's small counties)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

import models.spec
from ethics.checklist import THRESHOLDS_FILE
from ethics.gate_evidence import GateEvidence
from ethics.integrity_checks import check_enough_outcomes
from ethics.thresholds import model_thresholds
from features.registry import feature_columns
from models.few_events import fit_few_events
from models.ld_register import MIN_EVENTS
from models.learners import model_contributions, model_margin
from models.spec import parse_model_spec
from models.train_stage import run_train
from pipeline.core.config import TrainParams
from pipeline.core.io import read_yaml, write_parquet
from pipeline.core.paths import project_paths

from .conftest import SPEC, registry_spec_raw

NUMERIC = ["attendance_rate_12m", "exclusions_12m", "referrals_12m"]


def _spec(release: str, **changes) -> models.spec.ModelSpec:
    return parse_model_spec({**SPEC, "release": release, **changes})


def _few_positives(frame: pd.DataFrame, keep: int, seed: int = 0) -> pd.DataFrame:
    """``frame`` with all but ``keep`` positives of the training and validation years (2015-2018) made negative."""
    out = frame.copy()
    fitted = out.index[(out["index_year"] <= 2018) & (out["outcome"] == 1)]
    dropped = np.random.default_rng(seed).permutation(fitted)[keep:]
    out.loc[dropped, "outcome"] = 0
    return out


def test_the_penalised_model_is_released_and_scores_the_model_columns(toy_features):
    trained = fit_few_events(toy_features, _spec("penalised"), NUMERIC)
    assert trained.released == "penalised" and trained.lightgbm is None
    released = trained.summary["released"]
    assert released["learner"] == released["requested"] == "penalised" and "release: penalised" in released["why"]
    labelled = toy_features[(toy_features["index_year"] <= 2018) & toy_features["outcome"].notna()]
    assert released["rows"] == len(labelled) and released["events"] == int(labelled["outcome"].sum())
    model = trained.model_to_release()
    # the columns the evaluation, gate and list read as "the model" are the released learner's
    np.testing.assert_allclose(trained.scores["score_released"], model.predict_proba(toy_features)[:, 1])
    np.testing.assert_allclose(trained.scores["margin_released"], model_margin(model, toy_features[NUMERIC]))
    # ranking by the margin is ranking by the probability (a logistic link is monotone)
    test = trained.scores[trained.scores["split"] == "test"]
    assert test["margin_released"].rank().corr(test["score_released"].rank()) > 0.999


def test_below_the_event_minimum_the_rule_is_released_and_says_why(toy_features):
    frame = _few_positives(toy_features, MIN_EVENTS - 1)
    trained = fit_few_events(frame, _spec("penalised"), NUMERIC)
    released = trained.summary["released"]
    assert trained.released == released["learner"] == "rule" and released["requested"] == "penalised"
    assert f"at least {MIN_EVENTS} events" in released["why"] and f"hold {MIN_EVENTS - 1} and" in released["why"]
    # the rule orders by its points, as the list does
    np.testing.assert_array_equal(trained.scores["margin_released"], trained.scores["score_rule"])


def test_contributions_add_up_to_the_margin(toy_features):
    penalised = fit_few_events(toy_features, _spec("penalised"), NUMERIC).model_to_release()
    rows = toy_features[NUMERIC].head(50)
    parts = model_contributions(penalised, rows)
    assert list(parts.columns) == NUMERIC
    intercept = float(penalised[-1].intercept_[0])
    np.testing.assert_allclose(parts.sum(axis=1) + intercept, model_margin(penalised, rows))
    rule = fit_few_events(_few_positives(toy_features, 3), _spec("penalised"), NUMERIC).model_to_release()
    np.testing.assert_allclose(model_contributions(rule, rows).sum(axis=1), model_margin(rule, rows))


def test_text_inputs_are_refused_for_the_penalised_model(toy_features):
    with pytest.raises(ValueError, match="numeric inputs only.*sen_status"):
        fit_few_events(toy_features, _spec("penalised"), [*NUMERIC, "sen_status"])


def test_the_spec_key_is_validated():
    assert parse_model_spec(SPEC).release == "lightgbm"
    with pytest.raises(models.spec.ModelSpecError, match="release"):
        parse_model_spec({**SPEC, "release": "forest"})


def _train(tmp_path, monkeypatch, features, raw):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "toy.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setattr(models.spec, "SPECS_DIR", specs)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    paths = project_paths(tmp_path)
    write_parquet(features, paths.features_table("toy"))
    return paths, run_train("toy", TrainParams(), paths, params_file=tmp_path / "p.yaml",
                            thresholds_file=tmp_path / "t.yaml", choose_inputs=feature_columns)


def test_the_mlflow_model_is_the_released_learner(tmp_path, monkeypatch, registry_features):
    from models.learners import model_margin, ranked_estimator
    from pipeline.core.tracking import load_sklearn_model

    raw = {**registry_spec_raw(), "release": "penalised"}
    raw["features"]["include"] = [c for c in raw["features"]["include"] if c != "sen_status"]
    paths, trained = _train(tmp_path, monkeypatch, registry_features, raw)
    run = json.loads(trained.run_file.read_text())
    assert run["released"]["learner"] == "penalised" and run["fallback_reason"] is None
    loaded = load_sklearn_model(run["model_uri"], run["tracking_uri"])
    # registered as the live list scores it: the penalised model, recalibrated on the latest matured year
    assert type(ranked_estimator(loaded)[-1]).__name__ == "LogisticRegressionCV"
    assert run["live_calibration"]["recalibrated"]
    scores = pd.read_parquet(trained.scores_file)
    np.testing.assert_allclose(model_margin(loaded, registry_features[run["feature_columns"]]),
                               scores["margin_released"])


def test_a_county_too_small_for_lightgbm_is_trained_as_a_blocked_draft(tmp_path, monkeypatch, registry_features):
    """One positive in the training and validation years: LightGBM cannot be trained. The stage does not stop: it
    releases the rule as a draft, run.json says why, and the gate blocks the release with that reason."""
    frame = _few_positives(registry_features, 1)
    paths, trained = _train(tmp_path, monkeypatch, frame, registry_spec_raw())
    run = json.loads(trained.run_file.read_text())
    assert run["released"]["learner"] == "rule"
    assert run["fallback_reason"].startswith("too few outcomes to train LightGBM")
    assert (paths.model_artifacts("toy") / "scores.parquet").exists()
    assert (paths.model_artifacts("toy") / "backtest_scores.parquet").exists()
    thresholds = model_thresholds(read_yaml(THRESHOLDS_FILE), "care_entry")
    evidence = GateEvidence(metrics={}, group_metrics=pd.DataFrame(), run=run, thresholds_sha256="0",
                            split_years=pd.DataFrame({"split": [], "index_year": []}))
    result = check_enough_outcomes(evidence, thresholds)
    assert result.status == "fail" and "too few outcomes to train LightGBM" in result.evidence
    assert "too small for this model" in result.evidence
