"""Calibrated risk and LightGBM's own per-row contributions, from the registered model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def find_lightgbm(model: Any) -> tuple[Any, Any]:
    """``(preprocess, lgbm)`` inside a calibrated pipeline: walks CalibratedClassifierCV, FrozenEstimator, Pipeline.

    ``preprocess`` is the pipeline before the LightGBM step (or None); raises TypeError if none is found.
    """
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    obj = model
    for _ in range(8):
        if isinstance(obj, LGBMClassifier):
            return None, obj
        if isinstance(obj, Pipeline) and isinstance(obj.steps[-1][1], LGBMClassifier):
            return (obj[:-1] if len(obj.steps) > 1 else None), obj.steps[-1][1]
        if isinstance(obj, Pipeline):
            obj = obj.steps[-1][1]
        elif getattr(obj, "calibrated_classifiers_", None):
            obj = obj.calibrated_classifiers_[0].estimator
        elif hasattr(obj, "estimator"):
            obj = obj.estimator
        else:
            break
    raise TypeError(f"no LightGBM classifier found inside {type(model).__name__}")


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
