"""Training for risk without help: rows whose outcome window holds an early help offer (issue 19).

Once a list triggers help, a listed child's recorded outcome is the outcome *with* help, not the untreated
risk the model promises (the spec's ``estimand``). Fitting those labels as they are (``naive``) teaches the
model that listed profiles are lower risk, so the next list under-predicts exactly the children the service
helps (performative prediction; ../shared/DOMAIN_IMPACT.md section 4). Two corrections:

- ``ipw``: rows whose outcome window holds an offer are dropped, and the others weighted by 1/(1 - e(x)),
  e(x) the chance of an offer given the row's features (all decided before the index date), fitted out of
  fold by logistic regression on the years that hold offers (other years' rows keep weight 1) and recalibrated by
  isotonic regression of the offer on it. Valid where the offer depends on what the features see and e(x) < 1;
  e(x) is clipped at ``max_propensity`` and the effective sample size reported.
- ``dropin``: every row is kept; each offered row without the outcome is split into a copy with the outcome
  (weight p) and one without (1 - p), p = -effect / (1 - the offered rows' outcome rate): the labels the
  offered would have had without help, on average, under the estimated effect (a reduction never adds
  outcomes, so offered rows with the outcome keep it).

The exposure columns (``models.spec.OFFER_EXPOSURE_COLUMNS``, built by ``features.offers``) are never model
inputs: :func:`check_no_exposure_inputs` stops training if one is.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from models.learners import make_logistic_pipeline
from models.spec import OFFER_EXPOSURE_COLUMNS, TrainingSpec

PROPENSITY_FOLDS = 5
OFFERED = OFFER_EXPOSURE_COLUMNS[0]


class OfferExposureAsInput(ValueError):
    """A model input is the offer exposure: the help the list triggered, which the model must never see."""


@dataclass(frozen=True)
class UntreatedRows:
    """The rows, labels and weights the learners are fitted on, and what was done (``summary``, for the card).

    ``rows`` keeps the input frame's columns (a dropin row may appear twice, once per label).
    """

    rows: pd.DataFrame
    y: np.ndarray
    weights: np.ndarray | None
    summary: dict = field(default_factory=dict)


def check_no_exposure_inputs(feature_columns: list[str]) -> None:
    """Stop when a model input is an offer exposure column.

    Raises:
        OfferExposureAsInput: naming the columns.
    """
    bad = [c for c in feature_columns if c in OFFER_EXPOSURE_COLUMNS]
    if bad:
        raise OfferExposureAsInput(f"model inputs {bad} say whether early help was offered in the outcome window: "
                                   "the help the list triggered is never a model input (training.untreated "
                                   "handles it)")


def has_exposure(rows: pd.DataFrame) -> bool:
    """Whether ``rows`` carry offer exposure with at least one offer (``offered_in_window``)."""
    return OFFERED in rows.columns and bool(rows[OFFERED].fillna(False).astype(bool).any())


def resolve_mode(training: TrainingSpec, *frames: pd.DataFrame) -> tuple[str, str]:
    """The mode used and why: the spec's, else ``ipw`` when offers fall in the windows of any of ``frames`` (the
    training and validation rows), else naive."""
    if training.untreated is not None:
        return training.untreated, "set by the spec (training.untreated)"
    if any(has_exposure(rows) for rows in frames):
        return "ipw", "default: offer records exist for the training years"
    return "naive", "default: no offer records for the training years, so every label is a label without help"


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size, (sum w)^2 / sum w^2: the rows an unweighted sample as informative holds."""
    w = np.asarray(weights, dtype=np.float64)
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else 0.0


def inverse_untreated_weights(propensity: np.ndarray, max_propensity: float) -> tuple[np.ndarray, int]:
    """1 / (1 - e) with e clipped at ``max_propensity``; returns ``(weights, rows clipped)``."""
    e = np.asarray(propensity, dtype=np.float64)
    if np.any((e < 0) | (e > 1)) or np.any(np.isnan(e)):
        raise ValueError("propensities must lie in [0, 1]")
    clipped = int((e > max_propensity).sum())
    return 1.0 / (1.0 - np.minimum(e, max_propensity)), clipped


