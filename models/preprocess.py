"""Casting a features frame into the dtypes the learners need, as a pipeline step.

pandas 3 holds text as ``str``, which LightGBM rejects, and nullable integers (``Int8``) that
scikit-learn reads as objects. :class:`FeatureFrameCaster` learns each categorical column's levels
on the training years and applies exactly those levels later, so a level first seen in the test
or scoring year becomes missing instead of shifting the codes the model learnt.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

MISSING_LEVEL = "missing"


def categorical_columns(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """The columns of ``columns`` holding text, categories or booleans-as-text (not numbers)."""
    return [
        c for c in columns
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]


class FeatureFrameCaster(TransformerMixin, BaseEstimator):
    """Select the model's feature columns; categoricals -> fixed categories, the rest -> float64.

    Args:
        feature_columns: model inputs, in order.
        categorical: the subset of ``feature_columns`` that is categorical.
        as_category: True -> pandas ``category`` (LightGBM); False -> text with missing as
            ``"missing"`` (for one-hot encoding).
    """

    def __init__(self, feature_columns: list[str], categorical: list[str], as_category: bool = True):
        self.feature_columns = feature_columns
        self.categorical = categorical
        self.as_category = as_category

    def fit(self, X: pd.DataFrame, y=None) -> FeatureFrameCaster:
        self.levels_ = {
            c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in self.categorical
        }
        self.n_features_in_ = len(self.feature_columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.feature_columns if c not in X.columns]
        if missing:
            raise KeyError(f"feature columns missing from the input: {missing}")
        out = {}
        for c in self.feature_columns:
            if c in self.levels_:
                text = X[c].astype("string").astype(object).where(X[c].notna(), None)
                if self.as_category:
                    out[c] = pd.Categorical(text, categories=self.levels_[c])
                else:
                    known = text.where(text.isin(self.levels_[c]), None)
                    out[c] = known.fillna(MISSING_LEVEL).astype(object).to_numpy()
            else:
                out[c] = pd.to_numeric(X[c], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_columns, dtype=object)
