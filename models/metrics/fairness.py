"""Metrics by group (fairlearn ``MetricFrame``) with bootstrap CIs for differences and ratios.

Each group's figures are compared with the whole population's: ``diff_<metric>`` = group -
overall, ``ratio_<metric>`` = group / overall. Their CIs come from one shared set of bootstrap
replicates (the group and the overall value move together in each replicate), computed from counts
of pooled rows (one ``bincount`` per replicate, see ``bootstrap_group_sums``); every attribute reads the
same replicates (``bootstrap_attribute_sums``). Cells with fewer than
``min_n`` rows or ``min_positives`` positives are flagged and blanked before anything is published.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score, roc_auc_score

from models.metrics.group_bootstrap import bootstrap_attribute_sums, column_quantile, rates_from_sums

GROUP_VALUE_COLUMNS = ["n", "positives", "prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc",
                       "oe_ratio", "brier"]
COMPARED = ["prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "oe_ratio", "brier"]
UNKNOWN_GROUP = "Unknown"


def _weighted_count(y_true, y_pred, sample_weight) -> float:
    return float(np.sum(sample_weight))


def _positives(y_true, y_pred, sample_weight) -> float:
    return float(np.sum(np.asarray(sample_weight) * np.asarray(y_true)))


def _prevalence(y_true, y_pred, sample_weight) -> float:
    return _positives(y_true, y_pred, sample_weight) / _weighted_count(y_true, y_pred, sample_weight)


def _safe_rate(metric, y_true, y_pred, sample_weight) -> float:
    """fairlearn's rate, NaN (not a warning) when its denominator class is absent."""
    y = np.asarray(y_true)
    needed = 1 if metric in (true_positive_rate, false_negative_rate) else 0
    present = (np.asarray(sample_weight)[y == needed] > 0).any()
    return float(metric(y_true, y_pred, pos_label=1, sample_weight=sample_weight)) if present else np.nan


# every metric takes the rows' counts as ``sample_weight`` (see ``compress_rows``)
COUNT_METRICS = {
    "n": _weighted_count,
    "positives": _positives,
    "prevalence": _prevalence,
    "selection_rate": partial(selection_rate, pos_label=1),
    "tpr": partial(_safe_rate, true_positive_rate),
    "fnr": partial(_safe_rate, false_negative_rate),
    "fpr": partial(_safe_rate, false_positive_rate),
    "ppv": partial(precision_score, zero_division=np.nan),
}


