"""How latent causes become yearly probabilities: the logistic link, age effects, group effects and
the measurement bias of who gets referred.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams

AGE_CARE = [(1, 1.5), (5, 0.0), (10, -0.4), (14, 0.15), (17, 0.7), (18, -0.6)]
AGE_REFERRAL = [(1, 0.35), (5, 0.1), (13, 0.0), (17, 0.25), (18, 0.0)]
# informal kinship care keeps some children out of the care system (DfE: Asian under-, Mixed over-represented)
CARE_ENTRY_GROUP_EFFECT = {"Asian": -0.95, "Mixed": 0.25}
AGE_AE = [(1, 0.5), (5, 0.3), (12, -0.2), (18, 0.3)]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function: a log-odds to a probability."""
    return 1.0 / (1.0 + np.exp(-x))


def age_term(age: np.ndarray, table: list[tuple[float, float]]) -> np.ndarray:
    """Piecewise-constant effect of age: ``table`` is [(upper_age_exclusive, effect), ...]."""
    out = np.zeros_like(age)
    lower = -np.inf
    for upper, effect in table:
        out = np.where((age >= lower) & (age < upper), effect, out)
        lower = upper
    return out


def referral_bias(cfg: SynthParams, group: np.ndarray, imd: np.ndarray) -> np.ndarray:
    """Multiplier on each child's referral rate: by ethnicity group and for the most deprived deciles.

    This is measurement bias (who gets noticed), not a difference in true need.
    """
    bias = cfg.measurement_bias
    mult = pd.Series(group).map(bias.referral_rate_by_ethnicity).fillna(1.0).to_numpy()
    return mult * np.where(imd <= 2, bias.referral_rate_most_deprived, 1.0)
