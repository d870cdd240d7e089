"""Auto checks on how well the model performs in the test year, against the pre-registered thresholds.

Each is ``check(evidence, thresholds) -> CheckResult``; the evidence string says what was compared,
with the numbers and their 95% bootstrap intervals, so a reviewer can see why without re-running.

Where a point estimate would decide on noise (a list of 50 children: one child moves precision by
0.02), the check compares a bound of the percentile bootstrap interval (``metrics.json``: ``*_ci``):

- AUROC, precision and lift at capacity: the model must *show* it is good enough, so the LOWER bound
  must reach the minimum (a model that might be below it is not released on the strength of one draw).
- Gain over the council's rule: the LOWER bound of the paired bootstrap difference (model minus rule on
  the same resampled rows) must reach the minimum gain.
- Calibration slope and O/E: the point estimate must lie inside the range (an interval inside a range
  this narrow is out of reach for a test year of a few dozen outcomes), and the check fails outright
  when the whole interval lies outside it; the interval is always shown, and the evidence says when
  the test year cannot confirm calibration (interval reaching outside the range).

A missing interval cannot pass: the check is ``not_evaluable`` unless the point alone already fails.

Which year's figures are judged (:func:`judged_year`): where metrics.json has a deployment-faithful
``backtest`` that differs from the standard split (``models.backtest``: neet18, whose standard training
years mature after the test index date), every check here judges the backtest, the figures the live list
can expect; otherwise the standard test year. A backtest that could not be made is ``not_evaluable``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ethics.gate_evidence import CheckResult, GateEvidence, as_number, metrics_of_test_year
from ethics.thresholds import Thresholds


def judged_year(ev: GateEvidence) -> tuple[Mapping, Mapping, str] | CheckResult:
    """``(LightGBM's block, the baselines, a label for the evidence)`` of the year the checks judge, or a
    ``not_evaluable`` result when metrics.json has a backtest that could not be made."""
    backtest = ev.metrics.get("backtest")
    if backtest is None:  # metrics from before the backtest existed: the standard test year
        return metrics_of_test_year(ev), ev.metrics.get("baselines") or {}, "test"
    if not backtest.get("test"):
        return CheckResult("not_evaluable", "the deployment-faithful backtest could not be made: "
                           f"{backtest.get('reason', 'no backtest figures')}")
    if backtest.get("differs_from_standard"):
        gap = (backtest.get("protocol") or {}).get("gap_years")
        return backtest["test"], backtest.get("baselines") or {}, f"backtest (trained as the live list, gap {gap} y)"
    return metrics_of_test_year(ev), ev.metrics.get("baselines") or {}, "test"


def interval(block: Mapping, key: str) -> tuple[float, float] | None:
    """``block[key]`` as ``(low, high)`` when both ends are numbers, else None."""
    ci = block.get(key) or []
    if len(ci) != 2:
        return None
    low, high = as_number(ci[0]), as_number(ci[1])
    return (low, high) if low is not None and high is not None else None


def _ci_text(ci: tuple[float, float] | None, digits: int) -> str:
    return f"95% CI {ci[0]:.{digits}f}-{ci[1]:.{digits}f}" if ci else "no interval"


def check_auc_lower_ci(ev: GateEvidence, th: Thresholds) -> CheckResult:
    judged = judged_year(ev)
    if isinstance(judged, CheckResult):
        return judged
    block, _, label = judged
    ci = interval(block, "auc_ci")
    if ci is None:
        return CheckResult("not_evaluable", f"{label} auc_ci missing from metrics.json")
    ok = ci[0] >= th.min_auc_lower_ci
    return CheckResult("pass" if ok else "fail", f"{label} AUROC 95% CI lower bound {ci[0]:.3f} vs minimum "
                       f"{th.min_auc_lower_ci:.3f}")


def _lower_bound_check(block: Mapping, key: str, minimum: float, label: str, digits: int) -> tuple[str, str]:
    """``(status, text)`` of one 'lower bound reaches the minimum' comparison."""
    point, ci = as_number(block.get(key)), interval(block, f"{key}_ci")
    if point is None:
        return "not_evaluable", f"{label} missing"
    text = f"{label} {point:.{digits}f} ({_ci_text(ci, digits)}; lower bound must reach {minimum:.{digits}f})"
    if point < minimum:
        return "fail", text
    if ci is None:
        return "not_evaluable", text
    return ("pass" if ci[0] >= minimum else "fail"), text


def _combine(results: list[tuple[str, str]], label: str = "test") -> CheckResult:
    statuses = [status for status, _ in results]
    status = "fail" if "fail" in statuses else "not_evaluable" if "not_evaluable" in statuses else "pass"
    text = "; ".join(text for _, text in results)
    return CheckResult(status, text if label == "test" else f"{label}: {text}")


def check_precision_at_capacity(ev: GateEvidence, th: Thresholds) -> CheckResult:
    judged = judged_year(ev)
    if isinstance(judged, CheckResult):
        return judged
    test, _, label = judged
    return _combine([
        _lower_bound_check(test, "precision_at_capacity", th.min_precision_at_capacity, "precision at capacity", 3),
        _lower_bound_check(test, "lift_at_capacity", th.min_lift_at_capacity, "lift", 2),
    ], label)


def _range_check(block: Mapping, key: str, bounds: tuple[float, float], label: str) -> tuple[str, str]:
    """``(status, text)``: the point inside ``bounds``; fails outright when the whole interval is outside."""
    point, ci = as_number(block.get(key)), interval(block, f"{key}_ci")
    lo, hi = bounds
    if point is None:
        return "not_evaluable", f"{label} missing"
    text = f"{label} {point:.3f} ({_ci_text(ci, 3)}; range {lo}-{hi})"
    if ci is not None and (ci[1] < lo or ci[0] > hi):
        return "fail", text + ": the whole interval is outside the range"
    if not lo <= point <= hi:
        return "fail", text
    if ci is None:
        return "not_evaluable", text
    if ci[0] < lo or ci[1] > hi:
        text += ": inside, but the test year cannot confirm it (the interval reaches outside the range)"
    return "pass", text


def check_calibration(ev: GateEvidence, th: Thresholds) -> CheckResult:
    judged = judged_year(ev)
    if isinstance(judged, CheckResult):
        return judged
    test, _, label = judged
    return _combine([_range_check(test, "calibration_slope", th.calibration_slope_range, "calibration slope"),
                     _range_check(test, "oe_ratio", th.oe_ratio_range, "O/E")], label)


def check_beats_rule_score(ev: GateEvidence, th: Thresholds) -> CheckResult:
    judged = judged_year(ev)
    if isinstance(judged, CheckResult):
        return judged
    test, baselines, label = judged
    model = as_number(test.get("precision_at_capacity"))
    rule = as_number((baselines.get("rule") or {}).get("precision_at_capacity"))
    if model is None or rule is None:
        return CheckResult("not_evaluable", "model or rule-score precision at capacity missing")
    gain_block = test.get("precision_gain_over_rule") or {}
    gain, ci = model - rule, interval(gain_block, "ci")
    minimum = th.min_precision_gain_over_rule
    text = (f"{'' if label == 'test' else label + ': '}precision at capacity {model:.3f} vs rule score {rule:.3f}: "
            f"gain {gain:+.3f} "
            f"(paired bootstrap {_ci_text(ci, 3)}; lower bound must reach {minimum:+.3f})")
    if gain < minimum:
        return CheckResult("fail", text)
    if ci is None:
        return CheckResult("not_evaluable", text)
    return CheckResult("pass" if ci[0] >= minimum else "fail", text)
