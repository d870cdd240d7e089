"""The rule-based baseline: an additive points score, as councils' own indicator tools work.

The points table is declared in the model spec (``learners.rule.criteria``; see
``models/specs/<model>.yaml`` for each line's source and rationale) and is never learnt: ``fit``
only checks that the named features exist. Missing feature values score no points, as a
paper-based tool would when the information is not on file.
"""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
             "!=": operator.ne}


class RuleScore(ClassifierMixin, BaseEstimator):
    """Additive points score over ``criteria``: ``[(feature, op, value, points), ...]``.

    ``decision_function`` returns the points, so scikit-learn's calibrators can map points to a
    probability on the validation year without changing the rule.
    """

    def __init__(self, criteria: list[tuple[str, str, float, int]] | None = None):
        self.criteria = criteria

    def fit(self, X: pd.DataFrame, y=None) -> RuleScore:
        criteria = self.criteria or []
        missing = sorted({feature for feature, *_ in criteria} - set(X.columns))
        if missing:
            raise KeyError(f"rule score needs features not in the frame: {missing}")
        unknown = sorted({op for _, op, *_ in criteria} - set(OPERATORS))
        if unknown:
            raise ValueError(f"unknown rule operators: {unknown}")
        self.classes_ = np.array([0, 1])
        self.max_points_ = int(sum(max(points, 0) for *_, points in criteria))
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Total points per row."""
        total = np.zeros(len(X))
        for feature, op, value, points in self.criteria or []:
            values = pd.to_numeric(X[feature], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
            with np.errstate(invalid="ignore"):
                hit = OPERATORS[op](values, value) & ~np.isnan(values)
            total += points * hit
        return total

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the row scores any points (use a calibrated wrapper for probabilities)."""
        return (self.decision_function(X) > 0).astype(int)


def rule_criteria_from_spec(rule_spec) -> list[tuple[str, str, float, int]]:
    """The spec's ``learners.rule`` as plain tuples for :class:`RuleScore`."""
    return [(c.feature, c.op, float(c.value), int(c.points)) for c in rule_spec.criteria]
