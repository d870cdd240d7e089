"""The card's backtest section: the test year as a model trained like the live list would have scored it.

Read from ``metrics.json`` ``backtest`` (``models.backtest``, ``models.evaluation.evaluate_backtest``).
"""

from __future__ import annotations

from typing import Any

from ethics.card.tables import (
    BASELINE_LABELS,
    METRIC_LABELS,
    AttributeResults,
    Table,
    _with_generator_figures,
    attribute_results,
    format_value,
)
from ethics.gate_evidence import backtest_group_metrics

BACKTEST_METRICS = ("auc", "precision_at_capacity", "recall_at_capacity", "lift_at_capacity", "oe_ratio",
                    "calibration_slope", "generator.expected_precision_at_capacity", "generator.calibration_slope",
                    "generator.mean_ratio", "generator.expected_precision_to_state_ranked")


def _years(years: list[int] | None) -> str:
    years = sorted(years or [])
    if not years:
        return "none"
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def describe_backtest(block: dict[str, Any] | None) -> str:
    """What the backtest did and whether the gate judges it, in plain words."""
    if not block:
        return "Not measured: this release's evaluation predates the deployment-faithful backtest."
    p = block.get("protocol") or {}
    gap, test = p.get("gap_years"), p.get("test_year")
    years = f"{gap} year{'' if gap == 1 else 's'}"
    live = (f"The {p.get('live_score_year')} list can only learn from children whose outcomes are known by then: "
            f"the latest such cohort is {p.get('live_latest_matured_year')}, {years} earlier.")
    if not block.get("test"):
        return f"{live} The backtest could not be made: {block.get('reason', '-')}. The gate cannot pass it."
    how = (f"To test the list as it will be used, the {test} cohort was scored by a model trained only on the cohorts "
           f"whose outcomes were known {years} before ({_years(p.get('train_years'))}) and calibrated on "
           f"{p.get('calibration_year')}, the latest of them.")
    if not block.get("differs_from_standard"):
        return f"{live} {how} These are the years of the standard split, so its figures are the test year's own."
    return (f"{live} {how} The standard split trains on later cohorts whose outcomes were not yet known on the "
            f"test index date, so the gate judges AUROC, precision, lift, the gain over the rule and calibration "
            f"on this backtest.")


def _interval(ci: list | None) -> str:
    return f" ({format_value(ci)})" if ci and all(v is not None for v in ci) else ""


def backtest_table(block: dict[str, Any] | None) -> Table:
    """The backtest's figures for the model and its baselines (95% percentile intervals in brackets)."""
    if not block or not block.get("test"):
        return Table(columns=[], rows=[])
    blocks = {"model (backtest)": _with_generator_figures(block["test"])}
    for name, baseline in (block.get("baselines") or {}).items():
        blocks[BASELINE_LABELS.get(name, f"{name} baseline")] = _with_generator_figures(baseline)
    keys = [k for k in BACKTEST_METRICS if any(k in b for b in blocks.values())]
    rows = [[name, *[format_value(b.get(k)) + _interval(b.get(k + "_ci")) for k in keys]] for name, b in blocks.items()]
    return Table(columns=["", *[METRIC_LABELS[k] for k in keys]], rows=rows)


def backtest_fairness(block: dict[str, Any] | None, min_group_size: int) -> list[AttributeResults]:
    """Results by group as the backtest scored the test year (metrics.json ``backtest.group_metrics``), shown
    where the backtest differs from the standard split; the same suppression as the standard tables."""
    frame = backtest_group_metrics({"backtest": block}) if block else None
    return [] if frame is None else attribute_results(frame, min_group_size)
