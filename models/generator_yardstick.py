"""A second yardstick from synthetic truth: the list a model could make if it knew everything the records hold.

The generator's own probability ``p_true`` includes what no record holds (the synthetic help's unobserved
confounder, which moves each child's care-entry log-odds and referral rate), so the generator's list is
out of any model's reach: a model at 0.9 of it may be missing nothing it could see. Truth also holds
``p_state``, the generator's probability from the same log-odds without those terms (equal to ``p_true``
where nothing unrecorded enters, as for NEET). Ranking by ``p_state`` and scoring the list with ``p_true``
gives the expected precision of the best list the child's state allows (the state still holds latent need,
which the records show only in part, so this too is a ceiling, but one that asks nothing unrecordable).
Each model's expected precision is reported as a share of it, with a paired interval: the ``p_state`` list
is one more decision-only score of the generator comparison's bootstrap
(:func:`models.evaluation.generator_comparison`), so a share's replicates are of the same resampled rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

STATE_RANKED = "p_state"  # truth's column: the generator's probability without unrecorded factors
STATE_RANKED_SCORE = "state_ranked"  # the p_state list's name among the scores of one bootstrap (not a model)


def state_ranking(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """``p_state`` as a decision-only score, ``(margin, probability)`` (both ``p_state``: the list is ranked by it
    and selected as every list is, :func:`models.selection.selection_order`); None when truth has no ``p_state``
    for these rows (older truth, the adults' models)."""
    if STATE_RANKED not in rows.columns or not rows[STATE_RANKED].notna().any():
        return None
    p_state = rows[STATE_RANKED].to_numpy(dtype=np.float64)
    return p_state, p_state


def state_ranked_yardstick(rows: int, expected_precision: float | None, shares: Mapping[str, Mapping]) -> dict:
    """The summary of the list ranked by ``p_state``, and each model's expected precision as a share of it.

    Args:
        rows: the generator comparison's rows (every row has ``p_true``).
        expected_precision: the ``p_state`` list's expected precision at capacity (mean ``p_true`` of its rows).
        shares: model -> ``{"value", "ci"}``, its expected precision at capacity over the ``p_state`` list's
            (:func:`models.evaluation.ratio_with_interval`: the point is None where either figure is).

    Returns:
        ``{"ranked_by", "rows", "expected_precision_at_capacity", "to_state_ranked": {model: share},
        "to_state_ranked_ci": {model: [lo, hi]}}``.
    """
    return {
        "ranked_by": "generator probability without factors no record holds (p_state)",
        "rows": int(rows),
        "expected_precision_at_capacity": expected_precision,
        "to_state_ranked": {name: share["value"] for name, share in shares.items()},
        "to_state_ranked_ci": {name: share["ci"] for name, share in shares.items()},
    }
