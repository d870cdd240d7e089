"""Automatic governance checks: evaluation outputs against the pre-registered thresholds.

Each check is ``check(evidence, thresholds) -> CheckResult``. A result is ``pass``, ``fail`` or
``not_evaluable`` (an input is missing); anything but ``pass`` blocks the gate. The evidence
string says what was compared, with the numbers, so a reviewer can see why without re-running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from ethics.checklist import Thresholds

Status = Literal["pass", "fail", "not_evaluable"]
INCOMPLETE_MARK = "TO COMPLETE"
CONTEXT_REQUIRED = ("owner", "purpose", "intended_uses", "out_of_scope_uses", "label_meaning",
                    "human_review", "challenge_route", "contact")
RATE_COLUMNS = ("prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc", "oe_ratio", "brier")
OVERALL_ATTRIBUTES = ("overall", "all")


@dataclass(frozen=True)
class CheckResult:
    status: Status
    evidence: str


@dataclass(frozen=True)
class GateEvidence:
    """Everything the auto checks read (loaded by the CLI from the contract files).

    Attributes:
        metrics: ``reports/<model>/metrics.json``.
        group_metrics: ``reports/<model>/group_metrics.csv`` (``attribute, group, n, fnr, oe_ratio,
            suppressed`` and the other rate columns).
        run: ``data/models/<model>/run.json`` (``feature_columns``, ``thresholds_sha256``, ...).
        thresholds_sha256: hash of the thresholds file as it is now.
        split_years: ``split, index_year`` pairs from ``scores.parquet``.
        linkage: ``reports/linkage.json`` or None.
        features_report: ``reports/<model>/features.json`` or None.
        fairness_features: names the feature registry marks fairness-only or never-an-input.
        context: the per-model context YAML written by people.
    """

    metrics: dict[str, Any]
    group_metrics: pd.DataFrame
    run: dict[str, Any]
    thresholds_sha256: str
    split_years: pd.DataFrame
    linkage: dict[str, Any] | None = None
    features_report: dict[str, Any] | None = None
    fairness_features: frozenset[str] = frozenset()
    context: dict[str, Any] = field(default_factory=dict)


def _test(ev: GateEvidence) -> dict[str, Any]:
    return ev.metrics.get("test") or {}


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(out) else out


def check_auc_lower_ci(ev: GateEvidence, th: Thresholds) -> CheckResult:
    ci = _test(ev).get("auc_ci") or []
    lower = _num(ci[0]) if len(ci) == 2 else None
    if lower is None:
        return CheckResult("not_evaluable", "test auc_ci missing from metrics.json")
    ok = lower >= th.min_auc_lower_ci
    return CheckResult("pass" if ok else "fail", f"test AUROC 95% CI lower bound {lower:.3f} vs minimum "
                       f"{th.min_auc_lower_ci:.3f}")


def check_precision_at_capacity(ev: GateEvidence, th: Thresholds) -> CheckResult:
    precision, lift = _num(_test(ev).get("precision_at_capacity")), _num(_test(ev).get("lift_at_capacity"))
    if precision is None or lift is None:
        return CheckResult("not_evaluable", "test precision/lift at capacity missing from metrics.json")
    ok = precision >= th.min_precision_at_capacity and lift >= th.min_lift_at_capacity
    return CheckResult("pass" if ok else "fail", f"precision at capacity {precision:.3f} (minimum "
                       f"{th.min_precision_at_capacity:.3f}), lift {lift:.2f} (minimum {th.min_lift_at_capacity:.2f})")


def check_calibration(ev: GateEvidence, th: Thresholds) -> CheckResult:
    slope, oe = _num(_test(ev).get("calibration_slope")), _num(_test(ev).get("oe_ratio"))
    if slope is None or oe is None:
        return CheckResult("not_evaluable", "test calibration_slope/oe_ratio missing from metrics.json")
    (s_lo, s_hi), (o_lo, o_hi) = th.calibration_slope_range, th.oe_ratio_range
    ok = s_lo <= slope <= s_hi and o_lo <= oe <= o_hi
    return CheckResult("pass" if ok else "fail", f"calibration slope {slope:.3f} (range {s_lo}-{s_hi}), "
                       f"O/E {oe:.3f} (range {o_lo}-{o_hi})")


def check_beats_rule_score(ev: GateEvidence, th: Thresholds) -> CheckResult:
    model = _num(_test(ev).get("precision_at_capacity"))
    rule = _num(((ev.metrics.get("baselines") or {}).get("rule") or {}).get("precision_at_capacity"))
    if model is None or rule is None:
        return CheckResult("not_evaluable", "model or rule-score precision at capacity missing")
    gain = model - rule
    ok = gain >= th.min_precision_gain_over_rule
    return CheckResult("pass" if ok else "fail", f"precision at capacity {model:.3f} vs rule score {rule:.3f}: "
                       f"gain {gain:+.3f} (minimum {th.min_precision_gain_over_rule:+.3f})")


def comparable_groups(group_metrics: pd.DataFrame, column: str, min_group_size: int) -> pd.DataFrame:
    """Rows of ``group_metrics`` fit to compare on ``column``: not suppressed, n >= minimum, value present.

    Args:
        group_metrics: ``attribute, group, n, suppressed`` and ``column``.

    Returns:
        ``attribute, group, n, <column>`` (float), overall rows dropped.
    """
    gm = group_metrics
    suppressed = gm["suppressed"].astype("str").str.lower().isin(["true", "1"]) if "suppressed" in gm else False
    values = pd.to_numeric(gm[column], errors="coerce")
    keep = (~suppressed) & (pd.to_numeric(gm["n"], errors="coerce") >= min_group_size) & values.notna()
    keep &= ~gm["attribute"].astype("str").str.lower().isin(OVERALL_ATTRIBUTES)
    return gm.loc[keep, ["attribute", "group", "n"]].assign(**{column: values[keep]})


def largest_gap(group_metrics: pd.DataFrame, column: str, min_group_size: int) -> tuple[float, str] | None:
    """Largest max-minus-min of ``column`` between comparable groups of one attribute, and that attribute."""
    rows = comparable_groups(group_metrics, column, min_group_size)
    if rows.empty:
        return None
    spread = rows.groupby("attribute")[column].agg(lambda s: s.max() - s.min())
    return float(spread.max()), str(spread.idxmax())


def _gap_check(ev: GateEvidence, column: str, limit: float, min_size: int, label: str) -> CheckResult:
    if column not in ev.group_metrics:
        return CheckResult("not_evaluable", f"group_metrics.csv has no {column} column")
    gap = largest_gap(ev.group_metrics, column, min_size)
    if gap is None:
        return CheckResult("not_evaluable", f"no groups of at least {min_size} to compare {label}")
    value, attribute = gap
    return CheckResult("pass" if value <= limit else "fail",
                       f"largest {label} gap {value:.3f} (by {attribute}) vs maximum {limit:.3f}; "
                       f"groups n >= {min_size}")


def check_subgroup_fnr_gap(ev: GateEvidence, th: Thresholds) -> CheckResult:
    return _gap_check(ev, "fnr", th.max_fnr_gap, th.min_group_size, "false-negative-rate")


def check_subgroup_oe_gap(ev: GateEvidence, th: Thresholds) -> CheckResult:
    return _gap_check(ev, "oe_ratio", th.max_oe_gap, th.min_group_size, "observed/expected")


def check_small_cell_suppression(ev: GateEvidence, th: Thresholds) -> CheckResult:
    gm = ev.group_metrics
    if gm.empty or "n" not in gm:
        return CheckResult("not_evaluable", "group_metrics.csv is empty")
    small = gm[pd.to_numeric(gm["n"], errors="coerce") < th.min_group_size]
    flagged = small["suppressed"].astype("str").str.lower().isin(["true", "1"]) if "suppressed" in small else False
    rates = [c for c in RATE_COLUMNS if c in small]
    shown = small[rates].apply(pd.to_numeric, errors="coerce").notna().any(axis=1) if rates else False
    leaks = int((~flagged | shown).sum())
    evidence = f"{len(small)} group rows below {th.min_group_size}; {leaks} not suppressed"
    return CheckResult("pass" if leaks == 0 else "fail", evidence)


def check_linkage_quality(ev: GateEvidence, th: Thresholds) -> CheckResult:
    truth = (ev.linkage or {}).get("truth") or (ev.linkage or {}).get("clerical_review")
    if not truth:
        return CheckResult("not_evaluable", "no ground truth or clerical-review result in reports/linkage.json")
    precision, recall = _num(truth.get("precision")), _num(truth.get("recall"))
    if precision is None or recall is None:
        return CheckResult("not_evaluable", "linkage precision/recall missing")
    ok = precision >= th.min_linkage_precision and recall >= th.min_linkage_recall
    return CheckResult("pass" if ok else "fail", f"pairwise precision {precision:.4f} (minimum "
                       f"{th.min_linkage_precision}), recall {recall:.4f} (minimum {th.min_linkage_recall})")


def link_rate_gaps(linkage: dict[str, Any], directions: list[str], attributes: list[str],
                   min_group_size: int) -> dict[str, float]:
    """Max-minus-min link rate per ``direction/attribute`` over groups with at least ``min_group_size`` records."""
    gaps: dict[str, float] = {}
    for direction in directions:
        by_group = ((linkage.get("link_rates") or {}).get(direction) or {}).get("by_group") or {}
        for attribute in attributes:
            rates = [g["rate"] for g in (by_group.get(attribute) or {}).values()
                     if g.get("records", 0) >= min_group_size and g.get("rate") is not None]
            if len(rates) >= 2:
                gaps[f"{direction}/{attribute}"] = max(rates) - min(rates)
    return gaps


def check_link_rate_gap(ev: GateEvidence, th: Thresholds) -> CheckResult:
    if not ev.linkage:
        return CheckResult("not_evaluable", "reports/linkage.json missing")
    gaps = link_rate_gaps(ev.linkage, th.link_rate_directions, th.link_rate_attributes, th.min_group_size)
    if not gaps:
        return CheckResult("not_evaluable", "no link rates by group to compare")
    worst = max(gaps, key=gaps.get)
    ok = gaps[worst] <= th.max_link_rate_gap
    return CheckResult("pass" if ok else "fail",
                       f"largest link-rate gap {gaps[worst]:.3f} ({worst}) vs maximum {th.max_link_rate_gap:.3f}")


def check_out_of_time_validation(ev: GateEvidence, th: Thresholds) -> CheckResult:
    years = ev.split_years
    if years.empty or "test" not in set(years["split"]):
        return CheckResult("not_evaluable", "no test rows in scores.parquet")
    test = years.loc[years["split"] == "test", "index_year"]
    fitted = years.loc[years["split"].isin(["train", "validation"]), "index_year"]
    if fitted.empty:
        return CheckResult("not_evaluable", "no train/validation rows in scores.parquet")
    ok = int(test.min()) > int(fitted.max())
    return CheckResult("pass" if ok else "fail", f"test index years {sorted(set(test.astype(int)))} vs latest "
                       f"train/validation year {int(fitted.max())}")


def event_date_pairs(report: dict[str, Any]) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """``(source, index_date, max_event_date)`` from features.json ``max_event_date_before_index``.

    Accepts ``{source: {index_date: max_date}}`` and ``{source: [{"index_date", "max_event_date"}]}``.
    """
    pairs = []
    for source, value in (report.get("max_event_date_before_index") or {}).items():
        if isinstance(value, dict) and "all_strictly_before_index" in value:
            continue  # the features stage's own per-source proof: see source_leakage_flags
        items = value.items() if isinstance(value, dict) else (
            (row.get("index_date"), row.get("max_event_date")) for row in value if isinstance(row, dict))
        for index_date, event_date in items:
            if index_date is None or event_date is None:
                continue
            pairs.append((source, pd.Timestamp(index_date), pd.Timestamp(event_date)))
    return pairs


def source_leakage_flags(report: dict[str, Any]) -> dict[str, bool]:
    """``{source: all events strictly before the index}`` from the features stage's own proof, when present."""
    return {
        source: bool(value["all_strictly_before_index"])
        for source, value in (report.get("max_event_date_before_index") or {}).items()
        if isinstance(value, dict) and "all_strictly_before_index" in value
    }


