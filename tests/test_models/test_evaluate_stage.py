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

PARAMS = EvaluateParams(n_boot=0, min_group_positives=3)
MIN_GROUP = 30  # the gate's min_group_size, as the CLI reads it from the thresholds file
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
    evaluation = evaluate_scores(scores, toy_spec.capacity_per_year, PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed,
                                 min_group_n=MIN_GROUP)
    test = labelled_rows(scores, "test")
    raw = fairness_table(test, "margin_released", "score_released", toy_spec.capacity_per_year, attributes=ATTRIBUTES,
                         tie_seed=toy_spec.seed, n_boot=0, seed=PARAMS.seed, min_n=MIN_GROUP,
                         min_positives=PARAMS.min_group_positives)
    published = evaluation.group_metrics
    assert published["suppressed"].tolist() == raw["suppressed"].tolist() and published["suppressed"].any()
    assert published.loc[published["suppressed"], ["n", "tpr", "ppv"]].isna().all().all()
    kept = ~published["suppressed"]
    np.testing.assert_allclose(published.loc[kept, "tpr"].astype(float), raw.loc[kept, "tpr"].astype(float))


def test_fairness_summaries_cover_the_usable_models_only(scores, toy_spec):
    evaluation = evaluate_scores(scores, toy_spec.capacity_per_year, PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed,
                                 min_group_n=MIN_GROUP)
    assert set(evaluation.metrics["fairness"]) == {"lightgbm", "logistic", "rule"}
    with_truth = evaluate_scores(scores.assign(p_true=scores["score_released"]), toy_spec.capacity_per_year,
                                 PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed, min_group_n=MIN_GROUP)
    assert "generator" in with_truth.metrics["baselines"] and "generator" not in with_truth.metrics["fairness"]
    assert "oracle" not in with_truth.metrics["baselines"]


def test_calibration_by_ethnicity_leaves_out_small_groups(scores, toy_spec):
    evaluation = evaluate_scores(scores, toy_spec.capacity_per_year, PARAMS, ATTRIBUTES, tie_seed=toy_spec.seed,
                                 min_group_n=MIN_GROUP)
    test = labelled_rows(scores, "test")
    big = test.groupby("fair_ethnicity_group")["outcome"].agg(["size", "sum"])
    big = big[(big["size"] >= MIN_GROUP) & (big["sum"] >= PARAMS.min_group_positives)]
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


def test_one_setting_blanks_the_groups_the_gate_calls_small(scores, toy_spec):
    """group_metrics.csv suppresses by the gate's own min_group_size, so the gate's small-cell check passes on it;
    the former separate setting (10) published a group of 37 and failed that check."""
    from types import SimpleNamespace

    from ethics.checklist import THRESHOLDS_FILE
    from ethics.fairness_checks import check_small_cell_suppression
    from ethics.thresholds import model_thresholds
    from pipeline.core.io import read_yaml

    thresholds = model_thresholds(read_yaml(THRESHOLDS_FILE), "toy")  # the shipped defaults
    test_rows = scores.index[scores["split"].eq("test") & scores["outcome"].notna()]
    small = thresholds.min_group_size - 13  # between the old setting (10) and the gate's
    scores = scores.assign(fair_ethnicity_group=scores["fair_ethnicity_group"].astype(object))
    scores.loc[test_rows[:small], "fair_ethnicity_group"] = "Tiny"
    lenient = PARAMS.model_copy(update={"min_group_positives": 0})

    def judged(min_group_n):
        table = evaluate_scores(scores, toy_spec.capacity_per_year, lenient, ATTRIBUTES, tie_seed=toy_spec.seed,
                                min_group_n=min_group_n).group_metrics
        evidence = SimpleNamespace(group_metrics=table, metrics={})  # the standard test year alone
        return table, check_small_cell_suppression(evidence, thresholds)

    table, result = judged(thresholds.min_group_size)
    tiny = table[table["group"].eq("Tiny")]
    assert len(tiny) == 1 and bool(tiny["suppressed"].iloc[0]) and tiny[["n", "tpr", "ppv"]].isna().all().all()
    assert result.status == "pass", result.evidence
    assert judged(10)[1].status == "fail"


def test_a_params_file_still_setting_min_group_n_is_told_where_the_setting_went(tmp_path):
    from pipeline.core.config import ConfigError, load_params

    params = tmp_path / "params.yaml"
    params.write_text("evaluate:\n  min_group_n: 10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"evaluate\.min_group_n' is no longer a parameter.*min_group_size.*"
                                          r"thresholds\.yaml"):
        load_params(params)
    params.write_text("evaluate:\n  min_group_positives: 5\n", encoding="utf-8")
    assert not hasattr(load_params(params).evaluate, "min_group_n")
