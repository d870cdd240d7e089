"""The card's tables: overall results beside the baselines, results by group, link rates by group.

Small groups are hidden by one rule, :func:`suppressed_groups`, in every table here and in every chart
(``ethics.card.plots``); :func:`describe_suppression` states that rule on the card.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel

METRIC_LABELS = {
    "auc": "AUROC", "average_precision": "Average precision", "brier": "Brier score", "ece": "ECE",
    "oe_ratio": "Observed / expected", "calibration_slope": "Calibration slope",
    "precision_at_capacity": "Precision at capacity", "recall_at_capacity": "Recall at capacity",
    "lift_at_capacity": "Lift at capacity", "prevalence": "Prevalence", "n": "n",
    # judged against the synthetic generator's own probabilities (no draw of the outcome decides these)
    "generator.expected_precision_at_capacity": "Expected precision at capacity (generator probability)",
    "generator.calibration_slope": "Calibration slope against the generator probability",
    "generator.mean_ratio": "Mean predicted / mean generator probability",
    # the generator's list needs a factor no record holds; ranked without it, the list asks only what records show
    "generator.expected_precision_to_state_ranked":
        "Share of the best list the records allow",
}
BASELINE_LABELS = {"generator": "generator probability (synthetic only)"}
GROUP_COLUMNS = ("n", "prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc", "oe_ratio")
SUPPRESSED = "suppressed"


class Table(BaseModel):
    columns: list[str]
    rows: list[list[str]]


class AttributeResults(BaseModel):
    """One fairness attribute: the results of its groups that are shown, and the names of those suppressed."""

    attribute: str
    table: Table
    suppressed: list[str]


def format_value(value: Any, digits: int = 3) -> str:
    """A number for people: integers with separators, floats to ``digits`` places, CIs as ranges."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"{format_value(value[0], digits)}-{format_value(value[1], digits)}"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if isinstance(value, bool | str):
        return str(value)
    if float(value).is_integer() and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{float(value):.{digits}f}"


def _with_generator_figures(block: dict[str, Any]) -> dict[str, Any]:
    """``block`` with its ``against_generator`` figures as ``generator.<key>`` entries."""
    against = block.get("against_generator") or {}
    return {**block, **{f"generator.{k}": v for k, v in against.items()}}


def evaluation_table(metrics: dict[str, Any]) -> Table:
    """Test-year metrics of the model beside the logistic, rule-score and generator-probability baselines.

    Figures with a bootstrap interval show it in brackets (95%, percentile; metrics.json ``bootstrap``).
    """
    blocks = {"model (test year)": _with_generator_figures(metrics.get("test") or {}),
              "model (validation year)": _with_generator_figures(metrics.get("validation") or {})}
    for name, block in (metrics.get("baselines") or {}).items():
        blocks[BASELINE_LABELS.get(name, f"{name} baseline")] = _with_generator_figures(block)
    keys = [k for k in METRIC_LABELS if any(k in b for b in blocks.values())]
    rows = []
    for name, block in blocks.items():
        if block:
            cells = [format_value(block.get(k)) + (f" ({format_value(block.get(k + '_ci'))})"
                                                   if block.get(k + "_ci") else "") for k in keys]
            rows.append([name, *cells])
    return Table(columns=["", *[METRIC_LABELS[k] for k in keys]], rows=rows)


GROUP_LABELS = {"n": "children", "prevalence": "had the outcome", "selection_rate": "flagged",
                "tpr": "of those with the outcome: flagged (TPR)", "fnr": "of those with the outcome: missed (FNR)",
                "fpr": "of those without: flagged (FPR)", "ppv": "of those flagged: had the outcome (PPV)",
                "auc": "AUROC", "oe_ratio": "observed / expected"}
RATE_COLUMNS = ("prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv")


