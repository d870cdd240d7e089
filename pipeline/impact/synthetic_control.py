"""One-ward pilots: synthetic control with placebo-in-space p-value and a conformal interval.

The pilot ward's pre-go-live outcome path is matched by a weighted mix of donor wards that never had the
programme (pysyncon ``Synth``, weights on the simplex, fitted to every pre-period value with equal
importance). Each ward's series is first taken less its own pre-period mean (the "demeaned" synthetic control
of Ferman & Pinto 2021, the ``fixedeff`` of augsynth): a small ward's referral rate sits above or below every
donor's by chance or deprivation, and a level the weights cannot reach would otherwise become the "effect".
If the fit of the path is still poor — the pilot's pre-period error is more than twice the donors' typical
error, usually because its trend lies outside the donors' range — augmented synthetic control (``AugSynth``,
ridge bias correction, Ben-Michael et al.) is used instead. The effect is the mean post-period gap.

Two kinds of inference. The placebo-in-space p-value: each donor in turn is treated as if it were the pilot,
fitted from the other donors with the same method, and the pilot's post/pre RMSPE ratio is ranked among the
placebos' (for augmented SC, which can fit the pre-period exactly, its absolute mean post-period gap). With ~8
donors those placebo gaps are too few to give a 95% interval, so the interval is the conformal one of
Chernozhukov, Wüthrich & Zhu (2021, JASA, "An exact and robust conformal inference method for counterfactual
and synthetic controls"), inverted for a constant effect c over the post-period: take c off the pilot's
post-period values, refit the weights on every period (pre and post) with the same method, and rank the
absolute mean post-period residual among the same statistic over random permutations of the residuals across
periods; c is in the 95% interval when that p-value is above 0.05. Permutations (not the paper's moving blocks)
because a short quarterly panel has too few blocks: with T periods the smallest block p-value is 1/T, above
0.05 for T < 20. The placebo-gap interval is kept in the diagnostics beside it.
pysyncon's ``Synth.confidence_interval`` gives the same test one post period at a time (an interval per
period, not for their mean), so the inversion for the mean is done here with pysyncon's weight optimiser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pipeline.impact.area_design import collected_library_warnings, recording_changes_in_window
from pipeline.impact.estimate import FEW_CLUSTERS, NULL_RESULT, RECORDING_CHANGE, Estimate, library_label

POOR_FIT_RATIO = 2.0
MIN_PRE_PERIODS = 4
MIN_DONORS = 5
DONORS_FOR_P_05 = 19  # below this the smallest attainable placebo p-value is above 0.05
ALPHA = 0.05
PERMUTATIONS = 999  # conformal p-values in steps of 1/1000
PERMUTATION_SEED = 20210101  # fixed: the same permutations for every c, so the p-value is smooth in c
SEARCH_STEPS = 40  # widening steps before an interval end is given up as unbounded
BISECTIONS = 8  # the ends to within 1/256 of the search step


@dataclass(frozen=True)
class SyntheticControlResult:
    """What :func:`estimate_synthetic_control` returns.

    Attributes:
        estimate: design ``synthetic_control``.
        paths: columns ``period``, ``treated``, ``synthetic``.
        placebo_gaps: index ``period``, one column per donor ward (its gap when treated as a placebo).
        treated_gaps: the pilot's gap (treated - synthetic) by period.
        weights: donor weight by ward code.
    """

    estimate: Estimate
    paths: pd.DataFrame
    placebo_gaps: pd.DataFrame
    treated_gaps: pd.Series
    weights: pd.Series


def _weights(wide: pd.DataFrame, treated: str, donors: list[str], pre: list[int], method: str,
             ridge: float | None, notes) -> tuple[np.ndarray, float | None]:
    """Donor weights for one treated unit (pysyncon) fitted on the pre-period path, and the ridge penalty used."""
    from pysyncon import AugSynth, Dataprep, Synth

    with collected_library_warnings(notes):
        if method == "synth":
            x0, x1 = wide.loc[pre, donors], wide.loc[pre, treated]
            model = Synth()
            # Every pre-period value matters equally (custom V): no outer optimisation, fast and deterministic.
            model.fit(X0=x0, X1=x1, Z0=x0, Z1=x1, custom_V=np.ones(len(pre)))
            return np.asarray(model.W, dtype=float), None
        if ridge is not None and len(pre) == len(wide):
            return _augmented_weights(wide.loc[pre, donors], wide.loc[pre, treated], ridge), ridge
        long = wide[[treated, *donors]].rename_axis("t").reset_index().melt(id_vars="t", var_name="unit",
                                                                             value_name="y")
        prep = Dataprep(foo=long, predictors=[], predictors_op="mean", dependent="y", unit_variable="unit",
                        time_variable="t", treatment_identifier=treated, controls_identifier=list(donors),
                        time_predictors_prior=pre, time_optimize_ssr=pre)
        model = AugSynth()
        model.fit(dataprep=prep, lambda_=ridge, use_covariates=False)
        return np.asarray(model.W, dtype=float), float(model.lambda_)


def _augmented_weights(x0: pd.DataFrame, x1: pd.Series, ridge: float) -> np.ndarray:
    """What ``AugSynth.fit`` computes for a given ridge penalty (outcomes centred on the donors' mean per
    period, simplex weights, ridge correction), for a fit on every period: ``AugSynth.fit`` insists on a
    post-period, which the conformal refits do not have."""
    from pysyncon import AugSynth

    centre = x0.mean(axis=1)
    b, a = x0.sub(centre, axis=0).to_numpy(), (x1 - centre).to_numpy()
    weights, _ = AugSynth.w_optimize(V_mat=np.eye(len(a)), X0=b, X1=a, qp_options={"maxiter": 2000, "ftol": 1e-12})
    return weights + AugSynth.solve_ridge(a, b, weights, ridge)


def _gap(wide, treated, donors, pre, method, notes, ridge=None) -> tuple[pd.Series, np.ndarray, float | None]:
    """Treated minus synthetic by period, on each ward's series less its mean over ``pre`` (augsynth's
    ``fixedeff``), so a pilot above every donor's level can still be matched."""
    wide = wide - wide.loc[pre].mean()
    weights, ridge = _weights(wide, treated, donors, pre, method, ridge, notes)
    return wide[treated] - wide[donors].to_numpy() @ weights, weights, ridge


