"""The capacity cut as a regression discontinuity: children just above vs just below each run's cut.

Each list run offers the top k by score, so near the cut who is listed is close to chance. The running
variable is ``score - cut`` of that run (runs pooled; standard errors clustered by run, because a run's cut is
set by its capacity). The sharp RD gives the effect of being *listed* (intention to treat of listing); the fuzzy
RD, with listing as the instrument for an offer (overrides and professional referrals break a clean step),
gives the effect of an offer for children whose offer followed the list, at the cut. Both are local to children
near the cut (moderate risk), never the top of the list (flag ``local_to_cut``). Estimation is rdrobust's local
polynomial with robust bias-corrected 95% intervals (point = conventional estimate); manipulation of scores or
of k is checked with rddensity's density test at the cut.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from pipeline.impact.estimate import (  # noqa: E402
    FEW_CLUSTERS,
    LOCAL_TO_CUT,
    MANIPULATION_SUSPECTED,
    NULL_RESULT,
    SMALL_CELLS,
    Estimate,
    covers_zero,
    library_label,
)

RUNNING = "running"


def add_running_variable(scored: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """``scored`` with ``running`` = score minus the cut of its run (0 = the k-th listed, ≥ 0 = listed).

    Args:
        scored: one row per child × list run: ``run_id``, ``score`` and, unless ``runs`` is given, ``cut_score``.
        runs: optional list-run table (``run_id``, ``cut_score``) to take each run's cut from.
    """
    frame = scored.copy()
    if runs is not None:
        frame = frame.drop(columns=["cut_score"], errors="ignore").merge(
            runs[["run_id", "cut_score"]], on="run_id", how="left", validate="many_to_one"
        )
    for column in ("run_id", "score", "cut_score"):
        if column not in frame.columns:
            raise ValueError(f"scored frame has no {column!r} column")
    unmatched = frame["cut_score"].isna()
    if unmatched.any():
        raise ValueError(f"{int(unmatched.sum())} scored row(s) have no cut for their run (first run_id "
                         f"{frame.loc[unmatched, 'run_id'].iloc[0]!r})")
    frame[RUNNING] = frame["score"].astype(float) - frame["cut_score"].astype(float)
    return frame


def _rdrobust(y, x, *, c=0.0, fuzzy=None, cluster=None, h=None):
    """rdrobust with its warnings caught here (numpy RuntimeWarnings from empty kernel weights far from the cut,
    rdrobust's own UserWarnings) and its printed "Mass points detected" notice kept off stdout: they describe
    the data, which the diagnostics report (``mass_points``)."""
    from rdrobust import rdrobust

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()) as printed:
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(rdrobust|numpy)(\..*)?")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"rdrobust(\..*)?")
        fit = rdrobust(y, x, c=c, fuzzy=fuzzy, cluster=cluster, h=h)
    fit.mass_points = "mass points" in printed.getvalue().lower()
    return fit


def _check(y, x, **options) -> dict:
    """A secondary check (placebo, covariate, bandwidth) that may fail on thin data without sinking the estimate."""
    try:
        return _summary(_rdrobust(y, x, **options))
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
        return {"skipped": f"rdrobust failed: {exc}"}


def _summary(fit) -> dict:
    """Conventional point estimate with the robust bias-corrected interval and p-value (Calonico et al.)."""
    return {
        "effect": float(fit.coef.loc["Conventional"].iloc[0]),
        "ci_low": float(fit.ci.loc["Robust"].iloc[0]),
        "ci_high": float(fit.ci.loc["Robust"].iloc[1]),
        "p_value": float(fit.pv.loc["Robust"].iloc[0]),
        "bandwidth": float(fit.bws.loc["h"].iloc[0]),
        "n_left": int(fit.N_h[0]),
        "n_right": int(fit.N_h[1]),
    }


def density_test(running: np.ndarray) -> dict:
    """rddensity's manipulation test at 0 (jackknife p-value; a small p means more mass on one side)."""
    from rddensity import rddensity

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(rddensity|numpy)(\..*)?")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"rddensity(\..*)?")
        result = rddensity(X=running, c=0)
    return {"library": library_label("rddensity"), "t": float(result.test["t_jk"]),
            "p_value": float(result.test["p_jk"])}


def estimate_cut_effect(
    scored: pd.DataFrame,
    *,
    outcome: str,
    programme: str,
    horizon_months: int,
    offered: str = "offered",
    cluster: str | None = "run_id",
    covariates: Sequence[str] = (),
    placebo_cuts: Sequence[float] | None = None,
    density_alpha: float = 0.05,
    min_effective: int = 50,
    min_clusters: int = 10,
    bins: int = 20,
) -> list[Estimate]:
    """Fuzzy and sharp RD at the capacity cut on a binary (or numeric) outcome.

    Args:
        scored: one row per child × list run with ``running`` (see :func:`add_running_variable`), ``outcome``,
            ``offered`` (bool/0-1), the ``cluster`` column, each pre-index covariate and, if present, ``listed``
            (its agreement with ``running >= 0`` is reported).
        outcome: outcome column (within ``horizon_months`` of the run date).
        programme: programme code written on the Estimates.
        horizon_months: outcome window written on the Estimates.
        offered: offer column (the treatment of the fuzzy RD).
        cluster: run column to cluster standard errors by (None: no clustering).
        covariates: pre-index covariates checked for continuity at the cut (each is an RD "outcome" that
            should show no jump).
        placebo_cuts: cuts where nothing happens, each tested on its own side of 0 only (default ±h of the
            sharp fit).
        density_alpha: density-test p below this raises ``density_test_failed``.
        min_effective: fewer people than this within the bandwidth on either side raises ``small_cells``.
        min_clusters: fewer runs than this raises ``few_clusters``.
        bins: bins per side for the RD plot.

    Returns:
        Two Estimates: ``rd_fuzzy`` (effect of an offer at the cut) and ``rd_sharp`` (effect of being listed);
        ``baseline`` of both is the outcome rate just below the cut (left limit of the sharp fit), ``n_treated`` /
        ``n_comparison`` the people within the bandwidth above / below the cut. Each carries diagnostics
        ``bandwidth``, ``bandwidth_sensitivity`` (h/2, 2h), ``density_test``, ``placebo``, ``covariate_continuity``,
        ``offer_rate_jump`` (first stage), ``mass_points``, ``plot`` (binned means and the local linear fits).
    """
    missing = [c for c in (RUNNING, outcome, offered, *covariates) + ((cluster,) if cluster else ()) if c not in scored]
    if missing:
        raise ValueError(f"scored frame lacks column(s) {missing} (add 'running' with add_running_variable)")
    frame = scored.dropna(subset=[RUNNING, outcome, offered])
    x = frame[RUNNING].to_numpy(dtype=float)
    y = frame[outcome].to_numpy(dtype=float)
    d = frame[offered].to_numpy(dtype=float)
    groups = frame[cluster].astype(str).to_numpy() if cluster else None

    sharp_fit = _rdrobust(y, x, cluster=groups)
    fuzzy_fit = _rdrobust(y, x, fuzzy=d, cluster=groups)
    sharp, fuzzy = _summary(sharp_fit), _summary(fuzzy_fit)
    h = sharp["bandwidth"]
    density = density_test(x)
    shared_diagnostics = {
        "running_variable": "score minus the cut (score of the k-th listed) of the same run",
        "clusters": int(np.unique(groups).size) if cluster else None,
        "density_test": density,
        "placebo": _placebos(y, x, groups, placebo_cuts if placebo_cuts is not None else (-h, h)),
        "covariate_continuity": {
            name: _check(frame[name].to_numpy(dtype=float), x, cluster=groups) for name in covariates
        },
        "mass_points": bool(sharp_fit.mass_points),
        "share_at_or_above_cut": float(np.mean(x >= 0)),
        "listed_agrees_with_cut": _listed_agreement(frame, x),
        "offer_rate_jump": {
            "effect": float(fuzzy_fit.tau_T.loc["Conventional"].iloc[0]),
            "ci_low": float(fuzzy_fit.ci_T.loc["Robust"].iloc[0]),
            "ci_high": float(fuzzy_fit.ci_T.loc["Robust"].iloc[1]),
        },
        "plot": _plot_data(x, y, d, sharp_fit, bins),
    }
    flags = [LOCAL_TO_CUT]
    if density["p_value"] < density_alpha:
        flags.append(MANIPULATION_SUSPECTED)
    if cluster and shared_diagnostics["clusters"] < min_clusters:
        flags.append(FEW_CLUSTERS)
    library = library_label("rdrobust", "rddensity")
    estimates = []
    for design, fit_summary, estimand, fuzzy_of in (
        ("rd_fuzzy", fuzzy, f"effect of an offer of {programme} on {outcome} within {horizon_months} months for "
                            "children at the list's cut whose offer followed the list (fuzzy RD)", d),
        ("rd_sharp", sharp, f"effect of being listed for {programme} on {outcome} within {horizon_months} months "
                            "for children at the list's cut (intention to treat of listing, sharp RD)", None),
    ):
        sensitivity = {}
        for label, scale in (("half", 0.5), ("double", 2.0)):
            bandwidth = fit_summary["bandwidth"] * scale
            sensitivity[label] = _check(y, x, fuzzy=fuzzy_of, cluster=groups, h=bandwidth)
        own_flags = list(flags)
        if min(fit_summary["n_left"], fit_summary["n_right"]) < min_effective:
            own_flags.append(SMALL_CELLS)
        if covers_zero(fit_summary["ci_low"], fit_summary["ci_high"]):
            own_flags.append(NULL_RESULT)
        estimates.append(Estimate(
            programme=programme, outcome=outcome, horizon_months=horizon_months, design=design, estimand=estimand,
            effect=fit_summary["effect"], ci_low=fit_summary["ci_low"], ci_high=fit_summary["ci_high"],
            baseline=float(np.ravel(sharp_fit.beta_p_l)[0]), n_treated=fit_summary["n_right"],
            n_comparison=fit_summary["n_left"], library=library,
            diagnostics={**shared_diagnostics, "bandwidth": fit_summary["bandwidth"],
                         "p_value": fit_summary["p_value"], "bandwidth_sensitivity": sensitivity},
            flags=tuple(own_flags),
        ))
    return estimates


def _listed_agreement(frame: pd.DataFrame, x: np.ndarray) -> float | None:
    """Share of rows whose ``listed`` matches ``running >= 0`` (ties at the cut or a hand-edited list lower it)."""
    if "listed" not in frame:
        return None
    listed = frame["listed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return float(np.mean(listed == (x >= 0)))


def _placebos(y, x, groups, cuts: Sequence[float]) -> list[dict]:
    """Sharp RD at cuts where no list boundary lies, each on its own side of the real cut only."""
    out = []
    for cut in cuts:
        side = x < 0 if cut < 0 else x >= 0
        if np.sum(side & (x < cut)) < 20 or np.sum(side & (x >= cut)) < 20:
            out.append({"cut": float(cut), "skipped": "fewer than 20 people on a side"})
            continue
        cluster = None if groups is None else groups[side]
        out.append({"cut": float(cut), **_check(y[side], x[side], c=float(cut), cluster=cluster)})
    return out


def _plot_data(x, y, d, sharp_fit, bins: int) -> dict:
    """Binned outcome and offer rates on each side within 2h, and the local linear fits within h."""
    h = float(sharp_fit.bws.loc["h"].iloc[0])
    edges = np.concatenate([np.linspace(-2 * h, 0, bins + 1)[:-1], np.linspace(0, 2 * h, bins + 1)])
    which = np.digitize(x, edges) - 1
    inside = (which >= 0) & (which < len(edges) - 1)
    table = (
        pd.DataFrame({"bin": which[inside], "outcome": y[inside], "offered": d[inside]})
        .groupby("bin")
        .agg(n=("outcome", "size"), outcome_rate=("outcome", "mean"), offer_rate=("offered", "mean"))
        .reset_index()
    )
    table["running"] = (edges[table["bin"]] + edges[table["bin"] + 1]) / 2
    left, right = np.ravel(sharp_fit.beta_p_l), np.ravel(sharp_fit.beta_p_r)
    return {
        "bandwidth": h,
        "bins": table[["running", "n", "outcome_rate", "offer_rate"]].to_dict("records"),
        "fit_left": [float(v) for v in left[:2]],
        "fit_right": [float(v) for v in right[:2]],
    }


def plot_cut_discontinuity(estimate: Estimate) -> Figure:
    """RD plot of an ``rd_*`` Estimate: binned outcome rate (with the local linear fits) and offer rate by
    distance from the cut, from ``diagnostics["plot"]``."""
    if "plot" not in estimate.diagnostics:
        raise ValueError(f"estimate of design {estimate.design!r} carries no RD plot data")
    data = estimate.diagnostics["plot"]
    bins = pd.DataFrame(data["bins"])
    h = data["bandwidth"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    for side, coefs, grid in (("left", data["fit_left"], np.linspace(-h, 0, 50)),
                              ("right", data["fit_right"], np.linspace(0, h, 50))):
        top.plot(grid, coefs[0] + coefs[1] * grid, color="C0" if side == "left" else "C3")
    top.scatter(bins["running"], bins["outcome_rate"], s=12 + bins["n"] / bins["n"].max() * 30, color="grey")
    words = estimate.outcome.replace("_", " ")
    top.set(ylabel=f"{words} rate", title=f"Children either side of the list's cut: {words}")
    bottom.scatter(bins["running"], bins["offer_rate"], s=12, color="C2")
    bottom.set(xlabel="score minus the run's cut (right: listed)", ylabel="share offered", ylim=(-0.05, 1.05))
    for ax in (top, bottom):
        ax.axvline(0, ls=":", color="black")
        ax.axvspan(-h, h, color="C0", alpha=0.05)
    fig.tight_layout()
    return fig
