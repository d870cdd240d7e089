"""Auto checks across groups: error and calibration gaps, small-cell suppression, linkage quality and bias.

Groups smaller than ``min_group_size`` (or flagged ``suppressed``) are never compared, and must show
no figures. Each check is ``check(evidence, thresholds) -> CheckResult``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ethics.gate_evidence import CheckResult, GateEvidence, as_number
from ethics.thresholds import Thresholds

RATE_COLUMNS = ("prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc", "oe_ratio", "brier")
OVERALL_ATTRIBUTES = ("overall", "all")


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
    precision, recall = as_number(truth.get("precision")), as_number(truth.get("recall"))
    if precision is None or recall is None:
        return CheckResult("not_evaluable", "linkage precision/recall missing")
    ok = precision >= th.min_linkage_precision and recall >= th.min_linkage_recall
    return CheckResult("pass" if ok else "fail", f"pairwise precision {precision:.4f} (minimum "
                       f"{th.min_linkage_precision}), recall {recall:.4f} (minimum {th.min_linkage_recall})")


def link_rate_gaps(linkage: dict[str, Any], directions: list[str] | tuple[str, ...], attributes: list[str],
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
    gaps = link_rate_gaps(ev.linkage, ev.link_rate_directions, th.link_rate_attributes, th.min_group_size)
    if not gaps:
        return CheckResult("not_evaluable", "no link rates by group to compare")
    worst = max(gaps, key=gaps.get)
    ok = gaps[worst] <= th.max_link_rate_gap
    return CheckResult("pass" if ok else "fail",
                       f"largest link-rate gap {gaps[worst]:.3f} ({worst}) vs maximum {th.max_link_rate_gap:.3f}")