def _rmspe(gap: pd.Series, pre: list[int]) -> tuple[float, float]:
    pre_mask = gap.index.isin(pre)
    return float(np.sqrt((gap[pre_mask] ** 2).mean())), float(np.sqrt((gap[~pre_mask] ** 2).mean()))


def _ratio(pre_rmspe: float, post_rmspe: float) -> float:
    """Post/pre RMSPE: how much worse the fit gets after go-live (large = an effect, or a poor donor)."""
    return post_rmspe / pre_rmspe if pre_rmspe > 0 else float("inf")


def _placebos(wide, donors, pre, method, notes, ridge) -> pd.DataFrame:
    """Each donor treated as the pilot, fitted from the other donors (augmented: the pilot's ridge penalty,
    chosen once by pysyncon's cross-validation, rather than one cross-validation per placebo)."""
    return pd.DataFrame(
        {d: _gap(wide, d, [o for o in donors if o != d], pre, method, notes, ridge)[0] for d in donors}
    )


def _conformal_p(wide, treated, donors, post, method, ridge, notes, shift: float, draws: np.ndarray) -> float:
    """Conformal p-value of "the effect is ``shift`` in every post period" (Chernozhukov, Wüthrich & Zhu):
    weights refitted on every period once ``shift`` is taken off the post-period values; the absolute mean
    post-period residual ranked among those of the permuted residuals (``draws``: permutations of the periods)."""
    adjusted = wide.copy()
    adjusted.loc[post, treated] = adjusted.loc[post, treated] - shift
    residual = _gap(adjusted, treated, donors, list(range(len(wide))), method, notes, ridge)[0].to_numpy()
    statistic = abs(residual[post].mean())
    permuted = np.abs(residual[draws[:, -len(post):]].mean(axis=1))
    return float((1 + np.sum(permuted >= statistic - 1e-12)) / (1 + len(draws)))


