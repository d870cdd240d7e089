"""Auto checks across groups: error and calibration gaps, small-cell suppression, linkage quality and bias.

Groups smaller than ``min_group_size`` (or flagged ``suppressed``) are never compared, and must show
no figures. Each check is ``check(evidence, thresholds) -> CheckResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ethics.gate_evidence import CheckResult, GateEvidence, as_number, judged_group_tables
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


def on_every_table(ev: GateEvidence, judge: Callable[[pd.DataFrame], CheckResult]) -> CheckResult:
    """``judge`` applied to each group table the gate judges (:func:`ethics.gate_evidence.judged_group_tables`).

    With the standard test year alone, its result as it is. With the backtest too, a failure of either fails
    (the live list is the backtest's; the standard year is the better-powered view of the same model), a pass
    needs one pass and no failure, and the evidence names both.
    """
    results = [(name, judge(table)) for name, table in judged_group_tables(ev)]
    if len(results) == 1:
        return results[0][1]
    statuses = {r.status for _, r in results}
    status = "fail" if "fail" in statuses else "pass" if "pass" in statuses else "not_evaluable"
    return CheckResult(status, "; ".join(f"{name}: {r.evidence}" for name, r in results))


def _gap_check(ev: GateEvidence, column: str, limit: float, min_size: int, label: str) -> CheckResult:
    return on_every_table(ev, lambda table: _gap_result(table, column, limit, min_size, label))


def _gap_result(table: pd.DataFrame, column: str, limit: float, min_size: int, label: str) -> CheckResult:
    if column not in table:
        return CheckResult("not_evaluable", f"group_metrics.csv has no {column} column")
    gap = largest_gap(table, column, min_size)
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


def _oe_text(row: pd.Series) -> str:
    value = {k: as_number(row.get(k)) for k in ("oe_ratio", "oe_ratio_ci_low", "oe_ratio_ci_high", "ratio_oe_ratio",
                                                 "ratio_oe_ratio_ci_low", "ratio_oe_ratio_ci_high")}
    own = (f" (95% CI {value['oe_ratio_ci_low']:.2f}-{value['oe_ratio_ci_high']:.2f})"
           if value["oe_ratio_ci_low"] is not None and value["oe_ratio_ci_high"] is not None else "")
    group = f"{str(row['attribute']).removeprefix('fair_')} {row['group']}"
    return (f"{group}: observed/expected {value['oe_ratio']:.2f}{own}, {value['ratio_oe_ratio']:.2f}x everyone's "
            f"(95% CI {value['ratio_oe_ratio_ci_low']:.2f}-{value['ratio_oe_ratio_ci_high']:.2f})")


def check_subgroup_calibration(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """Fail when one group's risks are miscalibrated against everyone else's, beyond the noise.

    A model can be calibrated on average and still under-rate one group: the outcome is commoner for them
    than for others with the same records (their circumstances leave no trace in the inputs, or their
    outcome is recorded differently). Each group of ``min_group_size``+ children (not suppressed) with
    ``min_outcomes_per_evaluation_year``+ outcomes is judged on its
    observed/expected ratio divided by everyone's, both from the same bootstrap replicates
    (group_metrics.csv ``ratio_oe_ratio`` and its interval): the check fails when that whole 95% interval
    lies outside ``subgroup_oe_ratio_range``. Everyone's own calibration is the calibration check's.
    Judged on the standard test year and, where it differs, the backtest (:func:`on_every_table`).
    """
    return on_every_table(ev, lambda table: _subgroup_calibration(table, th))


def _subgroup_calibration(table: pd.DataFrame, th: Thresholds) -> CheckResult:
    needed = ("oe_ratio", "ratio_oe_ratio", "ratio_oe_ratio_ci_low", "ratio_oe_ratio_ci_high")
    if table is None or any(c not in table for c in needed):
        return CheckResult("not_evaluable", "group_metrics.csv has no observed/expected interval per group")
    rows = comparable_groups(table, "ratio_oe_ratio", th.min_group_size)
    # a group with a handful of outcomes gives a percentile interval that is narrow only by accident (a group
    # holding 5 of a year's 8 outcomes fixes its ratio to everyone's): judged from the evaluation-year minimum
    enough = th.min_outcomes_per_evaluation_year
    positives = pd.to_numeric(table.loc[rows.index, "positives"], errors="coerce") \
        if "positives" in table else pd.Series(float("nan"), index=rows.index)
    rows = rows[positives >= enough]
    if rows.empty:
        return CheckResult("not_evaluable", f"no group of at least {th.min_group_size} people and {enough} "
                           "outcomes to judge calibration in")
    full = table.loc[rows.index]
    low, high = (pd.to_numeric(full[c], errors="coerce") for c in ("ratio_oe_ratio_ci_low", "ratio_oe_ratio_ci_high"))
    lo, hi = th.subgroup_oe_ratio_range
    under, over = low > hi, high < lo  # under-rated: more outcomes than predicted; over-rated: fewer
    # the worst group: the one whose interval lies furthest outside the range (on the log scale)
    distance = pd.concat([np.log(low / hi).where(under), np.log(lo / high).where(over)], axis=1).max(axis=1)
    bounds = f"range {lo:g}-{hi:g}x everyone's; groups n >= {th.min_group_size} with {enough}+ outcomes"
    if distance.notna().any():
        worst = full.loc[distance.idxmax()]
        named = sorted(f"{str(a).removeprefix('fair_')} {g} ({'under' if u else 'over'}-rated)" for a, g, u in
                       full.loc[distance.notna(), ["attribute", "group"]].assign(u=under).itertuples(index=False))
        why = ("the model under-rates their risk: they have the outcome more often than it predicts"
               if bool(under.loc[distance.idxmax()]) else
               "the model over-rates their risk: they have the outcome less often than it predicts")
        return CheckResult("fail", f"{_oe_text(worst)}: the whole interval is outside the {bounds}; {why} "
                           f"(groups outside: {', '.join(named)})")
    ratio = pd.to_numeric(full["ratio_oe_ratio"], errors="coerce")
    furthest = full.loc[np.abs(np.log(ratio)).idxmax()]
    return CheckResult("pass", f"every group's interval reaches the {bounds}; furthest: {_oe_text(furthest)}")


def check_small_cell_suppression(ev: GateEvidence, th: Thresholds) -> CheckResult:
    return on_every_table(ev, lambda table: _small_cells(table, th))


def _small_cells(gm: pd.DataFrame, th: Thresholds) -> CheckResult:
    if gm.empty or "n" not in gm:
        return CheckResult("not_evaluable", "group_metrics.csv is empty")
    small = gm[pd.to_numeric(gm["n"], errors="coerce") < th.min_group_size]
    flagged = small["suppressed"].astype("str").str.lower().isin(["true", "1"]) if "suppressed" in small else False
    rates = [c for c in RATE_COLUMNS if c in small]
    shown = small[rates].apply(pd.to_numeric, errors="coerce").notna().any(axis=1) if rates else False
    leaks = int((~flagged | shown).sum())
    evidence = f"{len(small)} group rows below {th.min_group_size}; {leaks} not suppressed"
    return CheckResult("pass" if leaks == 0 else "fail", evidence)


def worst_group_recall(truth: dict[str, Any], attribute: str, min_pairs: int, only: Iterable[str] | None = None
                       ) -> tuple[str, float] | None:
    """The group of ``attribute`` whose true pairs the linkage found least often (groups of ``min_pairs``+; among
    ``only`` when given, e.g. the adult age bands)."""
    groups = ((truth.get("by_group") or {}).get(attribute) or {})
    recalls = {g: as_number(v.get("recall")) for g, v in groups.items()
               if (only is None or g in only) and (v.get("true_pairs") or 0) >= min_pairs
               and as_number(v.get("recall")) is not None}
    if not recalls:
        return None
    worst = min(recalls, key=recalls.get)
    return worst, recalls[worst]


def check_linkage_quality(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """Precision and recall overall, and recall in every ethnic group: a linkage that misses one group's
    records makes that group's children look lower risk than they are, however good the average."""
    truth = (ev.linkage or {}).get("truth") or (ev.linkage or {}).get("clerical_review")
    if not truth:
        return CheckResult("not_evaluable", "no ground truth or clerical-review result in reports/linkage.json")
    if truth.get("not_evaluable"):  # a clerical review that cannot be used (stale index, a stratum undecided)
        return CheckResult("not_evaluable", f"clerical review: {truth['not_evaluable']}")
    precision, recall = as_number(truth.get("precision")), as_number(truth.get("recall"))
    if precision is None or recall is None:
        return CheckResult("not_evaluable", "linkage precision/recall missing")
    ok = precision >= th.min_linkage_precision and recall >= th.min_linkage_recall
    evidence = (f"pairwise precision {precision:.4f} (minimum {th.min_linkage_precision}), recall {recall:.4f} "
                f"(minimum {th.min_linkage_recall})")
    worst = worst_group_recall(truth, "ethnicity_group", th.min_group_size)
    if worst is not None:
        group, group_recall = worst
        ok = ok and group_recall >= th.min_linkage_recall
        evidence += f"; lowest recall by ethnic group {group_recall:.4f} ({group})"
    return CheckResult("pass" if ok else "fail", evidence)


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
    direction, attribute = worst.split("/", 1)
    lowest = lowest_linked_group(ev.linkage, direction, attribute, th.min_group_size)
    named = f"; lowest: {lowest[0]} {lowest[1]:.3f}" if lowest else ""
    return CheckResult("pass" if ok else "fail", f"largest link-rate gap {gaps[worst]:.3f} ({worst}{named}) "
                       f"vs maximum {th.max_link_rate_gap:.3f}")


def lowest_linked_group(linkage: dict[str, Any], direction: str, attribute: str, min_group_size: int
                        ) -> tuple[str, float] | None:
    """The group of ``attribute`` whose records link least often in ``direction`` (groups of ``min_group_size``+)."""
    groups = (((linkage.get("link_rates") or {}).get(direction) or {}).get("by_group") or {}).get(attribute) or {}
    rates = {g: v["rate"] for g, v in groups.items()
             if v.get("records", 0) >= min_group_size and v.get("rate") is not None}
    if not rates:
        return None
    group = min(rates, key=rates.get)
    return group, float(rates[group])


def check_label_completeness(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """Fail when one group's outcomes go unrecorded far more often than everyone else's.

    NCCIS records a young person it has lost as "not known", and a NEET label counts them as not NEET: a
    group the tracking service loses more often looks lower risk than it is, and no subgroup error rate can
    show it (the missed outcomes are missing from the truth the rates are judged on). Judged on the
    features report's ``outcome_not_known_by_group``: each group of ``min_group_size``+ labelled rows
    against the rest of its attribute; both the ratio and the gap must be exceeded to fail.
    """
    report = (ev.features_report or {}).get("outcome_not_known_by_group")
    if report is None:
        return CheckResult("pass", "the outcome has no 'not known' status (every label is recorded or not)")
    worst = None
    for attribute, groups in (report.get("by_group") or {}).items():
        total_n = sum(int(v.get("n") or 0) for v in groups.values())
        total_of = sum(int(v.get("of") or 0) for v in groups.values())
        for group, v in groups.items():
            n, of = int(v.get("n") or 0), int(v.get("of") or 0)
            rest_of = total_of - of
            if of < th.min_group_size or rest_of < th.min_group_size:
                continue
            rate, rest = n / of, (total_n - n) / rest_of
            gap, ratio = rate - rest, (rate / rest if rest > 0 else float("inf"))
            if worst is None or gap > worst[2]:
                worst = (f"{attribute.removeprefix('fair_')} {group}", rate, gap, ratio, rest)
    if worst is None:
        return CheckResult("not_evaluable", "no group large enough to compare 'not known' outcomes")
    name, rate, gap, ratio, rest = worst
    evidence = (f"largest share of outcomes recorded only as 'not known': {name} {rate:.1%} against {rest:.1%} for "
                f"everyone else ({ratio:.1f}x, +{gap:.1%}; maximum {th.max_label_missing_ratio:g}x and "
                f"+{th.max_label_missing_gap:.0%})")
    failed = ratio > th.max_label_missing_ratio and gap > th.max_label_missing_gap
    return CheckResult("fail" if failed else "pass", evidence + (
        ": their outcomes go unrecorded, so the model under-rates them" if failed else ""))
