"""ROC data for `dvc plots`: the same curve sklearn computes, read off on a shared grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from models.plots import roc_table


def test_roc_table_reads_sklearn_curve_at_each_grid_point():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    score = y * 0.8 + rng.normal(size=400)
    scores = pd.DataFrame({"split": "test", "outcome": y, "margin_released": score,
                           "score_rule": np.round(score)})  # the rule has ties
    table = roc_table(scores, points=51)
    assert list(table.columns) == ["fpr", "lightgbm", "rule"]
    for model, col in (("lightgbm", "margin_released"), ("rule", "score_rule")):
        fpr, tpr, _ = roc_curve(y, scores[col])
        expected = [tpr[fpr <= g].max() for g in table["fpr"]]
        np.testing.assert_allclose(table[model], expected)
    assert table["lightgbm"].iloc[-1] == 1.0 and table["lightgbm"].is_monotonic_increasing
