"""Controlled interrupted time series for whole-area changes, with recording-regime breaks flagged.

A monthly outcome series for the area that changed ("treated") is modelled by segmented regression (a level
and a slope change at the intervention), beside a control series that did not change. Seasonality enters as
month-of-year dummies; standard errors are Newey-West (HAC) because monthly counts are autocorrelated.

A recorded change in how the outcome is *recorded* (Hackney's FGM counts rose because recording improved,
DOMAIN_IMPACT.md §2 "Measurement") looks exactly like an effect. Any estimate whose window straddles a row of
``recording_regime`` for the outcome's field and area is flagged ``recording_change_in_window`` and re-estimated
with the break as a step covariate; both estimates are returned.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
import statsmodels.api as sm
from matplotlib.figure import Figure
from scipy import stats

from pipeline.impact.area_design import collected_library_warnings, recording_changes_in_window
from pipeline.impact.estimate import (
    NULL_RESULT,
    RECORDING_CHANGE,
    Estimate,
    covers_zero,
    library_label,
    normal_interval,
)

SERIES_COLUMNS = ("period", "series", "rate_per_1000")


def series_from_panel(panel: pd.DataFrame, wards: Collection[str], name: str) -> pd.DataFrame:
    """Sum a ward × month panel over some wards into one monthly series (rate per 1,000 children).

    Args:
        panel: columns ``ward_code``, ``period``, ``children``, ``events``.
        wards: ward codes to pool.
        name: series label (``treated`` or ``control``).

    Returns:
        Columns ``period``, ``series``, ``children``, ``events``, ``rate_per_1000``.
    """
    rows = panel.loc[panel["ward_code"].isin(list(wards))]
    if rows.empty:
        raise ValueError(f"series_from_panel: none of the wards for series {name!r} is in the panel")
    out = rows.groupby("period", as_index=False)[["children", "events"]].sum()
    out["rate_per_1000"] = 1000 * out["events"] / out["children"]
    out.insert(1, "series", name)
    return out


def _design(series: pd.DataFrame, intervention: pd.Timestamp, breaks: list[pd.Timestamp], controlled: bool):
    """Design matrix: trend, month dummies, level/slope change, per-series terms and recording-break steps."""
    frame = series.sort_values(["series", "period"]).reset_index(drop=True)
    months = (frame["period"].dt.year * 12 + frame["period"].dt.month).astype(float)
    time = months - months.min()
    post = (frame["period"] >= intervention).astype(float)
    since = np.maximum(0.0, months - (intervention.year * 12 + intervention.month)) * post
    treated = frame["series"].eq("treated").astype(float)
    x = pd.DataFrame({"const": 1.0, "time": time})
    month = pd.get_dummies(frame["period"].dt.month, prefix="month", drop_first=True, dtype=float)
    x = pd.concat([x, month], axis=1)
    if controlled:
        # The control series shares trend and season; treated-only terms carry the difference.
        x["treated"], x["treated_time"] = treated, treated * time
        x["post"], x["since"] = post, since
        x["level_change"], x["slope_change"] = treated * post, treated * since
    else:
        x["level_change"], x["slope_change"] = post, since
    inseparable = []
    for i, when in enumerate(breaks):
        # The break is a step in the series where it was recorded (treated unless the regime row names control).
        step = (frame["period"] >= when).astype(float) * frame["_break_series"].map(lambda s, i=i: float(i in s))
        if np.allclose(step, x["level_change"]):
            # A break in the intervention month is the level change itself: the two cannot be told apart.
            inseparable.append(f"{when:%Y-%m-%d}")
            continue
        x[f"recording_break_{i}"] = step
    x = x.loc[:, x.std(ddof=0).gt(0) | (x.columns == "const")]
    return frame, x, inseparable


def estimate_its(
    series: pd.DataFrame,
    *,
    programme: str,
    outcome: str,
    intervention_date: pd.Timestamp | str,
    recording_regime: pd.DataFrame | None = None,
    outcome_fields: Collection[tuple[str, str, str]] | None = None,
    treated_wards: Collection[str] | None = None,
    control_wards: Collection[str] | None = None,
    hac_lags: int | None = None,
    step_is_recording: bool = False,
) -> tuple[Estimate, ...]:
    """Segmented-regression (controlled) ITS; a second, break-adjusted estimate if recording changed.

    The effect is the mean gap between the treated series and its counterfactual over the post-period
    (level change + slope change × mean months since the intervention), net of the control series when one
    is given. With ``step_is_recording`` the intervention *is* a known change in recording: the level change
    at that date is put down to recording (reported as ``recording_step``) and the effect is only the change
    beyond it, the slope change × mean months since. A real change in that same month cannot be told apart
    from the step and is counted as part of it.

    Args:
        series: monthly rows with columns ``period`` (month start), ``series`` (``treated`` / ``control``),
            ``rate_per_1000``; ``control`` rows are optional (without them the design is ``its``, uncontrolled).
        programme: programme code.
        outcome: outcome code.
        intervention_date: when the change took effect (the first post month is the one containing it).
        recording_regime: the ``recording_regime`` table (see :func:`recording_changes_in_window`).
        outcome_fields: ``(source, table, field)`` the outcome is counted from; None = any field.
        treated_wards: wards in the treated series (None = the whole county).
        control_wards: wards in the control series.
        hac_lags: Newey-West lags; default ``floor(4 (n/100)^(2/9))``.
        step_is_recording: the level change at ``intervention_date`` is a recording step, not an effect.

    Returns:
        ``(naive,)``, or ``(naive, break_adjusted)`` when a recording change falls inside the window; both carry
        the ``recording_change_in_window`` flag and ``diagnostics["recording_changes"]``.
    """
    missing = [c for c in SERIES_COLUMNS if c not in series.columns]
    if missing:
        raise ValueError(f"ITS series: missing column(s) {missing}")
    frame = series.copy()
    frame["period"] = pd.to_datetime(frame["period"])
    unknown = sorted(set(frame["series"]) - {"treated", "control"})
    if unknown:
        raise ValueError(f"ITS series: column 'series' must be 'treated' or 'control', got {unknown}")
    if frame[["series", "period"]].duplicated().any():
        first = frame.loc[frame[["series", "period"]].duplicated(), ["series", "period"]].iloc[0]
        raise ValueError(f"ITS series: duplicate month {first['period']:%Y-%m} in series {first['series']!r}")
    if frame["rate_per_1000"].isna().any():
        row = frame.loc[frame["rate_per_1000"].isna()].iloc[0]
        raise ValueError(f"ITS series: 'rate_per_1000' is missing for {row['series']} month {row['period']:%Y-%m}")
    intervention = pd.Timestamp(intervention_date).to_period("M").to_timestamp()
    treated_rows = frame.loc[frame["series"].eq("treated")]
    n_pre = int((treated_rows["period"] < intervention).sum())
    n_post = int((treated_rows["period"] >= intervention).sum())
    if n_pre < 12 or n_post < 3:
        raise ValueError(f"ITS needs >= 12 months before and >= 3 after the intervention; got {n_pre} and {n_post}")
    controlled = frame["series"].eq("control").any()
    treated_area = None if treated_wards is None else set(treated_wards)
    control_area = set(control_wards or ())
    changes = _changes_by_series(
        recording_regime, frame, outcome_fields, treated_area, control_area if controlled else None
    )
    common = dict(programme=programme, outcome=outcome, intervention=intervention, hac_lags=hac_lags,
                  step_is_recording=step_is_recording)
    frame["_break_series"] = pd.Series([()] * len(frame), index=frame.index, dtype=object)
    naive = _fit(frame, breaks=[], changes=changes, **common)
    if changes.empty:
        return (naive,)
    breaks = sorted(changes["change_date"].unique())
    membership = {
        name: tuple(i for i, when in enumerate(breaks) if ((changes["change_date"] == when) & changes[name]).any())
        for name in ("treated", "control")
    }
    frame["_break_series"] = frame["series"].map(membership).astype(object)
    adjusted = _fit(frame, breaks=[pd.Timestamp(b) for b in breaks], changes=changes, **common)
    return (naive, adjusted)


def _changes_by_series(regime, frame, fields, treated_area, control_area) -> pd.DataFrame:
    """Regime rows in the window, marked by the series (treated / control) whose area they touch."""
    start, end = frame["period"].min(), frame["period"].max()
    every = recording_changes_in_window(regime, start=start, end=end, wards=None, fields=fields)
    if every.empty:
        return every.assign(treated=pd.Series(dtype=bool), control=pd.Series(dtype=bool))
    ward = every["ward_code"].fillna("").astype(str).str.strip()
    county = ward.eq("")
    every["treated"] = county | (ward.isin(treated_area) if treated_area is not None else True)
    every["control"] = (county | ward.isin(control_area)) if control_area is not None else False
    return every.loc[every["treated"] | every["control"]].reset_index(drop=True)


def fixed_b_critical_value(b: float) -> float:
    """Two-sided 5% critical value of a Newey-West (Bartlett kernel) t statistic under fixed-b asymptotics,
    ``b`` = bandwidth / sample length (Kiefer & Vogelsang 2005, their cubic fit; 1.96 at b = 0)."""
    return 1.96 + 2.9694 * b + 0.4160 * b**2 - 0.5324 * b**3


def _fit(frame, *, programme, outcome, intervention, hac_lags, breaks, changes, step_is_recording=False) -> Estimate:
    """One OLS fit with HAC errors, summarised as an Estimate of the mean post-period gap."""
    controlled = frame["series"].eq("control").any()
    membership = {
        name: sorted({i for s in frame.loc[frame["series"].eq(name), "_break_series"] for i in s})
        for name in ("treated", "control")
    }
    frame, x, inseparable = _design(frame, intervention, breaks, controlled)
    y = frame["rate_per_1000"].astype(float)
    lags = hac_lags if hac_lags is not None else int(np.floor(4 * (len(frame) / 100) ** (2 / 9)))
    notes: list[str] = []
    with collected_library_warnings(notes):
        # Small-sample correction and t quantiles: plain Newey-West is too narrow on ~60-month series.
        fit = sm.OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    treated_post = frame["series"].eq("treated") & (frame["period"] >= intervention)
    since = x.loc[treated_post, "slope_change"].mean()
    weights = pd.Series(0.0, index=x.columns)
    # a recording step at the intervention is not part of the effect: only the change in trend after it is
    weights["level_change"], weights["slope_change"] = (0.0 if step_is_recording else 1.0), since
    effect = float(weights @ fit.params)
    se = float(np.sqrt(weights @ fit.cov_params() @ weights))
    # Fixed-b critical value (Kiefer & Vogelsang 2005, Bartlett kernel, bandwidth lags + 1 over the months in
    # the series): Newey-West is biased down on ~60 months of persistent level/slope regressors, and the t quantile
    # ignores that (simulated series of test_its.py, seeds 1000-1099: 88 of 100 covered with t, 92 with this).
    quantile = max(float(stats.t.ppf(0.975, fit.df_resid)),
                   fixed_b_critical_value((lags + 1) / frame["period"].nunique()))
    ci_low, ci_high = effect - quantile * se, effect + quantile * se
    observed = float(y[treated_post].mean())
    cross_check = _ar1_errors_cross_check(frame, x, y, since, notes, level_weight=weights["level_change"])
    level_ci = fit.conf_int().loc["level_change"].tolist()
    slope_ci = fit.conf_int().loc["slope_change"].tolist()
    flags = [RECORDING_CHANGE] if not changes.empty else []
    if covers_zero(ci_low, ci_high):
        flags.append(NULL_RESULT)
    adjusted = bool(breaks)
    return Estimate(
        programme=programme,
        outcome=outcome,
        horizon_months=int(treated_post.sum()),
        design="its_controlled" if controlled else "its",
        estimand=(
            "mean change in the monthly rate per 1,000 children after the change, against the pre-change trend"
            + (" net of the control series" if controlled else "")
            + (", with the recorded recording change(s) as a step" if adjusted else "")
            + (", beyond the recording step at the change date (trend after it × mean months since)"
               if step_is_recording else "")
        ),
        effect=effect,
        ci_low=ci_low,
        ci_high=ci_high,
        baseline=observed - effect,
        n_treated=int(frame["series"].eq("treated").sum()),
        n_comparison=int(frame["series"].eq("control").sum()),
        library=library_label("statsmodels"),
        diagnostics={
            "intervention_month": f"{intervention:%Y-%m}",
            "period_months": 1,  # a monthly rate: judged against a quarterly truth it is a third of it
            "level_change": float(fit.params["level_change"]),
            "level_change_ci": [float(v) for v in level_ci],
            "slope_change_per_month": float(fit.params["slope_change"]),
            "slope_change_ci": [float(v) for v in slope_ci],
            "standard_errors": f"Newey-West HAC, {lags} lags, small-sample corrected; fixed-b critical value "
            f"{quantile:.2f} (Kiefer-Vogelsang, Bartlett kernel)",
            "seasonality": "month-of-year dummies",
            "months_before": int(((frame["series"] == "treated") & (frame["period"] < intervention)).sum()),
            "recording_break_covariate": adjusted or step_is_recording,
            **({"recording_step": float(fit.params["level_change"]), "recording_step_ci": [float(v) for v in level_ci],
                "not_separable": "a real change in the month recording changed is taken as part of the step"}
               if step_is_recording else {}),
            "recording_breaks_not_separable": inseparable,
            "recording_break_steps": [
                {"date": f"{when:%Y-%m-%d}", "series": [n for n in ("treated", "control") if i in membership[n]]}
                for i, when in enumerate(breaks)
            ],
            "recording_changes": [
                {"field": f"{r.source}.{r.table}.{r.field}", "ward_code": str(r.ward_code or ""),
                 "change_date": f"{r.change_date:%Y-%m-%d}", "description": str(r.description)}
                for r in changes.itertuples()
            ],
            "ar1_errors_cross_check": cross_check,
            "library_warnings": notes,
        },
        flags=tuple(flags),
    )


def _ar1_errors_cross_check(frame, x, y, since: float, notes: list[str], level_weight: float = 1.0) -> dict | None:
    """The same effect from the treated-minus-control series with AR(1) errors (statsmodels SARIMAX, ML).

    Differencing the pooled design row by row leaves exactly the treated-only terms, so this estimates the same
    level and slope change; its interval comes from an AR(1) error model instead of Newey-West, whose
    intervals run narrow on short series. Both are reported so a reader can see when they disagree.
    """
    treated = frame["series"].eq("treated").to_numpy()
    months = frame["period"].to_numpy()
    if (~treated).any():
        xt = x[treated].set_axis(months[treated])
        xc = x[~treated].set_axis(months[~treated])
        common = xt.index.intersection(xc.index)
        series = y[treated].set_axis(months[treated]).loc[common] - y[~treated].set_axis(months[~treated]).loc[common]
        exog = xt.loc[common] - xc.loc[common]
    else:
        series, exog = y.set_axis(months), x.set_axis(months)
    exog = exog.loc[:, exog.abs().sum() > 0]
    if "level_change" not in exog or "slope_change" not in exog or len(series) <= exog.shape[1] + 3:
        return None
    with collected_library_warnings(notes):
        fit = sm.tsa.SARIMAX(series.to_numpy(float), exog=exog.to_numpy(float), order=(1, 0, 0)).fit(disp=False)
    names = [*exog.columns, "ar1", "sigma2"]
    weights = np.array([level_weight if n == "level_change" else since if n == "slope_change" else 0.0 for n in names])
    effect = float(weights @ fit.params)
    se = float(np.sqrt(weights @ fit.cov_params() @ weights))
    low, high = normal_interval(effect, se)
    return {"effect": effect, "ci": [low, high], "ar1": float(fit.params[names.index("ar1")]),
            "method": "treated minus control series, AR(1) errors (statsmodels SARIMAX)"}


def counterfactual_path(series: pd.DataFrame, estimate: Estimate) -> pd.DataFrame:
    """The treated series' fitted path and its counterfactual (no level or slope change) under one estimate.

    Refits the estimate's model (same intervention month and recording-break steps, read back from its
    diagnostics); the counterfactual keeps the recording breaks, since they change what is recorded.

    Returns:
        Columns ``period``, ``fitted``, ``counterfactual`` for the treated series.
    """
    frame = series.copy()
    frame["period"] = pd.to_datetime(frame["period"])
    intervention = pd.Timestamp(estimate.diagnostics["intervention_month"] + "-01")
    steps = estimate.diagnostics.get("recording_break_steps", [])
    breaks = [pd.Timestamp(step["date"]) for step in steps]
    frame["_break_series"] = frame["series"].map(
        {name: tuple(i for i, step in enumerate(steps) if name in step["series"]) for name in ("treated", "control")}
    ).astype(object)
    frame, x, _ = _design(frame, intervention, breaks, frame["series"].eq("control").any())
    params = sm.OLS(frame["rate_per_1000"].astype(float), x).fit().params
    without = x.copy()
    # beyond a recording step the step stays in the counterfactual: only the change in trend is the effect
    without[["slope_change"] if "recording_step" in estimate.diagnostics else ["level_change", "slope_change"]] = 0.0
    treated = frame["series"].eq("treated")
    return pd.DataFrame(
        {"period": frame.loc[treated, "period"], "fitted": (x @ params)[treated],
         "counterfactual": (without @ params)[treated]}
    ).reset_index(drop=True)


def plot_its(series: pd.DataFrame, estimates: tuple[Estimate, ...], *, intervention_date) -> Figure:
    """Segmented ITS chart: observed series, fitted lines, counterfactual(s) and recording changes marked.

    Args:
        series: the frame given to :func:`estimate_its`.
        estimates: what :func:`estimate_its` returned (naive, and break-adjusted if any).
        intervention_date: the intervention date.
    """
    figure = Figure(figsize=(9, 4.5))
    axis = figure.add_subplot()
    frame = series.assign(period=pd.to_datetime(series["period"]))
    for name, colour in (("treated", "tab:blue"), ("control", "tab:grey")):
        rows = frame.loc[frame["series"].eq(name)].sort_values("period")
        if not rows.empty:
            axis.plot(rows["period"], rows["rate_per_1000"], "o", ms=3, color=colour, label=f"{name} (recorded)")
    for estimate, style in zip(estimates, ("--", ":"), strict=False):
        path = counterfactual_path(series, estimate)
        label = "break-adjusted" if estimate.diagnostics.get("recording_break_covariate") else "naive"
        post = path["period"] >= pd.Timestamp(estimate.diagnostics["intervention_month"] + "-01")
        axis.plot(path["period"], path["fitted"], "-", color="tab:blue", lw=1, alpha=0.6 if style == ":" else 1)
        axis.plot(path.loc[post, "period"], path.loc[post, "counterfactual"], style, color="tab:orange",
                  label=f"counterfactual, {label} ({estimate.effect:+.2f}, 95% CI {estimate.ci_low:+.2f} to "
                  f"{estimate.ci_high:+.2f})")
    axis.axvline(pd.Timestamp(intervention_date), color="black", lw=1, label="intervention")
    for change in estimates[0].diagnostics["recording_changes"]:
        axis.axvline(pd.Timestamp(change["change_date"]), color="tab:red", ls="-.", lw=1.2,
                     label=f"recording change: {change['field']} ({change['change_date']})")
    axis.set_ylabel("rate per 1,000 children")
    axis.set_title("Interrupted time series with counterfactual")
    axis.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    return figure
