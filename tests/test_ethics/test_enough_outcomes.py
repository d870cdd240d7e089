"""A county too small for a model: too few outcomes in the validation or test year blocks its release."""

from __future__ import annotations

import pandas as pd

from ethics.checklist import THRESHOLDS_FILE
from ethics.gate_evidence import GateEvidence
from ethics.integrity_checks import check_enough_outcomes
from ethics.thresholds import model_thresholds
from pipeline.core.io import read_yaml

THRESHOLDS = model_thresholds(read_yaml(THRESHOLDS_FILE), "care_entry")


def _evidence(run=None, features_report=None) -> GateEvidence:
    return GateEvidence(metrics={}, group_metrics=pd.DataFrame(), run=run or {}, thresholds_sha256="0",
                        split_years=pd.DataFrame({"split": [], "index_year": []}), features_report=features_report)


def _outcomes(validation: int, test: int) -> dict:
    return {"validation": {"year": 2024, "positives": validation}, "test": {"year": 2025, "positives": test}}


def test_the_minimum_is_pre_registered():
    assert THRESHOLDS.min_outcomes_per_evaluation_year == read_yaml(THRESHOLDS_FILE)["defaults"][
        "min_outcomes_per_evaluation_year"]


def test_too_few_outcomes_in_either_year_fails_and_says_why():
    low = THRESHOLDS.min_outcomes_per_evaluation_year
    for counts in ((low - 1, low), (low, low - 1)):
        result = check_enough_outcomes(_evidence({"evaluation_outcomes": _outcomes(*counts)}), THRESHOLDS)
        assert result.status == "fail" and "too small" in result.evidence and f"at least {low}" in result.evidence
    assert check_enough_outcomes(_evidence({"evaluation_outcomes": _outcomes(low, low)}), THRESHOLDS).status == "pass"


def test_a_model_fitted_on_a_fallback_split_never_passes():
    low = THRESHOLDS.min_outcomes_per_evaluation_year
    run = {"evaluation_outcomes": _outcomes(low, low), "fallback_reason": "validation year 2024 has 1 positive"}
    result = check_enough_outcomes(_evidence(run), THRESHOLDS)
    assert result.status == "fail" and "validation year 2024 has 1 positive" in result.evidence


def test_counts_come_from_the_features_report_when_run_json_lacks_them():
    report = {"split": {"validation_year": 2024, "test_year": 2025},
              "rows_by_index_year": {"2024": {"outcome_positives": 2}, "2025": {"outcome_positives": 30}}}
    result = check_enough_outcomes(_evidence(features_report=report), THRESHOLDS)
    assert result.status == "fail" and "validation year 2024: 2" in result.evidence
    assert check_enough_outcomes(_evidence(), THRESHOLDS).status == "not_evaluable"