def check_leakage_guard(ev: GateEvidence, th: Thresholds) -> CheckResult:
    flags = source_leakage_flags(ev.features_report or {})
    if flags:
        late = sorted(s for s, ok in flags.items() if not ok)
        evidence = (f"{len(flags)} sources checked at every index date; "
                    f"sources with events on/after index: {late or 'none'}")
        return CheckResult("fail" if late else "pass", evidence)
    pairs = event_date_pairs(ev.features_report or {})
    if not pairs:
        return CheckResult("not_evaluable", "features.json has no max_event_date_before_index per index date")
    late = sorted({s for s, index_date, event in pairs if event >= index_date})
    evidence = f"{len(pairs)} source x index-date maxima checked; sources with events on/after index: {late or 'none'}"
    return CheckResult("fail" if late else "pass", evidence)


def check_protected_attributes_not_inputs(ev: GateEvidence, th: Thresholds) -> CheckResult:
    columns = ev.run.get("feature_columns")
    if not columns:
        return CheckResult("not_evaluable", "run.json lists no feature_columns")
    used = sorted(c for c in columns if c.startswith("fair_") or c in ev.fairness_features)
    exception = str(ev.context.get("fairness_input_exception") or "").strip()
    if used and exception and INCOMPLETE_MARK not in exception:
        return CheckResult("pass", f"{len(used)} fairness attribute(s) used as inputs under a recorded exception: "
                           f"{exception}")
    return CheckResult("fail" if used else "pass", f"{len(columns)} inputs; fairness attributes among them: "
                       f"{used or 'none'}")


