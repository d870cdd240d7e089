"""Staggered ward rollouts: Callaway–Sant'Anna ATT(g,t) with naive two-way fixed effects beside it.

Each wave of wards ("group" g, the period it went live) is compared only with wards not yet live, cell by cell
(csdid, doubly robust per cell), and the cells are averaged overall and by time since go-live (an event study
with pre-periods). Naive two-way fixed effects (linearmodels PanelOLS, ward and period effects, clustered by
ward) is returned as the labelled comparator ``twfe``; when the effect grows with exposure it is biased toward
zero (:data:`TWFE_EXPLANATION`). Pre-trends are tested jointly on the pre-period event-study coefficients.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import stats

from pipeline.impact.area_design import collected_library_warnings, recording_changes_in_window
from pipeline.impact.estimate import (
    FEW_CLUSTERS,
    NULL_RESULT,
    PRETREND_FAILED,
    RECORDING_CHANGE,
    Estimate,
    covers_zero,
    library_label,
    normal_interval,
)
from pipeline.impact.twfe import TWFE_EXPLANATION, naive_twfe

PANEL_COLUMNS = ("ward_code", "period", "go_live")
MIN_CLUSTERS = 20
PRETREND_ALPHA = 0.05


@dataclass(frozen=True)
class StaggeredResult:
    """What :func:`estimate_staggered` returns.

    Attributes:
        overall: the Callaway–Sant'Anna overall ATT (design ``cs_did``).
        twfe: the naive two-way fixed-effects estimate (design ``twfe``).
        by_event_time: one ``cs_did`` Estimate per period since go-live (0 = the go-live period).
        event_study: columns ``event_time``, ``design`` (cs_did / twfe), ``effect``, ``ci_low``, ``ci_high``.
    """

    overall: Estimate
    twfe: Estimate
    by_event_time: tuple[Estimate, ...]
    event_study: pd.DataFrame


def prepare_rollout_panel(panel: pd.DataFrame, outcome: str = "rate_per_1000") -> tuple[pd.DataFrame, dict]:
    """Number the periods 1..T and give each ward its go-live period ``g`` (0 = not live within the panel).

    A ward whose go-live date falls inside a period is treated from that period. Wards live before the
    panel's first period (or in it) have no pre-period and are dropped, and counted.

    Args:
        panel: one row per ward × period with ``ward_code``, ``period`` (period start), ``go_live`` (NaT if
            never) and the outcome column.
        outcome: the outcome column.

    Returns:
        The frame with added ``t``, ``g``, ``unit`` (int), and a dict of facts for the diagnostics.
    """
    missing = [c for c in (*PANEL_COLUMNS, outcome) if c not in panel.columns]
    if missing:
        raise ValueError(f"rollout panel: missing column(s) {missing}")
    frame = panel.copy()
    frame["period"] = pd.to_datetime(frame["period"])
    frame["go_live"] = pd.to_datetime(frame["go_live"])
    duplicated = frame.duplicated(["ward_code", "period"])
    if duplicated.any():
        row = frame.loc[duplicated].iloc[0]
        raise ValueError(f"rollout panel: ward {row['ward_code']} has two rows for period {row['period']:%Y-%m-%d}")
    if frame[outcome].isna().any():
        row = frame.loc[frame[outcome].isna()].iloc[0]
        raise ValueError(f"rollout panel: column {outcome!r} is missing for ward {row['ward_code']} "
                         f"period {row['period']:%Y-%m-%d}")
    periods = np.sort(frame["period"].unique())
    counts = frame.groupby("ward_code")["period"].nunique()
    if (counts != len(periods)).any():
        raise ValueError(f"rollout panel: not balanced; ward {counts.idxmin()} has {counts.min()} of "
                         f"{len(periods)} periods")
    if frame.groupby("ward_code")["go_live"].nunique(dropna=False).gt(1).any():
        raise ValueError("rollout panel: a ward has more than one go_live date")
    index = pd.DatetimeIndex(periods)
    months = int(np.median(np.diff(index.year * 12 + index.month))) if len(index) > 1 else 3
    frame["t"] = np.searchsorted(periods, frame["period"].to_numpy()) + 1
    panel_end = index[-1] + pd.DateOffset(months=months)
    live = frame["go_live"].notna() & (frame["go_live"] < panel_end)
    g = np.searchsorted(periods, frame["go_live"].fillna(index[0]).to_numpy(), side="right")
    frame["g"] = np.where(live, g, 0).astype(int)
    already = frame["g"].eq(1) | (live & (frame["go_live"] < periods[0]))
    dropped = sorted(frame.loc[already, "ward_code"].unique())
    frame = frame.loc[~frame["ward_code"].isin(dropped)].copy()
    frame["unit"] = frame["ward_code"].astype("category").cat.codes.astype(int) + 1
    facts = {"periods": list(index), "period_months": months,
             "dropped_already_live_wards": len(dropped)}
    return frame, facts


def _callaway_santanna(frame: pd.DataFrame, outcome: str, covariates: tuple[str, ...], anticipation: int, notes):
    """Fit csdid; doubly robust (with covariates when they fit), else outcome regression. Quiet stdout."""
    from csdid.att_gt import ATTgt

    attempts = [("dr", covariates), ("reg", covariates), ("dr", ())] if covariates else [("dr", ())]
    last_error = None
    for method, used in attempts:
        try:
            # csdid prints its summaries to stdout; keep library code silent.
            with collected_library_warnings(notes), contextlib.redirect_stdout(io.StringIO()):
                model = ATTgt(yname=outcome, tname="t", idname="unit", gname="g", data=frame,
                              control_group="notyettreated", xformla=("~" + "+".join(used)) if used else None,
                              anticipation=anticipation).fit(est_method=method, base_period="universal",
                                                              bstrap=False)
                model.aggte(typec="simple")
                simple = model.atte
                model.aggte(typec="dynamic")
                dynamic = model.atte
            if np.isfinite(simple["overall_att"]) and np.isfinite(simple["overall_se"]):
                return model, simple, dynamic, method, used
        except (ValueError, np.linalg.LinAlgError) as error:  # a method that cannot fit this panel: try the next
            last_error = error
            notes.append(f"csdid {method} with covariates {list(used)} failed: {error}")
    raise ValueError(f"Callaway–Sant'Anna could not be estimated on this panel: {last_error}")


def _pretrend_test(dynamic: dict, n_wards: int, max_pre_periods: int, anticipation: int) -> dict:
    """Joint test that the pre-period event-study coefficients are zero (Hotelling T² → F, for few wards).

    Uses the event-time influence functions from csdid. The base period (-1 - anticipation) is zero by
    construction and anticipation periods are allowed to differ, so both are left out; at most
    ``max_pre_periods`` periods before the base are tested, fewer when wards are few.
    """
    event_times = np.asarray(dynamic["egt"], dtype=int)
    influence = np.asarray(dynamic["inf_function"]["dynamic_inf_func_e"], dtype=float)
    coefficients = np.asarray(dynamic["att_egt"], dtype=float)
    base = -1 - anticipation
    pre = np.where((event_times < base) & (event_times >= base - max_pre_periods))[0]
    pre = pre[np.isfinite(coefficients[pre]) & (np.abs(influence[:, pre]).sum(axis=0) > 0)]
    q = min(len(pre), n_wards - 2)
    if q < 1:
        return {"pretrend_p": None, "pretrend_periods_tested": 0, "pretrend_event_times": [],
                "pretrend_test": "not possible: no pre-periods"}
    pre = pre[-q:]  # the periods nearest go-live
    n = influence.shape[0]
    covariance = influence[:, pre].T @ influence[:, pre] / n
    t_squared = float(n * coefficients[pre] @ np.linalg.pinv(covariance) @ coefficients[pre])
    f_stat = t_squared * (n - q) / (q * (n - 1))
    p_value = float(stats.f.sf(f_stat, q, n - q))
    return {"pretrend_p": p_value, "pretrend_periods_tested": int(q),
            "pretrend_event_times": event_times[pre].tolist(),
            "pretrend_test": f"Hotelling T² (F({q}, {n - q})) on event times {event_times[pre].tolist()}"}


def _cell_by_hand(frame: pd.DataFrame, outcome: str, model) -> dict:
    """The earliest wave's go-live cell as a plain 2×2 difference in differences, beside csdid's (cross-check).

    Without covariates csdid's doubly robust ATT(g,t) is exactly this: the wave's mean change from the
    period before go-live, minus the mean change of the wards not yet live at t.
    """
    g = int(frame.loc[frame["g"] > 0, "g"].min())
    wide = frame.pivot_table(index="unit", columns="t", values=outcome)
    wave = frame.loc[frame["g"].eq(g), "unit"].unique()
    comparison = frame.loc[frame["g"].eq(0) | (frame["g"] > g), "unit"].unique()
    change = wide[g] - wide[g - 1]
    by_hand = float(change[wave].mean() - change[comparison].mean())
    results = model.results
    cell = [i for i, (gg, tt) in enumerate(zip(results["group"], results["year"], strict=True)) if gg == g and tt == g]
    csdid = float(np.asarray(results["att"])[cell[0]])
    return {"group_period": g, "csdid": csdid, "by_hand": by_hand, "agrees": bool(abs(csdid - by_hand) < 1e-6)}


def estimate_staggered(
    panel: pd.DataFrame,
    *,
    programme: str,
    outcome: str,
    outcome_column: str = "rate_per_1000",
    covariates: tuple[str, ...] = (),
    anticipation: int = 0,
    max_pre_periods: int = 4,
    recording_regime: pd.DataFrame | None = None,
    outcome_fields=None,
) -> StaggeredResult:
    """Callaway–Sant'Anna (not-yet-treated comparisons) and naive TWFE on a ward × period rollout panel.

    Args:
        panel: one row per ward × period: ``ward_code``, ``period`` (period start), ``go_live`` (NaT for
            never-treated), the outcome column (default ``rate_per_1000``), optional time-invariant covariates.
        programme: programme code (``key_worker``).
        outcome: outcome code (``referrals``).
        outcome_column: the panel column to analyse (rate per 1,000 children per period).
        covariates: covariate columns for csdid's doubly robust cells (dropped if they cannot be fitted).
        anticipation: periods before go-live in which wards may already react.
        max_pre_periods: pre-periods (before the reference period -1) in the pre-trend test.
        recording_regime: the ``recording_regime`` table; a change inside the panel for these wards is flagged.
        outcome_fields: ``(source, table, field)`` triples the outcome is counted from (None = any).

    Returns:
        A :class:`StaggeredResult`; effects are in outcome units per period (rate per 1,000 per quarter).
    """
    frame, facts = prepare_rollout_panel(panel, outcome_column)
    if not frame["g"].gt(0).any():
        raise ValueError("rollout panel: no ward goes live inside the panel")
    notes: list[str] = []
    model, simple, dynamic, method, used = _callaway_santanna(frame, outcome_column, covariates, anticipation, notes)
    n_wards = int(frame["unit"].nunique())
    n_treated = int(frame.loc[frame["g"] > 0, "unit"].nunique())
    n_never = n_wards - n_treated
    months = facts["period_months"]
    event_times = [int(e) for e in dynamic["egt"]]
    post_times = [e for e in event_times if e >= 0]
    horizon = (max(post_times) + 1) * months
    pretrend = _pretrend_test(dynamic, n_wards, max_pre_periods, anticipation)
    flags = []
    if pretrend["pretrend_p"] is not None and pretrend["pretrend_p"] < PRETREND_ALPHA:
        flags.append(PRETREND_FAILED)
    if n_wards < MIN_CLUSTERS:
        flags.append(FEW_CLUSTERS)
    changes = recording_changes_in_window(
        recording_regime, start=facts["periods"][0], end=facts["periods"][-1],
        wards=frame["ward_code"].unique().tolist(), fields=outcome_fields,
    )
    if not changes.empty:
        flags.append(RECORDING_CHANGE)
    twfe, twfe_events = naive_twfe(frame, outcome_column, event_times, notes)
    treated_post = frame.loc[(frame["g"] > 0) & (frame["t"] >= frame["g"])]
    observed = float(treated_post[outcome_column].mean())
    effect = float(simple["overall_att"])
    ci_low, ci_high = normal_interval(effect, float(simple["overall_se"]))
    diagnostics = {
        **pretrend,
        "comparison": "wards not yet live (and never live) in each period",
        "estimation_method": {"dr": "doubly robust", "reg": "outcome regression"}[method],
        "covariates_used": list(used),
        "standard_errors": "analytic influence function (each ward a cluster)",
        "n_wards": n_wards,
        "period_months": months,
        "last_period": f"{facts['periods'][-1]:%Y-%m-%d}",  # the panel's last period (the window's end)
        "waves": {f"{facts['periods'][g - 1]:%Y-%m-%d}": int(frame.loc[frame["g"].eq(g), "unit"].nunique())
                  for g in sorted(frame.loc[frame["g"] > 0, "g"].unique())},
        "dropped_already_live_wards": facts["dropped_already_live_wards"],
        "cross_check_cell": _cell_by_hand(frame, outcome_column, model) if not used else None,
        "twfe_effect": twfe["effect"],
        "twfe_explanation": f"{TWFE_EXPLANATION} Here: TWFE {twfe['effect']:+.2f} vs Callaway–Sant'Anna "
        f"{effect:+.2f} per 1,000 per period.",
        "recording_changes": [f"{r.field} {r.ward_code or 'county-wide'} {r.change_date:%Y-%m-%d}"
                              for r in changes.itertuples()],
        "library_warnings": notes,
    }
    if FEW_CLUSTERS in flags:
        diagnostics["few_clusters_note"] = (
            f"only {n_wards} wards: cluster-based intervals may be too narrow")
    base = dict(programme=programme, outcome=outcome, n_treated=n_treated, n_comparison=n_never)
    label = library_label("csdid")
    overall = Estimate(
        **base, horizon_months=horizon, design="cs_did",
        estimand=f"average effect per period after go-live on {outcome} (rate per 1,000 children), across wards "
        "that went live, against wards not yet live",
        effect=effect, ci_low=ci_low, ci_high=ci_high, baseline=observed - effect, library=label,
        diagnostics=diagnostics, flags=_with_null(flags, ci_low, ci_high),
    )
    twfe_estimate = Estimate(
        **base, horizon_months=horizon, design="twfe",
        estimand=f"naive two-way fixed effects coefficient on 'ward live' for {outcome} (comparator only)",
        effect=twfe["effect"], ci_low=twfe["ci_low"], ci_high=twfe["ci_high"], baseline=observed - twfe["effect"],
        library=library_label("linearmodels"),
        diagnostics={"standard_errors": "clustered by ward", "why_it_differs": TWFE_EXPLANATION,
                     "period_months": months, "last_period": f"{facts['periods'][-1]:%Y-%m-%d}"},
        flags=_with_null([f for f in flags if f != PRETREND_FAILED], twfe["ci_low"], twfe["ci_high"]),
    )
    cs_events = pd.DataFrame({"event_time": event_times, "design": "cs_did",
                              "effect": np.asarray(dynamic["att_egt"], dtype=float),
                              "se": np.asarray(dynamic["se_egt"], dtype=float).ravel()})
    cs_events["ci_low"], cs_events["ci_high"] = normal_interval(cs_events["effect"], cs_events["se"].fillna(0.0))
    by_event = []
    for row in cs_events.loc[cs_events["event_time"] >= 0].itertuples():
        cell = treated_post.loc[treated_post["t"] - treated_post["g"] == row.event_time, outcome_column].mean()
        by_event.append(Estimate(
            **base, horizon_months=(row.event_time + 1) * months, design="cs_did",
            estimand=f"effect on {outcome} (rate per 1,000 children) {row.event_time} periods after go-live",
            effect=float(row.effect), ci_low=float(row.ci_low), ci_high=float(row.ci_high),
            baseline=float(cell - row.effect), library=label, diagnostics={"event_time": int(row.event_time)},
            flags=_with_null(flags, row.ci_low, row.ci_high),
        ))
    table = pd.concat([cs_events.drop(columns="se"), twfe_events], ignore_index=True)
    return StaggeredResult(overall, twfe_estimate, tuple(by_event),
                           table.sort_values(["design", "event_time"]).reset_index(drop=True))


def _with_null(flags: list[str], ci_low: float, ci_high: float) -> tuple[str, ...]:
    return tuple(flags + ([NULL_RESULT] if covers_zero(ci_low, ci_high) else []))


def plot_event_study(result: StaggeredResult) -> Figure:
    """Event-study chart: Callaway–Sant'Anna and naive TWFE side by side, 95% intervals, go-live marked."""
    figure = Figure(figsize=(9, 4.5))
    axis = figure.add_subplot()
    names = {"cs_did": "Callaway–Sant'Anna: overall", "twfe": "TWFE event study; single-coefficient naive TWFE"}
    for design, colour, shift in (("cs_did", "tab:blue", -0.12), ("twfe", "tab:orange", 0.12)):
        rows = result.event_study.loc[result.event_study["design"].eq(design)]
        estimate = result.overall if design == "cs_did" else result.twfe
        axis.errorbar(rows["event_time"] + shift, rows["effect"],
                      yerr=[rows["effect"] - rows["ci_low"], rows["ci_high"] - rows["effect"]],
                      fmt="o", ms=4, capsize=2, color=colour,
                      label=f"{names[design]} {estimate.effect:+.2f} "
                      f"({estimate.ci_low:+.2f} to {estimate.ci_high:+.2f})")
    axis.axhline(0, color="black", lw=0.8)
    axis.axvline(-0.5, color="grey", ls="--", lw=1, label="go-live")
    p = result.overall.diagnostics.get("pretrend_p")
    axis.set_title(f"Event study ({result.overall.outcome}); pre-trend p = {p:.2f}" if p is not None
                   else f"Event study ({result.overall.outcome})")
    axis.set_xlabel("periods since go-live (-1 = reference)")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel("effect, rate per 1,000 children")
    axis.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figure
