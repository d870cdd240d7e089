"""The gate judges the deployment-faithful backtest where it differs from the standard split."""

from __future__ import annotations

from ethics.gate_evidence import GateEvidence
from ethics.performance_checks import (
    check_auc_lower_ci,
    check_beats_rule_score,
    check_calibration,
    check_precision_at_capacity,
)

from .test_performance_checks import GOOD, THRESHOLDS

CHECKS = (check_auc_lower_ci, check_precision_at_capacity, check_calibration, check_beats_rule_score)
# what a model trained on cohorts that had not matured by the test index date can look like: good on the
# standard split, no better than chance when trained only on what the live list could have used
POOR = {"auc_ci": [0.45, 0.55], "precision_at_capacity": 0.08, "precision_at_capacity_ci": [0.02, 0.16],
        "lift_at_capacity": 1.1, "lift_at_capacity_ci": [0.3, 2.0], "calibration_slope": -0.2,
        "calibration_slope_ci": [-1.0, 0.5], "oe_ratio": 0.6, "oe_ratio_ci": [0.45, 0.75],
        "precision_gain_over_rule": {"value": 0.0, "ci": [-0.06, 0.06]}}
RULE = {"rule": {"precision_at_capacity": 0.08}}


def _evidence(backtest: dict | None) -> GateEvidence:
    metrics = {"test": GOOD, "baselines": {"rule": {"precision_at_capacity": 0.30}}}
    if backtest is not None:
        metrics["backtest"] = backtest
    fields = {name: None for name in GateEvidence.__dataclass_fields__}
    return GateEvidence(**{**fields, "metrics": metrics})


def test_a_backtest_that_differs_is_what_the_gate_judges():
    evidence = _evidence({"differs_from_standard": True, "protocol": {"gap_years": 5}, "test": POOR,
                          "baselines": RULE})
    for check in CHECKS:
        result = check(evidence, THRESHOLDS)
        assert result.status == "fail", (check.__name__, result)
        assert "backtest (trained as the live list, gap 5 y)" in result.evidence


def test_a_backtest_with_the_standard_years_leaves_the_standard_figures_judged():
    evidence = _evidence({"differs_from_standard": False, "protocol": {"gap_years": 1}, "test": POOR,
                          "baselines": RULE})
    for check in CHECKS:
        result = check(evidence, THRESHOLDS)
        assert result.status == "pass" and "backtest" not in result.evidence, (check.__name__, result)


def test_a_backtest_that_could_not_be_made_cannot_pass():
    evidence = _evidence({"differs_from_standard": False, "reason": "no training year with both outcomes"})
    for check in CHECKS:
        result = check(evidence, THRESHOLDS)
        assert result.status == "not_evaluable" and "no training year with both outcomes" in result.evidence


def test_metrics_from_before_the_backtest_are_judged_on_the_test_year():
    assert all(check(_evidence(None), THRESHOLDS).status == "pass" for check in CHECKS)


def test_the_card_says_what_the_backtest_trained_on_and_that_the_gate_judges_it():
    from ethics.card.backtest import backtest_table, describe_backtest

    block = {"differs_from_standard": True, "test": {**POOR, "against_generator": {"mean_ratio": 1.3}},
             "baselines": RULE, "protocol": {"gap_years": 5, "test_year": 2021, "live_score_year": 2026,
                                             "live_latest_matured_year": 2021, "train_years": [2015],
                                             "calibration_year": 2016}}
    text = describe_backtest(block)
    assert "2021 cohort was scored by a model trained only on the cohorts whose outcomes were known 5 years" in text
    assert "(2015) and calibrated on 2016" in text and "the gate judges" in text
    table = backtest_table(block)
    assert table.rows[0][0] == "model (backtest)" and "0.080 (0.020-0.160)" in table.rows[0]
    assert "Mean predicted / mean generator probability" in table.columns
    assert "could not be made" in describe_backtest({"reason": "too young", "protocol": {}})
    assert backtest_table(None).rows == []