def out_of_fold_propensity(rows: pd.DataFrame, offered: np.ndarray, feature_columns: list[str],
                           categorical: list[str], seed: int) -> np.ndarray:
    """e(x) = P(offer in the window | features) for each row, each fold predicted by a logistic regression fitted
    without it (an in-sample fit would push the offered rows' e towards 1 and the weights with it)."""
    e = np.zeros(len(rows))
    folds = int(min(PROPENSITY_FOLDS, offered.sum(), len(offered) - offered.sum()))
    if folds < 2:
        return np.full(len(rows), offered.mean())
    for fit_rows, predict_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, offered):
        model = make_logistic_pipeline(feature_columns, categorical, {"C": 1.0, "max_iter": 2000}, seed)
        with warnings.catch_warnings():
            # lbfgs may stop at max_iter on nearly separable folds (a list cut on the same features); the
            # out-of-fold e is clipped and judged by its effective sample size anyway
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            model.fit(rows.iloc[fit_rows], offered[fit_rows])
        e[predict_rows] = model.predict_proba(rows.iloc[predict_rows])[:, 1]
    return calibrated_propensity(e, offered)


def calibrated_propensity(e: np.ndarray, offered: np.ndarray) -> np.ndarray:
    """``e`` mapped by an isotonic regression of ``offered`` on it: the observed offer rate among rows scored alike.

    Why: a list offers the top of a score, but overrides keep the chance of an offer below 1 even at the very top
    (about 0.9 where a tenth of the listed are not offered), while a logistic link runs on towards 1 there. The
    weight 1/(1 - e) is most sensitive exactly there: on a simulated county the logistic e of the top 37 rows
    averaged 0.975 against a true 0.896, so the few high-risk rows kept counted twice what they should, and the
    weighted kept rows' mean true risk ran 10% above the population's (isotonic: 1%). The map keeps e's order.
    """
    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(e, offered).predict(e)


def offered_mask(rows: pd.DataFrame) -> np.ndarray:
    """Whether each row's outcome window holds an offer (False where the exposure is missing)."""
    if OFFERED not in rows.columns:
        return np.zeros(len(rows), dtype=bool)
    return rows[OFFERED].fillna(False).astype(bool).to_numpy()


def ipw_rows(rows: pd.DataFrame, y: np.ndarray, feature_columns: list[str], categorical: list[str],
             training: TrainingSpec, seed: int) -> UntreatedRows:
    """Drop the offered rows and weight the rest by 1/(1 - e(x)), e fitted on the years that hold offers.

    Weights are scaled to average 1 over the kept rows, so LightGBM's leaf sizes and the logistic penalty mean
    what they meant unweighted.
    """
    offered = offered_mask(rows)
    years = rows["index_year"].astype("int64").to_numpy()
    exposed_years = np.isin(years, np.unique(years[offered]))
    e = np.zeros(len(rows))
    if exposed_years.any():
        e[exposed_years] = out_of_fold_propensity(rows[exposed_years], offered[exposed_years].astype(int),
                                                  feature_columns, categorical, seed)
    weights, clipped = inverse_untreated_weights(e, training.max_propensity)
    kept = ~offered
    w = weights[kept] / weights[kept].mean()
    summary = {"dropped_offered_rows": int(offered.sum()), "kept_rows": int(kept.sum()),
               "years_with_offers": sorted(int(y_) for y_ in np.unique(years[offered])),
               "propensity_clipped_rows": clipped, "max_propensity": training.max_propensity,
               "propensity_mean_offered": round(float(e[offered].mean()), 4) if offered.any() else None,
               "max_weight": round(float(w.max()), 3) if len(w) else None,
               "effective_sample_size": round(effective_sample_size(w), 1)}
    return UntreatedRows(rows[kept], np.asarray(y)[kept], w, summary)


def dropin_rows(rows: pd.DataFrame, y: np.ndarray, effect: float) -> UntreatedRows:
    """Every row kept; offered rows without the outcome split into weighted copies with and without it.

    Args:
        effect: the offer's effect among the offered, absolute (-0.03 = 3 points fewer outcomes).
    """
    if not -1.0 <= effect <= 0.0:
        raise ValueError(f"dropin effect must be a reduction between -1 and 0, not {effect}")
    y = np.asarray(y, dtype=np.int64)
    offered = offered_mask(rows)
    rate = float(y[offered].mean()) if offered.any() else 0.0
    p = min(-effect / (1.0 - rate), 1.0) if rate < 1.0 else 0.0
    flip = offered & (y == 0)
    weights = np.where(flip, 1.0 - p, 1.0)
    rows_out = pd.concat([rows, rows[flip]], ignore_index=False)
    y_out = np.concatenate([y, np.ones(int(flip.sum()), dtype=np.int64)])
    w_out = np.concatenate([weights, np.full(int(flip.sum()), p)])
    summary = {"offered_rows": int(offered.sum()), "offered_outcome_rate": round(rate, 4), "effect": effect,
               "share_relabelled": round(p, 4), "effective_sample_size": round(effective_sample_size(w_out), 1)}
    return UntreatedRows(rows_out, y_out, w_out, summary)


