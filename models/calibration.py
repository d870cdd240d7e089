"""Calibrating a fitted model on the validation year, choosing the method by held-out log-loss.

Choosing on the same rows a calibrator was fitted to would always favour isotonic regression (it
can memorise them), so each method is scored by K-fold cross-fitting within the validation year;
the winner is then refitted on the whole validation year. The model itself stays frozen, and its
validation scores are computed once: the cross-fitting only refits the one-dimensional calibrator.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

log = logging.getLogger(__name__)


class PrecomputedScore(ClassifierMixin, BaseEstimator):
    """A stand-in classifier whose decision function is the single input column (a model's score)."""

    def fit(self, X, y=None) -> PrecomputedScore:
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)[:, 0]

    def predict(self, X) -> np.ndarray:
        return (self.decision_function(X) > 0).astype(int)


def model_response(model, X: pd.DataFrame) -> np.ndarray:
    """What scikit-learn's calibrators read from ``model``: decision function, else P(class 1)."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=np.float64)
    return model.predict_proba(X)[:, 1]


def fit_calibrator(calibrator: CalibratedClassifierCV, X, y, sample_weight: np.ndarray | None
                   ) -> CalibratedClassifierCV:
    """``calibrator.fit`` with row weights (``models.untreated``) when given.

    scikit-learn warns that a FrozenEstimator does not take the weights, so they "will only be used for the
    calibration itself": that is what is wanted (the model is frozen on purpose), so that one warning is ignored.
    """
    if sample_weight is None:
        return calibrator.fit(X, y)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Since FrozenEstimator does not appear to accept sample_weight")
        return calibrator.fit(X, y, sample_weight=sample_weight)


def cross_fitted_log_loss(score: np.ndarray, y: np.ndarray, method: str, *, folds: int, seed: int,
                          sample_weight: np.ndarray | None = None) -> float:
    """Log-loss of ``method``'s calibrated probabilities, each fold predicted by a calibrator fitted without it
    (rows weighted by ``sample_weight``, the ``models.untreated`` weights, when given)."""
    column = score.reshape(-1, 1)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    passthrough = PrecomputedScore().fit(column)
    held_out = np.zeros(len(y))
    for fit_rows, predict_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(column, y):
        calibrator = CalibratedClassifierCV(FrozenEstimator(passthrough), method=method)
        fit_calibrator(calibrator, column[fit_rows], y[fit_rows], None if sample_weight is None else w[fit_rows])
        held_out[predict_rows] = calibrator.predict_proba(column[predict_rows])[:, 1]
    return float(log_loss(y, held_out, labels=[0, 1], sample_weight=w))


def calibrate_on_validation(model, X_validation: pd.DataFrame, y_validation, methods: list[str], *,
                            folds: int = 5, seed: int = 0, sample_weight: np.ndarray | None = None
                            ) -> tuple[CalibratedClassifierCV, dict]:
    """Calibrate a fitted ``model`` on the validation year with the best of ``methods``.

    Returns:
        The calibrated classifier (refitted on all validation rows) and
        ``{"method": chosen, "log_loss": {method: cross-fitted log-loss}}``.
    """
    y = np.asarray(y_validation, dtype=np.int64)
    folds = int(min(folds, y.sum(), len(y) - y.sum()))
    if folds < 2:
        raise ValueError("the validation year needs at least two positives and two negatives to calibrate")
    score = model_response(model, X_validation)
    losses = {m: cross_fitted_log_loss(score, y, m, folds=folds, seed=seed, sample_weight=sample_weight)
              for m in methods}
    chosen = min(losses, key=losses.get)
    log.info("calibration: %s chosen (cross-fitted validation log-loss %s)", chosen,
             ", ".join(f"{m} {v:.5f}" for m, v in losses.items()))
    calibrated = fit_calibrator(CalibratedClassifierCV(FrozenEstimator(model), method=chosen), X_validation, y,
                                sample_weight)
    return calibrated, {"method": chosen, "log_loss": losses}


class CalibratedScore(ClassifierMixin, BaseEstimator):
    """A fitted model and a calibrator fitted on its scores, as one classifier (``predict_proba``).

    Used where the calibrator was fitted on scores the model itself did not give (out-of-fold scores of
    models fitted without the row's year, :func:`calibrate_on_scores`); ``estimator`` is the model, so
    ``models.learners.find_lightgbm`` finds its trees as it does inside ``CalibratedClassifierCV``.
    """

    def __init__(self, estimator=None, calibrator=None):
        self.estimator = estimator
        self.calibrator = calibrator

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def predict_proba(self, X) -> np.ndarray:
        return self.calibrator.predict_proba(model_response(self.estimator, X).reshape(-1, 1))

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def calibrate_on_scores(model, score: np.ndarray, y, methods: list[str], *, folds: int = 5, seed: int = 0,
                        sample_weight: np.ndarray | None = None) -> tuple[CalibratedScore, dict]:
    """Calibrate ``model`` on scores given in advance (``model_response`` values or out-of-fold ones), the
    method chosen by cross-fitted log-loss as in :func:`calibrate_on_validation`.

    Returns:
        The calibrated classifier and ``{"method", "log_loss", "rows", "positives"}``.
    """
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    folds = int(min(folds, y.sum(), len(y) - y.sum()))
    if folds < 2:
        raise ValueError("calibration needs at least two positives and two negatives")
    losses = {m: cross_fitted_log_loss(score, y, m, folds=folds, seed=seed, sample_weight=sample_weight)
              for m in methods}
    chosen = min(losses, key=losses.get)
    column = score.reshape(-1, 1)
    calibrator = fit_calibrator(CalibratedClassifierCV(FrozenEstimator(PrecomputedScore().fit(column)), method=chosen),
                                column, y, sample_weight)
    return CalibratedScore(model, calibrator), {"method": chosen, "log_loss": losses, "rows": int(len(y)),
                                                "positives": int(y.sum())}