def group_labels(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text label per row for the combination of ``columns`` (missing -> ``Unknown``)."""
    parts = [frame[c].astype("string").fillna(UNKNOWN_GROUP) for c in columns]
    label = parts[0]
    for part in parts[1:]:
        label = label + " x " + part
    return label.astype(str).reset_index(drop=True)


def compress_rows(y_true, selected, groups: pd.Series) -> pd.DataFrame:
    """Rows counted by (group, outcome, selected): at most four rows per group.

    fairlearn's ``MetricFrame`` loops in Python over the rows it is given; counts with
    ``sample_weight`` give the same confusion-matrix metrics at any county size. The models' rows are
    selected 0/1 (``models.selection``: the rows the list holds); a row selected with a chance ``w``
    (an external score's tie shared at the cut, ``selection_weights``) counts ``w`` as selected and
    ``1 - w`` as not.

    Returns:
        Columns ``group, y, selected, weight``.
    """
    label = groups.to_numpy()
    y = np.asarray(y_true, dtype=np.int64)
    chance = np.asarray(selected, dtype=np.float64)
    rows = pd.DataFrame({"group": np.concatenate([label, label]), "y": np.concatenate([y, y]),
                         "selected": np.repeat(np.array([1, 0], dtype=np.int64), len(y)),
                         "weight": np.concatenate([chance, 1 - chance])})
    rows = rows[rows["weight"] > 0]
    return rows.groupby(["group", "y", "selected"], observed=True)["weight"].sum().reset_index()


def metric_frame(y_true, selected, labels: dict[str, pd.Series]) -> MetricFrame:
    """fairlearn ``MetricFrame`` of the confusion-matrix metrics, by group within each attribute.

    Every attribute's compressed rows are stacked and the attribute is fairlearn's control feature,
    so one ``MetricFrame`` (one set of pandas group-bys, not one per attribute) covers them all; each
    (attribute, group) cell sees exactly the rows a per-attribute frame would.

    Args:
        labels: attribute -> group label per row (``group_labels``).

    Returns:
        A MetricFrame whose ``by_group`` is indexed by ``attribute, group`` (NaN for pairs that do not occur).
    """
    counts = pd.concat([compress_rows(y_true, selected, groups).assign(attribute=attribute)
                        for attribute, groups in labels.items()], ignore_index=True)
    weight = counts["weight"].to_numpy(dtype=np.float64)
    return MetricFrame(
        metrics=COUNT_METRICS,
        y_true=counts["y"].to_numpy(),
        y_pred=counts["selected"].to_numpy(),
        sensitive_features=counts["group"].rename("group"),
        control_features=counts["attribute"].rename("attribute"),
        sample_params={name: {"sample_weight": weight} for name in COUNT_METRICS},
    )


def probability_metrics_by_group(y_true, probability, groups: pd.Series, ranking=None) -> pd.DataFrame:
    """Within-group AUROC (of ``ranking``, default the probability), O/E ratio and Brier score.

    Returns:
        Indexed by group: ``auc`` (NaN with one class), ``oe_ratio``, ``brier``.
    """
    frame = pd.DataFrame({"group": groups.to_numpy(), "y": np.asarray(y_true, dtype=np.float64),
                          "p": np.asarray(probability, dtype=np.float64),
                          "r": np.asarray(probability if ranking is None else ranking, dtype=np.float64)})
    frame["sq"] = (frame["p"] - frame["y"]) ** 2
    sums = frame.groupby("group")[["y", "p", "sq"]].agg(["sum", "size"])
    out = pd.DataFrame(index=sums.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["oe_ratio"] = sums[("y", "sum")] / sums[("p", "sum")]
    out["brier"] = sums[("sq", "sum")] / sums[("sq", "size")]
    out["auc"] = [
        roc_auc_score(g["y"], g["r"]) if 0 < g["y"].sum() < len(g) else np.nan
        for _, g in frame.groupby("group")
    ]
    return out


def group_metrics(
    y_true,
    selected,
    probability,
    frame: pd.DataFrame,
    attributes: dict[str, list[str]],
    *,
    n_boot: int = 200,
    seed: int = 0,
    min_n: int = 10,
    min_positives: int = 5,
    ranking=None,
) -> pd.DataFrame:
    """Per-group metrics for each attribute, with differences and ratios to the overall figure.

    Args:
        y_true: observed outcome (0/1) per row.
        selected: 1 where the row is flagged (at capacity or threshold), else 0; a fraction for a row
            that shares a tie at the capacity cut (its chance of being flagged).
        probability: calibrated probability per row (for AUROC, O/E and Brier).
        frame: the grouping columns named in ``attributes``, aligned with ``y_true``.
        attributes: attribute name -> grouping columns (two or more = an intersection).
        ranking: score whose within-group AUROC is reported (default ``probability``), e.g. points.

    Returns:
        One row per attribute x group: ``attribute, group, n, positives, prevalence, selection_rate,
        tpr, fnr, fpr, ppv, auc, oe_ratio, brier, suppressed``, ``oe_ratio_ci_low, oe_ratio_ci_high`` (the
        group's own O/E, percentile bootstrap) and for each compared metric
        ``diff_<m>, diff_<m>_ci_low, diff_<m>_ci_high, ratio_<m>, ratio_<m>_ci_low, ratio_<m>_ci_high``.
    """
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(selected, dtype=np.float64)
    p = np.asarray(probability, dtype=np.float64)
    tables = []
    labels_by_attribute = {attribute: group_labels(frame, columns) for attribute, columns in attributes.items()}
    counted = metric_frame(y, s, labels_by_attribute).by_group if attributes else None
    factorized = [pd.factorize(labels, sort=True) for labels in labels_by_attribute.values()]
    # one set of replicates for every attribute: drawing the rows once per attribute was most of the time
    sums_by_attribute = bootstrap_attribute_sums(y, s, p, [codes for codes, _ in factorized],
                                                 [len(uniques) for _, uniques in factorized], n_boot, seed)
    for (attribute, labels), (_, uniques), sums in zip(labels_by_attribute.items(), factorized, sums_by_attribute,
                                                       strict=True):
        by_group = counted.xs(attribute, level="attribute").astype(float).reindex(uniques)
        by_group = by_group.join(probability_metrics_by_group(y, p, labels, ranking))[GROUP_VALUE_COLUMNS]
        replicates = rates_from_sums(sums)
        table = by_group.reset_index(names="group")
        totals = np.array([len(y), y.sum(), s.sum(), (s * y).sum(), (s * (1 - y)).sum(), ((p - y) ** 2).sum(),
                           p.sum()])
        overall_rates = rates_from_sums(totals[None, :])
        # the group's own O/E interval: the gate's subgroup calibration check reads it beside the ratio below
        table["oe_ratio_ci_low"], table["oe_ratio_ci_high"] = (
            column_quantile(replicates["oe_ratio"][:, :-1], q) for q in (0.025, 0.975))
        for metric in COMPARED:
            group_value = table[metric].to_numpy()
            whole = float(overall_rates[metric][0])
            boot_group = replicates[metric][:, :-1]
            boot_whole = replicates[metric][:, -1:]
            with np.errstate(invalid="ignore", divide="ignore"):
                table[f"diff_{metric}"] = group_value - whole
                table[f"ratio_{metric}"] = group_value / whole if whole else np.nan
                for kind, boot in (("diff", boot_group - boot_whole), ("ratio", boot_group / boot_whole)):
                    low, high = (column_quantile(boot, q) for q in (0.025, 0.975))
                    table[f"{kind}_{metric}_ci_low"] = low
                    table[f"{kind}_{metric}_ci_high"] = high
        table.insert(0, "attribute", attribute)
        table["suppressed"] = (table["n"] < min_n) | (table["positives"] < min_positives)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def suppress_small_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Blank every figure of a suppressed row (the group name and the flag stay)."""
    out = table.copy()
    figures = [c for c in out.columns if c not in ("attribute", "group", "suppressed")]
    out[figures] = out[figures].astype(float)
    out.loc[out["suppressed"], figures] = np.nan
    return out


def group_gaps(table: pd.DataFrame, metrics: tuple[str, ...] = ("selection_rate", "tpr", "fpr", "ppv", "oe_ratio")
               ) -> dict[str, dict[str, float | None]]:
    """Largest difference (max - min) and smallest ratio (min / max) per attribute over unsuppressed groups."""
    out: dict[str, dict[str, float | None]] = {}
    for attribute, rows in table[~table["suppressed"]].groupby("attribute", sort=False):
        gaps: dict[str, float | None] = {}
        for metric in metrics:
            values = rows[metric].dropna()
            if len(values) < 2:
                gaps[f"{metric}_difference"] = gaps[f"{metric}_ratio"] = None
                continue
            gaps[f"{metric}_difference"] = float(values.max() - values.min())
            gaps[f"{metric}_ratio"] = float(values.min() / values.max()) if values.max() > 0 else None
        out[attribute] = gaps
    return out