# the impact designs whose estimate a drop-in correction may use, best first (pipeline.impact.estimate designs)
DROPIN_DESIGNS = ("aipw", "rd_fuzzy")


def effect_from_estimates(summary: dict | None, outcome: str, horizon_months: int | None) -> float | None:
    """The offer's estimated effect on ``outcome`` within ``horizon_months`` from reports/impact/estimates.json
    (``estimates``: ``design, outcome, horizon_months, effect``), AIPW first; None when there is none. An estimated
    increase is read as no effect (0): drop-in never takes outcomes away from the offered."""
    for design in DROPIN_DESIGNS:
        for estimate in (summary or {}).get("estimates") or []:
            if (estimate.get("design") == design and estimate.get("outcome") == outcome
                    and estimate.get("horizon_months") == horizon_months and estimate.get("effect") is not None):
                return max(-1.0, min(0.0, float(estimate["effect"])))
    return None


def untreated_training_rows(rows: pd.DataFrame, y: np.ndarray, feature_columns: list[str], categorical: list[str],
                            training: TrainingSpec, seed: int, *, dropin_effect: float | None = None,
                            mode: tuple[str, str] | None = None) -> UntreatedRows:
    """The rows, labels and weights to fit for the spec's ``training.untreated`` (see the module docstring).

    Args:
        rows: labelled rows (``index_year``, the features and, when known, ``offered_in_window``).
        y: their 0/1 outcomes.
        dropin_effect: an estimated effect (e.g. from reports/impact/estimates.json) that overrides the spec's.
        mode: ``(mode, why)`` already resolved (:func:`resolve_mode` over the training and validation rows);
            None = resolved from ``rows``.

    Raises:
        OfferExposureAsInput: a model input is an exposure column.
    """
    check_no_exposure_inputs(feature_columns)
    mode, why = mode or resolve_mode(training, rows)
    if mode != "naive" and OFFERED not in rows.columns:
        raise ValueError(f"training.untreated: {mode} needs the offer exposure ({OFFERED}) in the features; "
                         "the county has no offer records (use naive)")
    if mode == "ipw":
        out = ipw_rows(rows, y, feature_columns, categorical, training, seed)
    elif mode == "dropin":
        effect = dropin_effect if dropin_effect is not None else training.dropin_effect
        out = dropin_rows(rows, y, float(effect))
    else:
        offered = offered_mask(rows)
        out = UntreatedRows(rows, np.asarray(y), None, {"offered_rows_fitted_as_recorded": int(offered.sum())})
    return UntreatedRows(out.rows, out.y, out.weights, {"mode": mode, "why": why, **out.summary})


def describe_untreated(summary: dict | None) -> str:
    """One sentence for the model card: how training treated rows whose outcome window held an offer of help."""
    if not summary:
        return "Not recorded (trained before offer handling existed)"
    mode = summary.get("mode")
    if mode == "ipw":
        return (f"Rows whose outcome window held an offer of help were left out "
                f"({summary.get('dropped_offered_rows', 0):,} rows) and the others weighted by the inverse chance "
                f"of not being offered (capped at {1 / (1 - summary.get('max_propensity', 0.95)):.0f}), so the model "
                f"learns risk without help; effective sample size {summary.get('effective_sample_size', 0):,.0f} of "
                f"{summary.get('kept_rows', 0):,} rows ({summary.get('why')})")
    if mode == "dropin":
        return (f"Outcomes of the {summary.get('offered_rows', 0):,} offered rows were corrected by the estimated "
                f"effect of the offer ({summary.get('effect', 0) * 100:+.1f} percentage points), so the model learns "
                f"risk without help ({summary.get('why')})")
    offered = summary.get("offered_rows_fitted_as_recorded", 0)
    return ("Every label fitted as recorded" + (f": {offered:,} rows had an offer in their window, so the model "
                                                "under-predicts risk without help for children like them"
                                                if offered else "") + f" ({summary.get('why')})")