def check_thresholds_unchanged(ev: GateEvidence, th: Thresholds) -> CheckResult:
    recorded = ev.run.get("thresholds_sha256")
    if not recorded:
        return CheckResult("not_evaluable", "run.json records no thresholds_sha256")
    if recorded != ev.thresholds_sha256:
        return CheckResult("fail", "thresholds changed after results were seen (hash at training "
                           f"{recorded[:12]}, now {ev.thresholds_sha256[:12]})")
    return CheckResult("pass", f"thresholds hash {recorded[:12]} unchanged since training")


def check_documentation_complete(ev: GateEvidence, th: Thresholds) -> CheckResult:
    missing = [k for k in CONTEXT_REQUIRED if not ev.context.get(k)]
    incomplete = [k for k, v in ev.context.items() if INCOMPLETE_MARK in str(v)]
    if missing or incomplete:
        return CheckResult("fail", f"context missing {missing or 'nothing'}; marked {INCOMPLETE_MARK}: "
                           f"{incomplete or 'nothing'}")
    return CheckResult("pass", f"all {len(CONTEXT_REQUIRED)} required context fields filled")


CHECKS: dict[str, Callable[[GateEvidence, Thresholds], CheckResult]] = {
    "auc_lower_ci": check_auc_lower_ci,
    "precision_at_capacity": check_precision_at_capacity,
    "calibration": check_calibration,
    "beats_rule_score": check_beats_rule_score,
    "subgroup_fnr_gap": check_subgroup_fnr_gap,
    "subgroup_oe_gap": check_subgroup_oe_gap,
    "small_cell_suppression": check_small_cell_suppression,
    "linkage_quality": check_linkage_quality,
    "link_rate_gap": check_link_rate_gap,
    "out_of_time_validation": check_out_of_time_validation,
    "leakage_guard": check_leakage_guard,
    "protected_attributes_not_inputs": check_protected_attributes_not_inputs,
    "thresholds_unchanged": check_thresholds_unchanged,
    "documentation_complete": check_documentation_complete,
}
