"""The evaluate stage: the joins it makes, what it publishes, and that files and MLflow agree."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.populations import CHILDREN
from models.evaluate_stage import (
    attach_fairness_attributes,
    attach_truth_probabilities,
    evaluate_scores,
)
from models.evaluation import fairness_table, labelled_rows
from pipeline.core.config import EvaluateParams
from pipeline.core.paths import project_paths

PARAMS = EvaluateParams(n_boot=0, min_group_n=30, min_group_positives=3)
ATTRIBUTES = CHILDREN.fairness_attributes


@pytest.fixture(scope="module")
def scores(trained, toy_features):
    fair = [c for c in toy_features.columns if c.startswith("fair_")]
    return attach_fairness_attributes(trained.scores, toy_features[["person_id", "index_date", *fair]])


def test_attributes_join_each_score_row_once_and_keep_its_order():
    scores = pd.DataFrame({"person_id": ["b", "a", "c"], "index_date": pd.Timestamp("2020-01-20"), "s": [1, 2, 3]})
    attributes = pd.DataFrame({"person_id": ["a", "b"], "index_date": pd.Timestamp("2020-01-20"),
                               "fair_sex": ["F", "M"]})
    joined = attach_fairness_attributes(scores, attributes)
    assert joined["person_id"].tolist() == ["b", "a", "c"]
    assert joined["fair_sex"].tolist()[:2] == ["M", "F"] and pd.isna(joined["fair_sex"].iloc[2])
    with pytest.raises(pd.errors.MergeError):
        attach_fairness_attributes(scores, pd.concat([attributes, attributes]))


def test_published_group_table_blanks_small_cells(scores, toy_spec):
    evaluation = evaluate_scores(scores, toy_spec.capacity_per_year, PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed)
    test = labelled_rows(scores, "test")
    raw = fairness_table(test, "margin_lightgbm", "score_lightgbm", toy_spec.capacity_per_year, attributes=ATTRIBUTES,
                         tie_seed=toy_spec.seed, n_boot=0, seed=PARAMS.seed, min_n=PARAMS.min_group_n,
                         min_positives=PARAMS.min_group_positives)
    published = evaluation.group_metrics
    assert published["suppressed"].tolist() == raw["suppressed"].tolist() and published["suppressed"].any()
    assert published.loc[published["suppressed"], ["n", "tpr", "ppv"]].isna().all().all()
    kept = ~published["suppressed"]
    np.testing.assert_allclose(published.loc[kept, "tpr"].astype(float), raw.loc[kept, "tpr"].astype(float))


def test_fairness_summaries_cover_the_usable_models_only(scores, toy_spec):
    evaluation = evaluate_scores(scores, toy_spec.capacity_per_year, PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed)
    assert set(evaluation.metrics["fairness"]) == {"lightgbm", "logistic", "rule"}
    with_truth = evaluate_scores(scores.assign(p_true=scores["score_lightgbm"]), toy_spec.capacity_per_year,
                                 PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed)
    assert "generator" in with_truth.metrics["baselines"] and "generator" not in with_truth.metrics["fairness"]
    assert "oracle" not in with_truth.metrics["baselines"]


def test_calibration_by_ethnicity_leaves_out_small_groups(scores, toy_spec):
    evaluation = evaluate_scores(scores, toy_spec.capacity_per_year, PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed)
    test = labelled_rows(scores, "test")
    big = test.groupby("fair_ethnicity_group")["outcome"].agg(["size", "sum"])
    big = big[(big["size"] >= PARAMS.min_group_n) & (big["sum"] >= PARAMS.min_group_positives)]
    assert set(evaluation.calibration_by_ethnicity["group"]) == set(big.index)


def test_without_truth_files_scores_are_returned_unchanged(scores, tmp_path):
    same = attach_truth_probabilities(scores, "toy", project_paths(tmp_path), tmp_path / "no.key")
    assert same is scores and "p_true" not in same.columns


def test_files_and_mlflow_hold_the_same_metrics(toy_project):
    from mlflow.tracking import MlflowClient

    reports = toy_project.paths.model_reports("toy")
    evaluated = toy_project.evaluated
    assert evaluated.reports_dir == reports
    assert [f.relative_to(reports).as_posix() for f in evaluated.files] == [
        "metrics.json", "group_metrics.csv", "calibration.csv", "roc.csv", "plots/roc.png",
        "plots/precision_recall.png", "plots/calibration.png", "plots/calibration_by_ethnicity_group.png",
        "plots/group_error_rates.png"]
    metrics = json.loads((reports / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(evaluated.metrics, default=str))
    run = toy_project.trained.run
    logged = MlflowClient(tracking_uri=run["tracking_uri"]).get_run(run["run_id"]).data.metrics
    assert logged["test.auc"] == pytest.approx(metrics["test"]["auc"])
    assert logged["baselines.rule.precision_at_capacity"] == pytest.approx(
        metrics["baselines"]["rule"]["precision_at_capacity"])
    assert evaluated.metrics_logged == sum(1 for k in logged if not k.startswith(("rows.", "lightgbm_best")))
