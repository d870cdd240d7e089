"""The performance checks decide on interval bounds where a point estimate would decide on noise."""

from __future__ import annotations

import pytest

from ethics.gate_evidence import GateEvidence
from ethics.performance_checks import (
    check_auc_lower_ci,
    check_beats_rule_score,
    check_calibration,
    check_precision_at_capacity,
)
from ethics.thresholds import Thresholds, model_thresholds

THRESHOLDS: Thresholds = model_thresholds({"defaults": {
    "min_precision_at_capacity": 0.20, "min_lift_at_capacity": 2.0, "min_auc_lower_ci": 0.70,
    "calibration_slope_range": [0.8, 1.2], "oe_ratio_range": [0.8, 1.25], "min_precision_gain_over_rule": 0.02,
    "max_fnr_gap": 0.15, "max_oe_gap": 0.5, "min_group_size": 50, "min_linkage_precision": 0.97,
    "min_linkage_recall": 0.95, "max_link_rate_gap": 0.05, "link_rate_attributes": ["sex"]}}, "m")
GOOD = {"auc_ci": [0.75, 0.8], "precision_at_capacity": 0.40, "precision_at_capacity_ci": [0.30, 0.50],
        "lift_at_capacity": 5.0, "lift_at_capacity_ci": [4.0, 6.0], "calibration_slope": 1.0,
        "calibration_slope_ci": [0.9, 1.1], "oe_ratio": 1.0, "oe_ratio_ci": [0.9, 1.1],
        "precision_gain_over_rule": {"value": 0.10, "ci": [0.04, 0.16]}}


def _evidence(rule_precision: float = 0.30, **test) -> GateEvidence:
    metrics = {"test": {**GOOD, **test}, "baselines": {"rule": {"precision_at_capacity": rule_precision}}}
    fields = {name: None for name in GateEvidence.__dataclass_fields__}
    return GateEvidence(**{**fields, "metrics": metrics})


def test_a_model_clearly_good_enough_passes_every_check():
    for check in (check_auc_lower_ci, check_precision_at_capacity, check_calibration, check_beats_rule_score):
        assert check(_evidence(), THRESHOLDS).status == "pass", check.__name__


def test_precision_passes_only_when_its_lower_bound_reaches_the_minimum():
    # the point (0.24) clears 0.20, but the interval says the list might hold fewer than 1 in 5
    result = check_precision_at_capacity(_evidence(precision_at_capacity=0.24,
                                                   precision_at_capacity_ci=[0.14, 0.34]), THRESHOLDS)
    assert result.status == "fail" and "95% CI 0.140-0.340" in result.evidence
    lift = check_precision_at_capacity(_evidence(lift_at_capacity_ci=[1.5, 6.0]), THRESHOLDS)
    assert lift.status == "fail"


def test_missing_intervals_cannot_pass_but_a_failing_point_still_fails():
    assert check_precision_at_capacity(_evidence(precision_at_capacity_ci=None), THRESHOLDS).status == "not_evaluable"
    assert check_precision_at_capacity(_evidence(precision_at_capacity=0.1, precision_at_capacity_ci=None),
                                       THRESHOLDS).status == "fail"
    assert check_calibration(_evidence(oe_ratio_ci=None), THRESHOLDS).status == "not_evaluable"
    assert check_beats_rule_score(_evidence(precision_gain_over_rule=None), THRESHOLDS).status == "not_evaluable"


def test_the_gain_over_the_rule_is_decided_on_the_paired_interval():
    # two points 0.10 apart, but the paired difference could be nothing: not shown to beat the rule
    result = check_beats_rule_score(_evidence(precision_gain_over_rule={"value": 0.10, "ci": [-0.02, 0.22]}),
                                    THRESHOLDS)
    assert result.status == "fail" and "paired bootstrap 95% CI -0.020-0.220" in result.evidence
    assert check_beats_rule_score(_evidence(rule_precision=0.39), THRESHOLDS).status == "fail"  # gain 0.01


@pytest.mark.parametrize("slope, ci, status, words", [
    (1.0, [0.9, 1.1], "pass", None),
    (0.95, [0.6, 1.3], "pass", "cannot confirm"),     # inside, but uncertain: said so
    (0.7, [0.5, 0.9], "fail", None),                  # point outside the range
    (0.6, [0.4, 0.75], "fail", "whole interval"),     # clearly outside
])
def test_calibration_needs_the_point_inside_and_says_how_uncertain(slope, ci, status, words):
    result = check_calibration(_evidence(calibration_slope=slope, calibration_slope_ci=ci), THRESHOLDS)
    assert result.status == status
    assert words is None or words in result.evidence
