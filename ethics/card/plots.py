"""Figures for the model card, drawn with matplotlib (Agg) and embedded as base64 PNG.

Embedding keeps the HTML card self-contained: it opens offline and can be emailed as one file.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ethics.card.model import Figure  # noqa: E402
from ethics.card.tables import suppressed_groups  # noqa: E402


def figure_from_png(png: bytes, title: str, alt: str, section: str = "performance",
                    attribute: str | None = None) -> Figure:
    return Figure(title=title, png_base64=base64.b64encode(png).decode("ascii"), alt=alt, section=section,
                  attribute=attribute)


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def plot_calibration(calibration: pd.DataFrame) -> Figure:
    """Reliability diagram: observed rate against mean predicted risk per bin, one line per model.

    Args:
        calibration: ``model, bin, mean_predicted, observed, n`` (calibration.csv).
    """
    fig, ax = plt.subplots(figsize=(5, 5))
    top = float(max(calibration["mean_predicted"].max(), calibration["observed"].max(), 0.01)) * 1.05
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect calibration")
    for model, rows in calibration.sort_values("mean_predicted").groupby("model", sort=True):
        ax.plot(rows["mean_predicted"], rows["observed"], marker="o", label=str(model))
    ax.set_xlabel("mean predicted risk")
    ax.set_ylabel("observed rate")
    ax.set_title("Calibration, test year")
    ax.legend(loc="upper left", fontsize="small")
    return figure_from_png(_png(fig), "Calibration (test year)",
                           "Observed outcome rate against mean predicted risk per risk bin", section="calibration")


# panels of each attribute's chart: group_metrics column -> what it shows, in words
GROUP_PANELS = {"selection_rate": "flagged (% of the group)",
                "fnr": "missed (% of those with the outcome)"}
# evaluation-stage plots the card shows (the rest repeat the card's own calibration and group charts)
EVALUATION_PLOTS = {"roc": "ROC curve (test year)", "precision_recall": "Precision and recall (test year)"}


def plot_attribute(group_metrics: pd.DataFrame, attribute: str, min_group_size: int) -> Figure | None:
    """One chart for one fairness attribute: share flagged and share missed per group, side by side.

    Groups that :func:`ethics.card.model.suppressed_groups` hides are named under the chart with no bar,
    so the chart and the tables suppress the same groups. None when the attribute has no rate columns
    or every group is suppressed.

    Args:
        group_metrics: group_metrics.csv rows (``attribute, group, n, suppressed`` and the rate columns).
    """
    panels = [c for c in GROUP_PANELS if c in group_metrics]
    rows = group_metrics[group_metrics["attribute"].astype(str) == attribute]
    if not panels or rows.empty:
        return None
    hidden = suppressed_groups(rows, min_group_size)
    shown, suppressed = rows[~hidden], rows[hidden]["group"].astype(str).tolist()
    if shown.empty:  # the card's table says every group is suppressed; an empty chart would say nothing
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 0.45 * max(len(shown), 1) + 1.2),
                             sharey=True, squeeze=False)
    labels = [f"{g} (n={int(n):,})" for g, n in zip(shown["group"], shown["n"], strict=True)]
    for ax, column in zip(axes[0], panels, strict=True):
        values = pd.to_numeric(shown[column], errors="coerce").fillna(0) * 100
        ax.barh(labels, values.tolist(), color="#1d70b8")
        ax.set_xlim(0, 110)
        ax.set_xlabel("%")
        ax.set_title(GROUP_PANELS[column], fontsize="medium")
        for y, v in enumerate(values):
            ax.text(v + 1, y, f"{v:.0f}%", va="center", fontsize="small")
    axes[0][0].invert_yaxis()
    note = f"suppressed (fewer than {min_group_size:,} children or too few outcomes): {', '.join(suppressed)}"
    if suppressed:
        fig.text(0.01, -0.02, note, fontsize="small", ha="left", va="top", wrap=True)
    return figure_from_png(
        _png(fig), f"{attribute.replace('_', ' ')}: flagged and missed by group",
        f"Bar charts of the share flagged and the share missed for each {attribute} group shown; {note}"
        if suppressed else f"Bar charts of the share flagged and the share missed for each {attribute} group",
        section="fairness", attribute=attribute)


def card_figures(calibration: pd.DataFrame | None, group_metrics: pd.DataFrame, min_group_size: int,
                 evaluation_plots: list[tuple[str, bytes]]) -> list[Figure]:
    """The card's figures, each once: calibration, one chart per fairness attribute, ROC and precision-recall.

    Args:
        calibration: calibration.csv (numbers as numbers), or None when there is none.
        group_metrics: group_metrics.csv (numbers as numbers); an attribute with no rate column gives no figure.
        evaluation_plots: ``(file stem, PNG bytes)`` of ``reports/<model>/plots/*.png``; only those in
            ``EVALUATION_PLOTS`` are shown (the others draw what the card draws itself).
    """
    figures = [plot_calibration(calibration)] if calibration is not None else []
    for attribute in dict.fromkeys(group_metrics["attribute"].astype(str)) if "attribute" in group_metrics else []:
        if (fig := plot_attribute(group_metrics, attribute, min_group_size)) is not None:
            figures.append(fig)
    for stem, png in evaluation_plots:
        if stem in EVALUATION_PLOTS:
            figures.append(figure_from_png(png, EVALUATION_PLOTS[stem], f"evaluation plot: {EVALUATION_PLOTS[stem]}"))
    return figures
