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
from ethics.fairness_checks import comparable_groups  # noqa: E402


def figure_from_png(png: bytes, title: str, alt: str) -> Figure:
    return Figure(title=title, png_base64=base64.b64encode(png).decode("ascii"), alt=alt)


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
                           "Observed outcome rate against mean predicted risk per risk bin")


def plot_group_rates(group_metrics: pd.DataFrame, column: str, min_group_size: int, label: str) -> Figure | None:
    """Horizontal bars of ``column`` per group (suppressed and small groups left out); None if nothing to show."""
    rows = comparable_groups(group_metrics, column, min_group_size)
    if rows.empty:
        return None
    names = rows["attribute"].astype(str) + " = " + rows["group"].astype(str)
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(rows) + 1))
    ax.barh(names, rows[column])
    ax.invert_yaxis()
    ax.set_xlabel(label)
    ax.set_title(f"{label} by group (groups n >= {min_group_size})")
    return figure_from_png(_png(fig), f"{label} by group", f"Bar chart of {label} for each group")


def card_figures(calibration: pd.DataFrame | None, group_metrics: pd.DataFrame, min_group_size: int,
                 evaluation_plots: list[tuple[str, bytes]]) -> list[Figure]:
    """The card's figures, in order: calibration, FNR and O/E by group, then the evaluation stage's own plots.

    Args:
        calibration: calibration.csv (numbers as numbers), or None when there is none.
        group_metrics: group_metrics.csv (numbers as numbers); a rate column absent gives no figure.
        evaluation_plots: ``(file stem, PNG bytes)`` of ``reports/<model>/plots/*.png``, sorted by file name.
    """
    figures = [plot_calibration(calibration)] if calibration is not None else []
    for column, label in (("fnr", "False-negative rate"), ("oe_ratio", "Observed/expected ratio")):
        if column in group_metrics and (fig := plot_group_rates(group_metrics, column, min_group_size,
                                                                label)) is not None:
            figures.append(fig)
    for stem, png in evaluation_plots:
        figures.append(figure_from_png(png, stem.replace("_", " "), f"evaluation plot {stem}"))
    return figures
