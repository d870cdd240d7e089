"""Calibrated risk, the uncalibrated margin that ranks it, and the released learner's per-row contributions."""

from __future__ import annotations

from typing import Any

import pandas as pd

from models.learners import model_contributions, model_margin


def score_with_contributions(model: Any, features: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Calibrated risk from ``model.predict_proba`` and each input's contribution to the row's margin
    (``models.learners.model_contributions``: LightGBM's log-odds with no bias, a logistic model's, the rule's points).

    Args:
        model: the registered sklearn model (the spec's released learner, calibrated: LightGBM unless ``release``
            names another).
        features: the model's feature columns only, in training order.

    Returns:
        ``risk`` (Series named ``risk``) and one contribution column per feature, both on ``features``' index.
    """
    risk = pd.Series(model.predict_proba(features)[:, 1], index=features.index, name="risk")
    # LightGBM's TreeSHAP, or a logistic model's or the rule's parts (the spec's released learner)
    return risk, model_contributions(model, features)


def score_margin(model: Any, features: pd.DataFrame) -> pd.Series:
    """The released learner's uncalibrated margin of each row (``models.learners.model_margin``), named ``margin``.

    The list ranks by it (:func:`pipeline.lists.selection.select_top_by_capacity`), as evaluation does.
    """
    return pd.Series(model_margin(model, features), index=features.index, name="margin")
