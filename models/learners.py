"""The learners: LightGBM with early stopping, and an L2 logistic regression, as sklearn Pipelines.

Both start with :class:`~models.preprocess.FeatureFrameCaster`, so the logged model takes the raw
features frame (text columns included) and ``predict_proba`` works on it directly.
"""

from __future__ import annotations

import lightgbm as lgb
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.preprocess import FeatureFrameCaster

LIGHTGBM_DEFAULTS = {
    "n_estimators": 2000,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "verbose": -1,
}
EARLY_STOPPING_ROUNDS = 100
LOGISTIC_DEFAULTS = {"C": 1.0, "max_iter": 2000}


def make_lightgbm_pipeline(feature_columns: list[str], categorical: list[str], params: dict, seed: int) -> Pipeline:
    """Caster (categories) then ``LGBMClassifier``; spec params override the defaults."""
    settings = {**LIGHTGBM_DEFAULTS, **{k: v for k, v in params.items() if k != "early_stopping_rounds"}}
    settings["random_state"] = seed
    return Pipeline([
        ("features", FeatureFrameCaster(feature_columns, categorical, as_category=True)),
        ("lightgbm", lgb.LGBMClassifier(**settings)),
    ])


def fit_lightgbm(pipeline: Pipeline, X_train: pd.DataFrame, y_train, X_validation: pd.DataFrame, y_validation,
                 early_stopping_rounds: int = EARLY_STOPPING_ROUNDS) -> Pipeline:
    """Fit with early stopping on the validation year's log-loss; returns the fitted pipeline."""
    caster = pipeline.named_steps["features"].fit(X_train)
    pipeline.fit(
        X_train, y_train,
        lightgbm__eval_X=caster.transform(X_validation),
        lightgbm__eval_y=y_validation,
        lightgbm__eval_metric="binary_logloss",
        lightgbm__callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    return pipeline


def make_logistic_pipeline(feature_columns: list[str], categorical: list[str], params: dict, seed: int) -> Pipeline:
    """Caster (text), median-impute + standardise numbers, one-hot categories, L2 logistic regression."""
    numeric = [c for c in feature_columns if c not in categorical]
    columns = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", min_frequency=10), categorical),
    ])
    settings = {**LOGISTIC_DEFAULTS, **params, "random_state": seed}
    return Pipeline([
        ("features", FeatureFrameCaster(feature_columns, categorical, as_category=False)),
        ("columns", columns),
        ("logistic", LogisticRegression(**settings)),
    ])