def suppressed_groups(group_metrics: pd.DataFrame, min_group_size: int) -> pd.Series:
    """True for each group whose figures the card hides: flagged ``suppressed`` by the evaluation, or n under
    ``min_group_size``. Every table and chart on the card uses this one rule.

    Args:
        group_metrics: ``attribute, group, n`` and optionally ``suppressed`` (group_metrics.csv).
    """
    flagged = (group_metrics["suppressed"].astype("str").str.lower().isin(["true", "1"])
               if "suppressed" in group_metrics else pd.Series(False, index=group_metrics.index))
    n = pd.to_numeric(group_metrics["n"], errors="coerce") if "n" in group_metrics else pd.Series(float("nan"))
    return flagged | n.isna() | (n < min_group_size)


def describe_suppression(min_group_size: int, people: str = "children") -> str:
    """The suppression rule in words, as the card states it once for every table and chart."""
    return (f"Groups of fewer than {min_group_size:,} {people}, or with too few {people} with the outcome to "
            "report safely, are suppressed: no figure for them appears in any table or chart on this card "
            f"(their size shows as \"< {min_group_size:,}\"). The same rule applies to link rates, counted "
            "in records.")


def format_group_value(column: str, value: Any) -> str:
    """Rates as percentages (a share of children), other figures as :func:`format_value`."""
    number = pd.to_numeric(value, errors="coerce")
    if column in RATE_COLUMNS and not pd.isna(number):
        return f"{100 * float(number):.1f}%"
    return format_value(value, 2 if column in ("auc", "oe_ratio") else 3)


def disaggregated_table(group_metrics: pd.DataFrame, min_group_size: int, people: str = "children") -> Table:
    """Per-group results; groups that :func:`suppressed_groups` hides show no figures at all.

    Args:
        group_metrics: ``attribute, group, n, suppressed`` and rate columns of group_metrics.csv.
        people: the heading of the group-size column (the population's plural).
    """
    columns = [c for c in GROUP_COLUMNS if c in group_metrics]
    hidden = suppressed_groups(group_metrics, min_group_size)
    rows = []
    for rec, hide in zip(group_metrics.to_dict("records"), hidden, strict=True):
        cells = [f"< {min_group_size:,}" if c == "n" else SUPPRESSED for c in columns] if hide else [
            format_group_value(c, rec.get(c)) for c in columns]
        rows.append([str(rec.get("attribute")), str(rec.get("group")), *cells])
    labels = {**GROUP_LABELS, "n": people}
    return Table(columns=["attribute", "group", *[labels[c] for c in columns]], rows=rows)


def attribute_results(group_metrics: pd.DataFrame, min_group_size: int, people: str = "children"
                      ) -> list[AttributeResults]:
    """:func:`disaggregated_table` split by attribute (in group_metrics.csv's order): shown groups' rows, and
    the names of the groups :func:`suppressed_groups` hides."""
    table = disaggregated_table(group_metrics, min_group_size, people)
    hidden = suppressed_groups(group_metrics, min_group_size).tolist()
    out = []
    for attribute in dict.fromkeys(row[0] for row in table.rows):
        picked = [i for i, row in enumerate(table.rows) if row[0] == attribute]
        out.append(AttributeResults(
            attribute=attribute,
            table=Table(columns=table.columns[1:], rows=[table.rows[i][1:] for i in picked if not hidden[i]]),
            suppressed=[table.rows[i][1] for i in picked if hidden[i]]))
    return out


def linkage_table(linkage: dict[str, Any] | None, min_group_size: int) -> Table:
    """Link rates by direction and group (groups under ``min_group_size`` records suppressed)."""
    rows = []
    for direction, block in ((linkage or {}).get("link_rates") or {}).items():
        name = direction.replace("_to_", " to ").replace("_", " ")
        rows.append([name, "all records", format_group_value("prevalence", block.get("overall")),
                     format_value(block.get("records"))])
        for attribute, groups in (block.get("by_group") or {}).items():
            for group, g in groups.items():
                small = g.get("records", 0) < min_group_size
                rows.append([name, f"{attribute.replace('_', ' ')}: {group}",
                             SUPPRESSED if small else format_group_value("prevalence", g.get("rate")),
                             f"< {min_group_size:,}" if small else format_value(g.get("records"))])
    return Table(columns=["records of", "group", "linked", "records"], rows=rows)