def _conformal_interval(wide, treated, donors, pre, post, method, ridge, notes, effect: float,
                        scale: float) -> tuple[float, float, float]:
    """The set of constant effects c whose conformal p-value is above ALPHA, searched outwards from the point
    estimate in steps of ``scale`` (widening) and then bisected; returns (low, high, p-value of no effect).
    An end that is never reached is infinite (the data cannot rule out any effect that large)."""
    rng = np.random.default_rng(PERMUTATION_SEED)
    draws = np.array([rng.permutation(len(wide)) for _ in range(PERMUTATIONS)])

    def p_at(shift: float) -> float:
        return _conformal_p(wide, treated, donors, post, method, ridge, notes, shift, draws)

    ends = []
    for direction in (-1.0, 1.0):
        inside, step, outside = effect, scale, None
        for _ in range(SEARCH_STEPS):
            if p_at(inside + direction * step) > ALPHA:
                inside, step = inside + direction * step, step * 1.5
            else:
                outside = inside + direction * step
                break
        if outside is None:
            ends.append(direction * np.inf)
            continue
        for _ in range(BISECTIONS):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if p_at(middle) > ALPHA else (inside, middle)
        ends.append(inside)
    return ends[0], ends[1], p_at(0.0)


def estimate_synthetic_control(
    panel: pd.DataFrame,
    *,
    treated_ward: str,
    programme: str,
    outcome: str,
    outcome_column: str = "rate_per_1000",
    go_live: pd.Timestamp | str | None = None,
    donor_wards: list[str] | None = None,
    method: str = "auto",
    recording_regime: pd.DataFrame | None = None,
    outcome_fields=None,
) -> SyntheticControlResult:
    """Synthetic control for one pilot ward, with placebo p-value and placebo-gap interval.

    Args:
        panel: one row per ward × period: ``ward_code``, ``period`` (period start), ``go_live`` (NaT for
            never-treated) and the outcome column.
        treated_ward: the pilot ward's code.
        programme: programme code (``pilot``).
        outcome: outcome code (``referrals``).
        outcome_column: the panel column (rate per 1,000 children per period).
        go_live: the pilot's go-live date; default the ``go_live`` of ``treated_ward`` in the panel. The period
            containing it is the first post period.
        donor_wards: the donor pool; default every ward with no go-live inside the panel.
        method: ``auto`` (Synth, augmented if the pre-fit is poor), ``synth`` or ``augmented``.
        recording_regime: the ``recording_regime`` table; a change inside the window for the pilot or a donor is
            flagged.
        outcome_fields: ``(source, table, field)`` triples the outcome is counted from (None = any).
    """
    if method not in {"auto", "synth", "augmented"}:
        raise ValueError(f"method must be auto, synth or augmented, got {method!r}")
    missing = [c for c in ("ward_code", "period", "go_live", outcome_column) if c not in panel.columns]
    if missing:
        raise ValueError(f"synthetic control panel: missing column(s) {missing}")
    frame = panel.assign(period=pd.to_datetime(panel["period"]), go_live=pd.to_datetime(panel["go_live"]))
    if treated_ward not in set(frame["ward_code"]):
        raise ValueError(f"synthetic control: treated ward {treated_ward} is not in the panel")
    duplicated = frame.duplicated(["ward_code", "period"])
    if duplicated.any():
        row = frame.loc[duplicated].iloc[0]
        raise ValueError(f"synthetic control panel: ward {row['ward_code']} has two rows for period "
                         f"{row['period']:%Y-%m-%d}")
    wide = frame.pivot(index="period", columns="ward_code", values=outcome_column)
    periods = wide.index
    if go_live is None:
        go_live = frame.loc[frame["ward_code"].eq(treated_ward), "go_live"].iloc[0]
    if pd.isna(go_live):
        raise ValueError(f"synthetic control: no go-live date for ward {treated_ward}")
    first_post = int(np.searchsorted(periods, pd.Timestamp(go_live), side="right")) - 1
    if donor_wards is None:
        starts = frame.groupby("ward_code")["go_live"].first()
        donor_wards = sorted(starts.index[starts.isna() | (starts > periods[-1])].drop(treated_ward, errors="ignore"))
    donors = [d for d in donor_wards if d != treated_ward]
    wide = wide[[treated_ward, *donors]].reset_index(drop=True)
    if wide.isna().any().any():
        ward = wide.columns[wide.isna().any()][0]
        raise ValueError(f"synthetic control panel: ward {ward} has missing {outcome_column!r} values")
    pre = list(range(max(first_post, 0)))
    if len(pre) < MIN_PRE_PERIODS or first_post >= len(periods):
        raise ValueError(f"synthetic control needs >= {MIN_PRE_PERIODS} periods before go-live and >= 1 after; "
                         f"got {len(pre)} before and {len(periods) - max(first_post, 0)} after")
    if len(donors) < MIN_DONORS:
        raise ValueError(f"synthetic control needs >= {MIN_DONORS} donor wards, got {len(donors)}")

    notes: list[str] = []
    used = "augmented" if method == "augmented" else "synth"
    gap, weights, ridge = _gap(wide, treated_ward, donors, pre, used, notes)
    placebo = _placebos(wide, donors, pre, used, notes, ridge)
    pre_rmspe, post_rmspe = _rmspe(gap, pre)
    donor_pre = np.median([_rmspe(placebo[d], pre)[0] for d in donors])
    poor_fit = bool(pre_rmspe > POOR_FIT_RATIO * donor_pre)
    if method == "auto" and poor_fit:
        used = "augmented"
        gap, weights, ridge = _gap(wide, treated_ward, donors, pre, used, notes)
        placebo = _placebos(wide, donors, pre, used, notes, ridge)
        pre_rmspe, post_rmspe = _rmspe(gap, pre)
    post = [i for i in range(len(periods)) if i not in pre]
    if used == "synth":
        statistic = _ratio(pre_rmspe, post_rmspe)
        placebo_statistics = [_ratio(*_rmspe(placebo[d], pre)) for d in donors]
        p_method = "rank of the post/pre RMSPE ratio among the pilot and every donor as a placebo"
    else:
        # Ridge augmentation can fit the pre-period exactly (pre RMSPE ~ 0), which makes the ratio meaningless.
        statistic = abs(float(gap[post].mean()))
        placebo_statistics = [abs(float(placebo.loc[post, d].mean())) for d in donors]
        p_method = "rank of the absolute mean post-period gap among the pilot and every donor as a placebo"
    p_value = (1 + sum(r >= statistic for r in placebo_statistics)) / (1 + len(donors))
    effect = float(gap[post].mean())
    placebo_effects = placebo.loc[post].mean()
    placebo_interval = [effect - float(np.quantile(placebo_effects, 0.975)),
                        effect - float(np.quantile(placebo_effects, 0.025))]
    # search step: the spread of the pre-period gaps, as a standard error of a mean over the post-period
    # (augmented SC can fit the pre-period exactly: then the pilot's own quarter-to-quarter noise)
    spread = max(float(np.std(gap[pre])), float(np.std(np.diff(wide.loc[pre, treated_ward]))) / np.sqrt(2))
    scale = max(spread / np.sqrt(len(post)), 1e-6)
    ci_low, ci_high, conformal_p = _conformal_interval(wide, treated_ward, donors, pre, post, used, ridge, notes,
                                                       effect, scale)
    synthetic = wide[treated_ward] - gap  # the donors' path plus the pilot's pre-period level
    months = int(np.median(np.diff(periods.year * 12 + periods.month))) if len(periods) > 1 else 3
    changes = recording_changes_in_window(recording_regime, start=periods[0], end=periods[-1],
                                          wards=[treated_ward, *donors], fields=outcome_fields)
    flags = []
    if ci_low <= 0 <= ci_high:
        flags.append(NULL_RESULT)
    if not changes.empty:
        flags.append(RECORDING_CHANGE)
    if len(donors) < DONORS_FOR_P_05:
        flags.append(FEW_CLUSTERS)
    weight_by_ward = pd.Series(weights, index=donors, name="weight")
    estimate = Estimate(
        programme=programme, outcome=outcome, horizon_months=len(post) * months, design="synthetic_control",
        estimand=f"mean effect per period after go-live on {outcome} (rate per 1,000 children) in the pilot ward, "
        "against its synthetic control",
        effect=effect, ci_low=ci_low, ci_high=ci_high, baseline=float(synthetic[post].mean()),
        n_treated=1, n_comparison=len(donors),
        library=library_label("pysyncon", prefix="AugSynth (ridge)" if used == "augmented" else "Synth (demeaned)"),
        diagnostics={
            "method": used,
            "pre_fit_poor_for_synth": poor_fit,
            "ridge_penalty": ridge,
            "pre_rmspe": pre_rmspe,
            "post_rmspe": post_rmspe,
            "median_donor_pre_rmspe": float(donor_pre),
            "placebo_p": float(p_value),
            "placebo_p_method": p_method,
            "min_attainable_p": 1 / (1 + len(donors)),
            "interval_method": "conformal inference (Chernozhukov, Wüthrich & Zhu 2021) inverted for a constant "
            f"effect over the post-period: weights refitted on every period, absolute mean post-period residual "
            f"ranked among {PERMUTATIONS} permutations of the periods",
            "conformal_p_no_effect": conformal_p,
            "placebo_gap_interval": placebo_interval,
            "donor_weights": {w: round(float(v), 4) for w, v in weight_by_ward.items() if abs(v) >= 1e-3},
            "pre_periods": len(pre),
            "period_months": months,  # the effect is a rate per 1,000 children per period of this many months
            "last_period": f"{periods[-1]:%Y-%m-%d}",
            "post_periods": len(post),
            "recording_changes": [f"{r.field} {r.ward_code or 'county-wide'} {r.change_date:%Y-%m-%d}"
                                  for r in changes.itertuples()],
            "library_warnings": notes,
        },
        flags=tuple(flags),
    )
    index = pd.Index(periods, name="period")
    return SyntheticControlResult(
        estimate=estimate,
        paths=pd.DataFrame({"period": periods, "treated": wide[treated_ward].to_numpy(),
                            "synthetic": synthetic.to_numpy()}),
        placebo_gaps=placebo.set_axis(index),
        treated_gaps=gap.set_axis(index).rename(treated_ward),
        weights=weight_by_ward,
    )


