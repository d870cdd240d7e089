"""Covariate balance and propensity overlap for person-level comparisons (offered vs not offered).

Standardised mean differences (SMD) are taken before and after weighting, each over the *unweighted* pooled
standard deviation so the two columns differ only by the means (Austin 2009); |SMD| < 0.1 is the usual sign of
balance. Overlap is summarised as the share of people whose propensity lies outside ``[trim, 1 - trim]``: the
people no comparison can be made for, who are trimmed from the estimate.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

BALANCE_THRESHOLD = 0.1


def standardised_mean_differences(
    covariates: pd.DataFrame, treated: pd.Series, weights: pd.Series | None = None
) -> pd.DataFrame:
    """SMD of each covariate between treated and comparison, unweighted and weighted.

    Args:
        covariates: one numeric column per covariate, one row per person.
        treated: bool (or 0/1) per row, aligned with ``covariates``.
        weights: balancing weights per row (e.g. inverse propensity); None gives only the unweighted column.
            Missing covariate values are left out of that covariate's means.

    Returns:
        One row per covariate: ``covariate``, ``smd_before``, ``smd_after`` (NaN without weights, or when a
        group has fewer than two recorded values). A covariate constant in both groups has SMD 0.
    """
    is_treated = np.asarray(treated, dtype=bool)
    rows = []
    for name in covariates.columns:
        values = covariates[name].to_numpy(dtype=float)
        present = ~np.isnan(values)  # missing values are left out of that covariate's means
        treated_values, comparison_values = values[is_treated & present], values[~is_treated & present]
        if min(treated_values.size, comparison_values.size) < 2:  # no spread to scale by: not measurable
            rows.append({"covariate": name, "smd_before": np.nan, "smd_after": np.nan})
            continue
        spread = np.sqrt((treated_values.var(ddof=1) + comparison_values.var(ddof=1)) / 2)
        before = _scaled_difference(treated_values.mean() - comparison_values.mean(), spread)
        after = np.nan
        if weights is not None:
            w = np.asarray(weights, dtype=float)
            gap = np.average(treated_values, weights=w[is_treated & present]) - np.average(
                comparison_values, weights=w[~is_treated & present]
            )
            after = _scaled_difference(gap, spread)
        rows.append({"covariate": name, "smd_before": before, "smd_after": after})
    return pd.DataFrame(rows, columns=["covariate", "smd_before", "smd_after"])


def _scaled_difference(gap: float, spread: float) -> float:
    if spread > 0:
        return float(gap / spread)
    return 0.0 if gap == 0 else float(np.sign(gap) * np.inf)


def overlap_summary(propensity: pd.Series, treated: pd.Series, *, trim: float = 0.01, bins: int = 20) -> dict:
    """How far the offered and not-offered groups share propensities, and who falls outside ``[trim, 1-trim]``.

    Args:
        propensity: estimated probability of being offered per person (0-1).
        treated: bool (or 0/1) per person.
        trim: people with propensity below ``trim`` or above ``1 - trim`` are outside the overlap.
        bins: histogram bins over 0-1 for the overlap chart.

    Returns:
        JSON-ready dict: ``trim``, ``n``, ``n_trimmed``, ``share_trimmed``, ``n_trimmed_treated``,
        ``n_trimmed_comparison``, ``propensity_range_treated`` / ``_comparison`` ([min, max]) and ``histogram``
        (``edges``, ``treated``, ``comparison`` counts).
    """
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim}")
    score = np.asarray(propensity, dtype=float)
    is_treated = np.asarray(treated, dtype=bool)
    outside = (score < trim) | (score > 1 - trim)
    edges = np.linspace(0.0, 1.0, bins + 1)
    return {
        "trim": trim,
        "n": int(score.size),
        "n_trimmed": int(outside.sum()),
        "share_trimmed": float(outside.mean()) if score.size else 0.0,
        "n_trimmed_treated": int((outside & is_treated).sum()),
        "n_trimmed_comparison": int((outside & ~is_treated).sum()),
        "propensity_range_treated": _range(score[is_treated]),
        "propensity_range_comparison": _range(score[~is_treated]),
        "histogram": {
            "edges": edges.round(6).tolist(),
            "treated": np.histogram(score[is_treated], edges)[0].tolist(),
            "comparison": np.histogram(score[~is_treated], edges)[0].tolist(),
        },
    }


def _range(values: np.ndarray) -> list[float | None]:
    return [float(values.min()), float(values.max())] if values.size else [None, None]


def plot_balance(balance: pd.DataFrame | list[dict], overlap: dict, *, title: str = "") -> Figure:
    """Love plot (|SMD| before and after weighting) beside the propensity overlap histogram.

    Args:
        balance: the frame from :func:`standardised_mean_differences` or its records (as stored in an
            Estimate's ``diagnostics["balance"]``).
        overlap: the dict from :func:`overlap_summary` (``diagnostics["overlap"]``).
        title: figure title.
    """
    table = pd.DataFrame(balance)
    fig, (love, hist) = plt.subplots(1, 2, figsize=(10, max(3.0, 0.35 * len(table) + 1.5)))
    positions = np.arange(len(table))
    love.scatter(table["smd_before"].abs(), positions, marker="o", facecolors="none", edgecolors="C3", label="before")
    love.scatter(table["smd_after"].abs(), positions, marker="o", color="C0", label="after weighting")
    love.axvline(BALANCE_THRESHOLD, ls=":", color="grey")
    love.set_yticks(positions, table["covariate"])
    love.set(xlabel="absolute standardised mean difference", title="Covariate balance")
    love.legend(loc="lower right")
    histogram = overlap["histogram"]
    edges = np.asarray(histogram["edges"])
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    hist.bar(centres, histogram["treated"], width=width, alpha=0.6, color="C0", label="offered")
    hist.bar(centres, [-c for c in histogram["comparison"]], width=width, alpha=0.6, color="C1", label="not offered")
    for edge in (overlap["trim"], 1 - overlap["trim"]):
        hist.axvline(edge, ls=":", color="grey")
    hist.axhline(0, color="black", lw=0.5)
    hist.set(
        xlabel="estimated probability of being offered",
        ylabel="people (not offered below the line)",
        title=f"Overlap ({overlap['share_trimmed']:.1%} outside the trimming bounds)",
    )
    hist.legend(loc="upper right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
