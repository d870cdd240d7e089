"""A second yardstick from synthetic truth: the list a model could make if it knew everything the records hold.

The generator's own probability ``p_true`` includes what no record holds (the synthetic help's unobserved
confounder, which moves each child's care-entry log-odds and referral rate), so the generator's list is
out of any model's reach: a model at 0.9 of it may be missing nothing it could see. Truth also holds
``p_state``, the generator's probability from the same log-odds without those terms (equal to ``p_true``
where nothing unrecorded enters, as for NEET). Ranking by ``p_state`` and scoring the list with ``p_true``
gives the expected precision of the best list the child's state allows (the state still holds latent need,
which the records show only in part, so this too is a ceiling, but one that asks nothing unrecordable).
Each model's expected precision is reported as a share of it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models.selection import selection_order

STATE_RANKED = "p_state"  # truth's column: the generator's probability without unrecorded factors


def expected_precision_of_ranking(p_true, ranking, person_id, capacity: int, *, tie_seed: int) -> float | None:
    """Mean ``p_true`` over the ``capacity`` rows that ``ranking`` puts first (ties by the seeded draw of
    :func:`models.selection.selection_order`, as every list is selected); None with no row or capacity."""
    order = selection_order(np.asarray(ranking, dtype=np.float64), np.asarray(person_id), tie_seed)
    chosen = order[: max(int(capacity), 0)]
    return float(np.asarray(p_true, dtype=np.float64)[chosen].mean()) if len(chosen) else None


def state_ranked_yardstick(rows: pd.DataFrame, capacity: int, expected_precision: Mapping[str, float | None], *,
                           tie_seed: int) -> dict | None:
    """The expected precision of the list ranked by ``p_state``, and each model's as a share of it.

    Args:
        rows: the generator comparison's rows (every row has ``p_true``): ``person_id, p_true, p_state``.
            ``p_true`` is what evaluation judges against (the probability of the recorded label).
        capacity: the list's size.
        expected_precision: model -> its expected precision at capacity on the same rows
            (``against_generator.expected_precision_at_capacity``).
        tie_seed: the spec's seed.

    Returns:
        ``{"ranked_by", "rows", "expected_precision_at_capacity", "to_state_ranked": {model: share}}`` (a share
        is None where either figure is); None when truth has no ``p_state`` for these rows (older truth, the
        adults' models).
    """
    if STATE_RANKED not in rows.columns or not rows[STATE_RANKED].notna().any():
        return None
    state = expected_precision_of_ranking(rows["p_true"], rows[STATE_RANKED], rows["person_id"], capacity,
                                          tie_seed=tie_seed)
    return {
        "ranked_by": "generator probability without factors no record holds (p_state)",
        "rows": int(len(rows)),
        "expected_precision_at_capacity": state,
        "to_state_ranked": {name: (value / state if value is not None and state else None)
                            for name, value in expected_precision.items()},
    }
