"""Calibrated risk, the uncalibrated margin that ranks it, and LightGBM's per-row contributions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.learners import find_lightgbm, lightgbm_margin


def score_with_contributions(model: Any, features: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Calibrated risk from ``model.predict_proba`` and LightGBM per-row contributions (log-odds, no bias).

    Args:
        model: the registered sklearn model (calibrated pipeline ending in an LGBMClassifier).
        features: the model's feature columns only, in training order.

    Returns:
        ``risk`` (Series named ``risk``) and one contribution column per feature, both on ``features``' index.
    """
    risk = pd.Series(model.predict_proba(features)[:, 1], index=features.index, name="risk")
    preprocess, lgbm = find_lightgbm(model)
    prepared = preprocess.transform(features) if preprocess is not None else features
    contrib = np.asarray(lgbm.predict(prepared, pred_contrib=True))
    names = list(getattr(prepared, "columns", features.columns))
    return risk, pd.DataFrame(contrib[:, :-1], index=features.index, columns=names)


def score_margin(model: Any, features: pd.DataFrame) -> pd.Series:
    """LightGBM's uncalibrated margin of each row (``models.learners.lightgbm_margin``), named ``margin``.

    The list ranks by it (:func:`pipeline.lists.selection.select_top_by_capacity`), as evaluation does.
    """
    return pd.Series(lightgbm_margin(model, features), index=features.index, name="margin")
