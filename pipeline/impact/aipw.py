"""Effect of being offered a programme (intention to treat) on a binary outcome: cross-fitted AIPW.

Augmented inverse probability weighting combines a propensity model (who gets offered) with outcome models
(risk with and without an offer); it is consistent when either is right and, cross-fitted over K folds, allows
flexible LightGBM nuisance models. It assumes no unmeasured confounding: covariates must be measured strictly
before the offer (the as-of snapshot scoring uses) and include the risk score. Offers decided on things the
data do not hold (worker judgement, a family's willingness) bias it, and no diagnostic here can show that.

:func:`estimate_offer_effect` returns the AIPW estimate with two labelled comparators — the naive difference
(offered minus not offered) and propensity weighting alone — so the card can show why the naive one misleads
when offers go to children at higher risk.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.base import ClassifierMixin, clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.impact.balance import BALANCE_THRESHOLD, overlap_summary, plot_balance, standardised_mean_differences
from pipeline.impact.estimate import (
    IMBALANCE_AFTER_WEIGHTING,
    NULL_RESULT,
    OVERLAP_TRIMMED,
    SMALL_CELLS,
    Estimate,
    covers_zero,
    library_label,
    normal_interval,
)

LEARNERS = ("logistic", "lightgbm")
TARGETS = {"ate": "averaged over everyone with a comparable chance of an offer", "att": "averaged over those offered"}
MIN_PROPENSITY = 1e-3  # floor on the propensity in the weights when nothing is trimmed (trim=0)


def nuisance_model(learner: str, seed: int = 0) -> ClassifierMixin:
    """An unfitted classifier for a nuisance model: ``logistic`` (imputed, scaled) or ``lightgbm``."""
    if learner == "logistic":
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler(), LogisticRegression(max_iter=2000)
        )
    if learner == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=20, random_state=seed, n_jobs=1,
            verbose=-1,
        )
    raise ValueError(f"learner must be one of {LEARNERS}, got {learner!r}")


def _predict_probability(model: ClassifierMixin, x_fit: np.ndarray, y_fit: np.ndarray, x_new: np.ndarray):
    if y_fit.size == 0:
        raise ValueError("a cross-fitting fold has no rows in one arm: use fewer folds")
    if np.unique(y_fit).size < 2:  # every training row had the same outcome: predict that rate
        return np.full(x_new.shape[0], float(y_fit[0]))
    return clone(model).fit(x_fit, y_fit).predict_proba(x_new)[:, 1]


def cross_fit_nuisances(
    x: np.ndarray, treated: np.ndarray, y: np.ndarray, *, learner: str = "logistic", folds: int = 5, seed: int = 0,
    groups: np.ndarray | None = None, repeats: int = 1,
) -> pd.DataFrame:
    """Out-of-fold propensity and outcome predictions (each row predicted by models that never saw it).

    Args:
        x: covariates, one row per person × time zero.
        treated: 0/1 offered.
        y: 0/1 outcome.
        learner: ``logistic`` or ``lightgbm``.
        folds: K, stratified by treatment.
        seed: fold split and LightGBM seed.
        groups: per row, the person it belongs to when a person has several rows: all of a person's rows fall
            in one fold, so no model predicts a person it was fitted on.
        repeats: fold splits (seeds ``seed``, ``seed + 1``, ...) whose out-of-fold predictions are averaged: with
            few comparable rows one split's luck moves the estimate, the average of several does not (each
            prediction is still from models that never saw the row).

    Returns:
        ``propensity`` (P(offered | x)), ``risk_untreated`` (P(y | x, not offered)), ``risk_treated``
        (P(y | x, offered)), ``fold``; one row per input row, in order.
    """
    out = np.zeros((len(y), 3))
    fold_of = np.zeros(len(y), dtype=int)
    for repeat in range(max(1, repeats)):
        split_seed = seed + repeat
        model = nuisance_model(learner, split_seed)
        if groups is None:
            splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=split_seed).split(x, treated)
        else:
            splits = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=split_seed).split(
                x, treated, groups)
        for k, (fit, new) in enumerate(splits):
            arm = treated[fit] == 1
            out[new, 0] += _predict_probability(model, x[fit], treated[fit], x[new])
            out[new, 1] += _predict_probability(model, x[fit][~arm], y[fit][~arm], x[new])
            out[new, 2] += _predict_probability(model, x[fit][arm], y[fit][arm], x[new])
            if repeat == 0:
                fold_of[new] = k
    out /= max(1, repeats)
    frame = pd.DataFrame(out, columns=["propensity", "risk_untreated", "risk_treated"])
    frame["fold"] = fold_of
    return frame


def kept_by_overlap(propensity: np.ndarray, trim: float) -> np.ndarray:
    """Per row: its chance of an offer lies in ``[trim, 1 - trim]`` (the rows AIPW and IPW compare)."""
    return (propensity >= trim) & (propensity <= 1 - trim)


def _matrix(persons: pd.DataFrame, columns: Sequence[str], kind: str) -> np.ndarray:
    missing = [c for c in columns if c not in persons.columns]
    if missing:
        raise ValueError(f"{kind} column(s) missing from the person frame: {missing}")
    for column in columns:
        if not (pd.api.types.is_numeric_dtype(persons[column]) or pd.api.types.is_bool_dtype(persons[column])):
            raise ValueError(f"{kind} column {column!r} is {persons[column].dtype}, not numeric or bool")
    return persons[list(columns)].to_numpy(dtype=float, na_value=np.nan)


def _binary(persons: pd.DataFrame, column: str) -> np.ndarray:
    values = _matrix(persons, [column], "outcome/treatment")[:, 0]
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"column {column!r} must be 0/1 or bool; {int(bad.sum())} row(s) are not (first: "
                         f"index {persons.index[np.flatnonzero(bad)[0]]})")
    return values.astype(int)


def estimate_offer_effect(
    persons: pd.DataFrame,
    *,
    outcome: str,
    covariates: Sequence[str],
    programme: str,
    horizon_months: int,
    treatment: str = "offered",
    learner: str = "logistic",
    folds: int = 5,
    trim: float = 0.01,
    target: str = "ate",
    seed: int = 0,
    min_cell: int = 10,
    cross_check: bool = True,
    nuisances: pd.DataFrame | None = None,
    cluster: str | None = None,
) -> list[Estimate]:
    """AIPW effect of being offered on a binary outcome, with the naive and IPW comparators.

    Args:
        persons: one row per person at time zero (the offer, or the list run for those not offered). Columns:
            ``treatment`` (bool/0-1 offered), ``outcome`` (bool/0-1 within ``horizon_months``) and every name
            in ``covariates`` (numeric or bool, measured strictly before time zero; include the risk score).
        outcome: outcome column.
        covariates: pre-offer covariate columns (missing values allowed).
        programme: programme code written on the Estimates.
        horizon_months: outcome window written on the Estimates.
        treatment: offered column.
        learner: nuisance models, ``logistic`` or ``lightgbm``.
        folds: cross-fitting folds.
        trim: people with propensity outside ``[trim, 1 - trim]`` are dropped from AIPW and IPW (counted in
            ``diagnostics["overlap"]``; flag ``overlap_trimmed_over_5pct`` above 5%); some |SMD| >= 0.1 after
            weighting raises ``imbalance_after_weighting``.
        target: ``ate`` (average over the overlap population) or ``att`` (average over those offered; its
            weights e/(1-e) grow large for not-offered children who look like the offered, so its interval is
            wider).
        seed: cross-fitting seed.
        min_cell: fewer people than this in any arm × outcome cell raises ``small_cells``.
        cross_check: also fit econml's ``LinearDRLearner`` (if installed) into ``diagnostics["cross_check"]``.
        nuisances: :func:`cross_fit_nuisances` of these rows, fitted here when None (a caller that needs the
            rows kept, :func:`kept_by_overlap`, fits them once and passes them in).
        cluster: column naming the person when a person has several rows (one per list run): standard errors
            are then clustered by it (the sum of each person's influence), and folds keep a person together.

    Returns:
        Three Estimates in order: ``aipw``, ``ipw_naive`` (propensity weighting alone, standard error treating
        the propensity as known), ``naive_difference`` (offered minus not offered, no adjustment).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    x = _matrix(persons, covariates, "covariate")
    t, y = _binary(persons, treatment), _binary(persons, outcome)
    groups = None if cluster is None else pd.factorize(persons[cluster])[0]
    if nuisances is None:
        nuisances = cross_fit_nuisances(x, t, y, learner=learner, folds=folds, seed=seed, groups=groups)
    elif len(nuisances) != len(persons):
        raise ValueError(f"nuisances has {len(nuisances)} rows, the person frame {len(persons)}: fit on these rows")
    e = nuisances["propensity"].to_numpy()
    overlap = overlap_summary(e, t, trim=trim)
    kept = kept_by_overlap(e, trim)
    e_kept = np.clip(e[kept], max(trim, MIN_PROPENSITY), 1 - max(trim, MIN_PROPENSITY))
    mu0, mu1 = nuisances["risk_untreated"].to_numpy()[kept], nuisances["risk_treated"].to_numpy()[kept]
    tk, yk = t[kept], y[kept]
    if tk.min(initial=1) == 1 or tk.max(initial=0) == 0:
        raise ValueError(f"no offered or no not-offered people left with a propensity in [{trim}, {1 - trim}]: "
                         "no comparison can be made")

    groups_kept = None if groups is None else groups[kept]
    effect, se, baseline = _aipw(tk, yk, e_kept, mu0, mu1, target, groups_kept)
    weights = _balancing_weights(tk, e_kept, target)
    balance = standardised_mean_differences(
        pd.DataFrame(x[kept], columns=list(covariates)), pd.Series(tk.astype(bool)), pd.Series(weights)
    )
    cells = _cells(tk, yk)  # cells of the people compared (the naive difference uses everyone)
    naive_flags = (SMALL_CELLS,) if min(_cells(t, y).values()) < min_cell else ()
    estimand = (f"effect of being offered {programme} on {outcome} within {horizon_months} months "
                f"(intention to treat), {TARGETS[target]}")
    shared = {"programme": programme, "outcome": outcome, "horizon_months": horizon_months, "estimand": estimand}
    library = library_label("sklearn", *(("lightgbm",) if learner == "lightgbm" else ()), prefix="riskpipe AIPW")
    diagnostics = {
        "target": target,
        "learner": learner,
        "folds": folds,
        "seed": seed,
        "standard_error": se,
        "clustered_by": cluster,
        "rows_compared": int(kept.sum()),
        "people_compared": int(kept.sum() if groups is None else np.unique(groups_kept).size),
        "overlap": overlap,
        "estimand_population": f"people whose estimated chance of an offer lies in [{trim}, {1 - trim}]",
        "balance": balance.astype(object).where(balance.notna(), None).to_dict("records"),  # NaN is not JSON
        "max_abs_smd_before": float(balance["smd_before"].abs().max()),
        "max_abs_smd_after": float(balance["smd_after"].abs().max()),
        "balanced_after_weighting": bool(balance["smd_after"].abs().max() < BALANCE_THRESHOLD),
        "cells": cells,
    }
    if cross_check:
        diagnostics["cross_check"] = econml_cross_check(x[kept], tk, yk, learner=learner, folds=folds, seed=seed,
                                                        clip=max(trim, MIN_PROPENSITY), groups=groups_kept)
    low, high = normal_interval(effect, se)
    flags = ((SMALL_CELLS,) if min(cells.values()) < min_cell else ()) + (
        (OVERLAP_TRIMMED,) if overlap["share_trimmed"] > 0.05 else ()
    )
    flags += () if diagnostics["balanced_after_weighting"] else (IMBALANCE_AFTER_WEIGHTING,)
    aipw = Estimate(
        **shared, design="aipw", effect=effect, ci_low=low, ci_high=high, baseline=baseline,
        n_treated=int(tk.sum()), n_comparison=int((1 - tk).sum()), library=library, diagnostics=diagnostics,
        flags=flags + ((NULL_RESULT,) if covers_zero(low, high) else ()),
    )
    return [aipw, _ipw(tk, yk, e_kept, target, shared, library, flags, overlap, groups_kept),
            _naive(t, y, shared, naive_flags, groups)]


def standard_error(phi: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Standard error of a mean from its influence values ``phi``; clustered when ``groups`` is given (a person's
    rows are summed before squaring, so several list runs of one child do not count as independent)."""
    if groups is None:
        return float(phi.std(ddof=1) / np.sqrt(len(phi)))
    sums = np.bincount(pd.factorize(groups)[0], weights=phi - phi.mean())
    n_groups = sums.size
    correction = n_groups / (n_groups - 1) if n_groups > 1 else 1.0
    return float(np.sqrt(correction * np.sum(sums**2)) / len(phi))


def _aipw(t, y, e, mu0, mu1, target: str, groups=None) -> tuple[float, float, float]:
    """Effect, influence-function standard error and untreated mean (the baseline) of the AIPW estimator."""
    if target == "ate":
        y0 = mu0 + (1 - t) * (y - mu0) / (1 - e)
        psi = mu1 + t * (y - mu1) / e - y0
        return float(psi.mean()), standard_error(psi, groups), float(y0.mean())
    share = t.mean()
    residual = y - mu0
    effect = float(np.mean(t * residual - (1 - t) * e / (1 - e) * residual) / share)
    phi = (t * residual - (1 - t) * e / (1 - e) * residual - t * effect) / share
    se = max(standard_error(phi, groups), _model_based_se(t, y, e, mu0, effect))
    return effect, se, float(y[t == 1].mean() - effect)


def _model_based_se(t, y, e, mu0, effect: float) -> float:
    """The ATT's standard error with the comparison's outcome variance taken from the outcome model,
    mu0 (1 − mu0), instead of the squared residuals.

    With a rare outcome, a small, heavily weighted comparison group (listed children a practitioner did not
    offer) often shows no outcome at all; its squared residuals are then ~mu0² and the usual interval shrinks
    to nothing around an estimate driven by that zero. The larger of the two errors is used: the usual one
    when outcomes are common, this one when they are rare.
    """
    n, n_treated = len(t), t.sum()
    weight = e / (1 - e)
    treated = np.sum(t * (y - mu0 - effect) ** 2)
    comparison = np.sum((1 - t) * weight**2 * mu0 * (1 - mu0))
    return float(np.sqrt(treated + comparison) / n_treated) if n and n_treated else float("nan")


def _balancing_weights(t, e, target: str) -> np.ndarray:
    if target == "ate":
        return t / e + (1 - t) / (1 - e)
    return t + (1 - t) * e / (1 - e)


def _ipw(t, y, e, target, shared, library, flags, overlap, groups=None) -> Estimate:
    """Propensity weighting alone (normalised weights); standard error treats the propensity as known."""
    w = _balancing_weights(t, e, target)
    mean1 = np.sum(w * t * y) / np.sum(w * t)
    mean0 = np.sum(w * (1 - t) * y) / np.sum(w * (1 - t))
    phi = w * t * (y - mean1) / np.mean(w * t) - w * (1 - t) * (y - mean0) / np.mean(w * (1 - t))
    effect = float(mean1 - mean0)
    low, high = normal_interval(effect, standard_error(phi, groups))
    return Estimate(
        **shared, design="ipw_naive", effect=effect, ci_low=low, ci_high=high, baseline=float(mean0),
        n_treated=int(t.sum()), n_comparison=int((1 - t).sum()), library=library,
        diagnostics={"target": target, "overlap_share_trimmed": overlap["share_trimmed"],
                     "note": "propensity weighting without an outcome model; interval ignores propensity estimation"},
        flags=flags + ((NULL_RESULT,) if covers_zero(low, high) else ()),
    )


def naive_offer_difference(rows: pd.DataFrame, *, outcome: str, programme: str, horizon_months: int,
                           treatment: str = "offered", cluster: str | None = None, min_cell: int = 10) -> Estimate:
    """Offered minus not-offered outcome rate over ``rows`` (e.g. every child scored, not only those the
    weighting compares): what a dashboard would show. Standard error clustered by ``cluster`` when given."""
    t, y = _binary(rows, treatment), _binary(rows, outcome)
    if t.min(initial=1) == 1 or t.max(initial=0) == 0:
        raise ValueError("no offered or no not-offered rows: no difference can be taken")
    groups = None if cluster is None else pd.factorize(rows[cluster])[0]
    flags = (SMALL_CELLS,) if min(_cells(t, y).values()) < min_cell else ()
    shared = {"programme": programme, "outcome": outcome, "horizon_months": horizon_months,
              "estimand": f"difference in {outcome} within {horizon_months} months, offered minus not offered "
                          "(no adjustment)"}
    return _naive(t, y, shared, flags, groups)


def _naive(t, y, shared, flags, groups=None) -> Estimate:
    """Offered minus not-offered outcome rate, no adjustment (what a dashboard would show)."""
    y1, y0 = y[t == 1], y[t == 0]
    p1, p0 = y1.mean(), y0.mean()
    effect = float(p1 - p0)
    phi = t * (y - p1) / t.mean() - (1 - t) * (y - p0) / (1 - t).mean()
    low, high = normal_interval(effect, standard_error(phi, groups))
    return Estimate(
        **shared, design="naive_difference", effect=effect, ci_low=low, ci_high=high, baseline=float(p0),
        n_treated=int(y1.size), n_comparison=int(y0.size), library=library_label("numpy"),
        diagnostics={"note": "unadjusted: offers go to children at different risk, so this mixes risk with effect"},
        flags=flags + ((NULL_RESULT,) if covers_zero(low, high) else ()),
    )


def _cells(t, y) -> dict[str, int]:
    return {
        "offered_with_outcome": int(((t == 1) & (y == 1)).sum()),
        "offered_without_outcome": int(((t == 1) & (y == 0)).sum()),
        "not_offered_with_outcome": int(((t == 0) & (y == 1)).sum()),
        "not_offered_without_outcome": int(((t == 0) & (y == 0)).sum()),
    }


def econml_cross_check(x, t, y, *, learner: str, folds: int, seed: int, clip: float, groups=None) -> dict:
    """Average effect from econml's ``LinearDRLearner`` on the same rows, or why it was skipped.

    econml is an optional extra (``impact``); without it the dict says ``skipped``. sklearn warns that a
    column-vector y was passed (econml reshapes internally) and econml 0.17 raises FutureWarnings about
    scikit-learn 1.10: both are caught here, nowhere else. ``groups`` (a person per row) keeps a person's
    rows in one cross-fitting fold.
    """
    try:
        from econml.dr import LinearDRLearner
    except ImportError:
        return {"skipped": "econml is not installed (pip install riskpipe[impact])"}
    from sklearn.exceptions import DataConversionWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DataConversionWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"(econml|sklearn)(\..*)?")
        learner_model = nuisance_model(learner, seed)
        model = LinearDRLearner(
            model_propensity=learner_model, model_regression=clone(learner_model), discrete_outcome=True,
            cv=folds, min_propensity=clip, random_state=seed,
        )
        model.fit(y, t, X=None, W=x, groups=groups)
        effect = float(np.ravel(model.ate())[0])
        low, high = (float(np.ravel(v)[0]) for v in model.ate_interval(alpha=0.05))
    return {"library": library_label("econml"), "estimator": "LinearDRLearner (average effect)", "effect": effect,
            "ci_low": low, "ci_high": high}


def plot_offer_balance(estimate: Estimate) -> Figure:
    """Love plot and propensity overlap histogram of an ``aipw`` Estimate (from its diagnostics)."""
    if "balance" not in estimate.diagnostics or "overlap" not in estimate.diagnostics:
        raise ValueError(f"estimate of design {estimate.design!r} carries no balance/overlap diagnostics")
    return plot_balance(estimate.diagnostics["balance"], estimate.diagnostics["overlap"],
                        title=f"Offered and not offered, before and after weighting: "
                              f"{estimate.outcome.replace('_', ' ')}")
