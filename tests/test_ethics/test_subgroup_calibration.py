"""The gate's subgroup calibration check: a group's O/E against everyone's, judged on its interval."""

from __future__ import annotations

import pandas as pd

from ethics.fairness_checks import check_subgroup_calibration
from ethics.gate_evidence import GateEvidence

from .test_performance_checks import THRESHOLDS


def _row(attribute, group, n, oe, ratio, low, high, suppressed=False, positives=40):
    return {"attribute": attribute, "group": group, "n": n, "positives": positives, "oe_ratio": oe,
            "oe_ratio_ci_low": oe * low / ratio, "oe_ratio_ci_high": oe * high / ratio, "ratio_oe_ratio": ratio,
            "ratio_oe_ratio_ci_low": low, "ratio_oe_ratio_ci_high": high, "suppressed": suppressed}


def _evidence(rows) -> GateEvidence:
    fields = {name: None for name in GateEvidence.__dataclass_fields__}
    return GateEvidence(**{**fields, "metrics": {}, "group_metrics": pd.DataFrame(rows)})


CALIBRATED = [_row("sex", "F", 300, 1.05, 1.05, 0.8, 1.4), _row("sex", "M", 320, 0.95, 0.95, 0.7, 1.2),
              _row("imd_quintile", "1", 150, 1.2, 1.2, 0.9, 1.7)]


def test_groups_whose_intervals_reach_the_range_pass_and_the_furthest_is_named():
    result = check_subgroup_calibration(_evidence(CALIBRATED), THRESHOLDS)
    assert result.status == "pass", result
    assert "furthest: imd_quintile 1: observed/expected 1.20" in result.evidence


def test_a_group_the_model_under_rates_fails_with_a_reason_a_reviewer_reads():
    rows = [*CALIBRATED, _row("fair_ethnicity_group", "Black", 400, 1.9, 1.8, 1.4, 2.3)]
    result = check_subgroup_calibration(_evidence(rows), THRESHOLDS)
    assert result.status == "fail"
    assert result.evidence.startswith("ethnicity_group Black: observed/expected 1.90 (95% CI 1.48-2.43), 1.80x "
                                      "everyone's (95% CI 1.40-2.30): the whole interval is outside")
    assert "under-rates their risk: they have the outcome more often than it predicts" in result.evidence


def test_an_over_rated_group_fails_too_and_every_group_outside_is_listed():
    rows = [*CALIBRATED, _row("sex", "X", 200, 0.4, 0.4, 0.2, 0.6), _row("imd_quintile", "5", 200, 0.6, 0.6, 0.5, 0.75)]
    result = check_subgroup_calibration(_evidence(rows), THRESHOLDS)
    assert result.status == "fail" and result.evidence.startswith("sex X")
    assert "over-rates their risk" in result.evidence
    assert "(groups outside: imd_quintile 5 (over-rated), sex X (over-rated))" in result.evidence


def test_small_or_suppressed_groups_are_never_judged():
    rows = [*CALIBRATED, _row("sex", "X", 20, 3.0, 3.0, 2.0, 4.0),
            # 5 of the year's 8 outcomes: the ratio to everyone's is nearly fixed, its interval narrow by accident
            _row("imd_quintile", "1", 400, 1.7, 3.1, 2.1, 3.65, positives=5),
            _row("ethnicity_group", "Other", 400, 3.0, 3.0, 2.0, 4.0, suppressed=True)]
    assert check_subgroup_calibration(_evidence(rows), THRESHOLDS).status == "pass"


def test_without_intervals_it_cannot_pass():
    frame = pd.DataFrame(CALIBRATED).drop(columns=["ratio_oe_ratio_ci_low"])
    assert check_subgroup_calibration(_evidence(frame), THRESHOLDS).status == "not_evaluable"


def _with_backtest(standard_rows, backtest_rows, differs=True) -> GateEvidence:
    fields = {name: None for name in GateEvidence.__dataclass_fields__}
    backtest = {"differs_from_standard": differs, "group_metrics": backtest_rows}
    return GateEvidence(**{**fields, "metrics": {"backtest": backtest}, "group_metrics": pd.DataFrame(standard_rows)})


def test_a_group_the_backtest_under_rates_blocks_even_when_the_standard_year_passes():
    under = [*CALIBRATED, _row("fair_ethnicity_group", "Black", 400, 1.9, 1.8, 1.4, 2.3)]
    result = check_subgroup_calibration(_with_backtest(CALIBRATED, under), THRESHOLDS)
    assert result.status == "fail"
    assert result.evidence.startswith("test year: every group's interval reaches the range")
    assert "; backtest: ethnicity_group Black: observed/expected 1.90" in result.evidence


def test_the_backtest_is_judged_only_where_it_differs_from_the_standard_split():
    under = [*CALIBRATED, _row("fair_ethnicity_group", "Black", 400, 1.9, 1.8, 1.4, 2.3)]
    result = check_subgroup_calibration(_with_backtest(CALIBRATED, under, differs=False), THRESHOLDS)
    assert result.status == "pass" and "backtest" not in result.evidence


def test_gap_and_suppression_checks_read_the_backtest_too():
    from ethics.fairness_checks import check_small_cell_suppression, check_subgroup_fnr_gap

    leaky = [*CALIBRATED, {**_row("sex", "X", 3, 1.0, 1.0, 0.9, 1.1), "suppressed": False}]
    assert check_small_cell_suppression(_with_backtest(CALIBRATED, leaky), THRESHOLDS).status == "fail"
    assert check_small_cell_suppression(_with_backtest(CALIBRATED, CALIBRATED), THRESHOLDS).status == "pass"
    fnr = [{**r, "fnr": f} for r, f in zip(CALIBRATED, (0.2, 0.9, 0.3), strict=True)]
    even = [{**r, "fnr": 0.3} for r in CALIBRATED]
    result = check_subgroup_fnr_gap(_with_backtest(even, fnr), THRESHOLDS)
    assert result.status == "fail" and "backtest: largest false-negative-rate gap 0.700" in result.evidence


def test_the_card_shows_the_backtests_groups_with_the_same_suppression():
    from ethics.card.backtest import backtest_fairness

    rows = [{**r, "suppressed": r["n"] < 50} for r in [*CALIBRATED, _row("sex", "X", 20, 3.0, 3.0, 2.0, 4.0)]]
    shown = backtest_fairness({"differs_from_standard": True, "group_metrics": rows}, 50)
    sex = next(a for a in shown if a.attribute == "sex")
    assert [row[0] for row in sex.table.rows] == ["F", "M"] and sex.suppressed == ["X"]
    assert backtest_fairness({"differs_from_standard": False, "group_metrics": rows}, 50) == []
