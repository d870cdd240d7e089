"""Matplotlib plots for the review notebooks; each takes or makes an ``Axes`` and returns it."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

import numpy as np
import pandas as pd

from pipeline.explore.models import published_groups


def _axes(ax):
    import matplotlib.pyplot as plt

    return ax if ax is not None else plt.subplots(figsize=(6, 4))[1]


def plot_link_rates(table: pd.DataFrame, link: str, attribute: str, ax=None):
    """Bar per group of one link's rate for one attribute, the overall rate as a dashed line."""
    ax = _axes(ax)
    rows = table[(table["link"] == link) & (table["attribute"] == attribute)]
    ax.bar(rows["group"], rows["rate"], color="#1F4E79")
    if len(rows):
        ax.axhline(rows["overall"].iloc[0], ls="--", color="grey", label="all records")
        ax.legend(fontsize=7)
    ax.set(ylim=(0, 1.05), ylabel="share linked", title=f"{link.replace('_to_', ' → ')} by {attribute}")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return ax


def plot_reliability(calibration: pd.DataFrame, ax=None, models: Iterable[str] | None = None):
    """Observed outcome rate against mean predicted probability per bin, one line per model.

    Args:
        calibration: ``calibration.csv`` (``model``, ``mean_predicted``, ``observed``).
    """
    ax = _axes(ax)
    wanted = list(models) if models is not None else list(dict.fromkeys(calibration["model"]))
    rows = calibration[calibration["model"].isin(wanted)]
    top = float(max(rows["mean_predicted"].max(), rows["observed"].max(), 1e-3)) if len(rows) else 1.0
    for name, part in rows.groupby("model", sort=False):
        ax.plot(part["mean_predicted"], part["observed"], marker="o", label=str(name))
    ax.plot([0, top], [0, top], ls=":", color="grey", label="perfect calibration")
    ax.set(xlabel="mean predicted probability", ylabel="observed rate", title="Reliability (test year)")
    ax.legend(fontsize=7)
    return ax


def plot_metric_by_model(headline: pd.DataFrame, metric: str, ax=None):
    """Bar per model of one metric, with its bootstrap 95% CI where ``<metric>_low/_high`` exist."""
    ax = _axes(ax)
    values = headline[metric]
    errors = None
    if f"{metric}_low" in headline and f"{metric}_high" in headline:
        low, high = headline[f"{metric}_low"], headline[f"{metric}_high"]
        errors = np.vstack([(values - low).clip(lower=0).fillna(0), (high - values).clip(lower=0).fillna(0)])
    ax.bar(headline.index, values.fillna(0), yerr=errors, capsize=4, color="#1F4E79")
    ax.set(ylabel=metric, title=f"{metric} by model (test year)")
    return ax


def plot_group_metric(group_metrics: pd.DataFrame, metric: str, attribute: str, ax=None):
    """Bar per published group of one metric for one attribute; says so when every group is suppressed."""
    ax = _axes(ax)
    rows = published_groups(group_metrics)
    rows = rows[rows["attribute"] == attribute]
    if rows.empty or rows[metric].isna().all():
        ax.text(0.5, 0.5, "every group suppressed\n(small cells)", ha="center", va="center")
        ax.set_axis_off()
    else:
        bars = ax.bar(rows["group"], rows[metric].fillna(0), color="#1F4E79")
        # a bar of height 0 is invisible: the label shows it is a real 0, not a missing group
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.set_title(f"{metric} by {attribute}")
    return ax


def plot_risk_by_rank(risk_list: pd.DataFrame, base_rate_percent: float | None = None, ax=None):
    """Risk (%) against rank on the list, coloured by band, with the cohort base rate for scale."""
    ax = _axes(ax)
    for band, part in risk_list.groupby("band", sort=False):
        ax.scatter(part["rank"], part["risk_percent"], s=10, label=band)
    if base_rate_percent is not None:
        ax.axhline(base_rate_percent, ls="--", color="grey", label="base rate (test year)")
    ax.set(xlabel="rank on list", ylabel="risk (%)", title="Risk down the list")
    ax.legend(fontsize=7)
    return ax


def plot_factor_shares(counts: pd.DataFrame, title: str, top: int = 8, ax=None):
    """Horizontal bars of the ``top`` most common factors (:func:`factor_counts`), labels wrapped, not cut.

    Cutting labels would merge factors that differ only at the end ("..., last 12 months" / "last 3 years").
    """
    ax = _axes(ax)
    rows = counts.head(top).iloc[::-1]
    labels = [textwrap.fill(str(f), 48) for f in rows["factor"]]
    ax.barh(range(len(rows)), rows["share"], color="#1F4E79")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.set(xlabel="share of listed children", title=title, xlim=(0, 1))
    return ax