def plot_synthetic_control(result: SyntheticControlResult) -> Figure:
    """Two panels: the pilot against its synthetic control; the pilot's gap among the placebo gaps."""
    figure = Figure(figsize=(11, 4.2))
    paths, gaps = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    estimate = result.estimate
    first_post = result.paths["period"].iloc[estimate.diagnostics["pre_periods"]]
    paths.plot(result.paths["period"], result.paths["treated"], color="black", label="pilot ward (recorded)")
    paths.plot(result.paths["period"], result.paths["synthetic"], "--", color="tab:blue",
               label=f"synthetic control ({estimate.diagnostics['method']})")
    for axis in (paths, gaps):
        axis.axvline(first_post, color="grey", ls=":", lw=1, label="go-live")
    paths.set_ylabel("rate per 1,000 children")
    paths.set_title(f"Pre-period RMSPE {estimate.diagnostics['pre_rmspe']:.2f}")
    paths.legend(fontsize=8)
    for number, ward in enumerate(result.placebo_gaps.columns):
        gaps.plot(result.placebo_gaps.index, result.placebo_gaps[ward], color="grey", alpha=0.35, lw=0.8,
                  label="donors as placebos" if number == 0 else None)
    gaps.plot(result.treated_gaps.index, result.treated_gaps, color="black", lw=1.8, label="pilot ward")
    gaps.axhline(0, color="black", lw=0.6)
    gaps.set_title(f"Effect {estimate.effect:+.2f} ({estimate.ci_low:+.2f} to {estimate.ci_high:+.2f}); "
                   f"placebo p = {estimate.diagnostics['placebo_p']:.2f}")
    gaps.set_ylabel("gap: recorded - synthetic")
    gaps.legend(fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
