"""Auto checks on how well the model performs in the test year, against the pre-registered thresholds.

Discrimination (AUROC lower CI bound), precision and lift at capacity, calibration, and the gain over
the council's rule score. Each is ``check(evidence, thresholds) -> CheckResult``; the evidence string
says what was compared, with the numbers, so a reviewer can see why without re-running.
"""

from __future__ import annotations

from ethics.gate_evidence import CheckResult, GateEvidence, as_number, metrics_of_test_year
from ethics.thresholds import Thresholds


def check_auc_lower_ci(ev: GateEvidence, th: Thresholds) -> CheckResult:
    ci = metrics_of_test_year(ev).get("auc_ci") or []
    lower = as_number(ci[0]) if len(ci) == 2 else None
    if lower is None:
        return CheckResult("not_evaluable", "test auc_ci missing from metrics.json")
    ok = lower >= th.min_auc_lower_ci
    return CheckResult("pass" if ok else "fail", f"test AUROC 95% CI lower bound {lower:.3f} vs minimum "
                       f"{th.min_auc_lower_ci:.3f}")


def check_precision_at_capacity(ev: GateEvidence, th: Thresholds) -> CheckResult:
    test = metrics_of_test_year(ev)
    precision, lift = as_number(test.get("precision_at_capacity")), as_number(test.get("lift_at_capacity"))
    if precision is None or lift is None:
        return CheckResult("not_evaluable", "test precision/lift at capacity missing from metrics.json")
    ok = precision >= th.min_precision_at_capacity and lift >= th.min_lift_at_capacity
    return CheckResult("pass" if ok else "fail", f"precision at capacity {precision:.3f} (minimum "
                       f"{th.min_precision_at_capacity:.3f}), lift {lift:.2f} (minimum {th.min_lift_at_capacity:.2f})")


def check_calibration(ev: GateEvidence, th: Thresholds) -> CheckResult:
    test = metrics_of_test_year(ev)
    slope, oe = as_number(test.get("calibration_slope")), as_number(test.get("oe_ratio"))
    if slope is None or oe is None:
        return CheckResult("not_evaluable", "test calibration_slope/oe_ratio missing from metrics.json")
    (s_lo, s_hi), (o_lo, o_hi) = th.calibration_slope_range, th.oe_ratio_range
    ok = s_lo <= slope <= s_hi and o_lo <= oe <= o_hi
    return CheckResult("pass" if ok else "fail", f"calibration slope {slope:.3f} (range {s_lo}-{s_hi}), "
                       f"O/E {oe:.3f} (range {o_lo}-{o_hi})")


def check_beats_rule_score(ev: GateEvidence, th: Thresholds) -> CheckResult:
    model = as_number(metrics_of_test_year(ev).get("precision_at_capacity"))
    rule = as_number(((ev.metrics.get("baselines") or {}).get("rule") or {}).get("precision_at_capacity"))
    if model is None or rule is None:
        return CheckResult("not_evaluable", "model or rule-score precision at capacity missing")
    gain = model - rule
    ok = gain >= th.min_precision_gain_over_rule
    return CheckResult("pass" if ok else "fail", f"precision at capacity {model:.3f} vs rule score {rule:.3f}: "
                       f"gain {gain:+.3f} (minimum {th.min_precision_gain_over_rule:+.3f})")
