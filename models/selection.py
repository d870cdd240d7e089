"""Who is selected at capacity: one rule, used by evaluation and by the issued risk list alike.

Rows are ranked by the model's uncalibrated margin (LightGBM's raw score, the logistic regression's
decision function, the rule's points): calibration is monotone, so the margin ranks as the calibrated
risk does, but without the ties isotonic calibration makes (dozens of rows can share one calibrated
value at the capacity cut). Any tie that remains is broken by a seeded random draw per person: a keyed
hash of the person token with the spec's seed. The draw depends on the person and the seed only, not on
row order or on the token's own order (person tokens sort children with some linked sources first), so
the same scores select the same people wherever they are evaluated or listed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def tie_break_draw(person_id, seed: int) -> np.ndarray:
    """A seeded pseudo-random ``uint64`` per person (SipHash of the token, keyed by ``seed``).

    Args:
        person_id: person tokens (any values; compared as text).
        seed: the spec's seed; another seed gives an independent draw.
    """
    key = f"{int(seed) % 10**16:016d}"  # SipHash takes a 16-character key
    tokens = pd.Series(np.asarray(person_id).astype(str))
    return pd.util.hash_pandas_object(tokens, index=False, hash_key=key).to_numpy(dtype=np.uint64)


def selection_order(margin, person_id, seed: int) -> np.ndarray:
    """Row positions from highest to lowest margin, ties in order of :func:`tie_break_draw`.

    A missing margin ranks last.

    Args:
        margin: each row's uncalibrated score (higher = more risk).
        person_id: each row's person token, aligned with ``margin``.
        seed: the spec's seed.
    """
    m = np.asarray(margin, dtype=np.float64)
    if len(m) != len(person_id):
        raise ValueError(f"{len(m)} margins but {len(person_id)} person tokens")
    descending = np.where(np.isnan(m), np.inf, -m)
    return np.lexsort((tie_break_draw(person_id, seed), descending))


def select_top(margin, person_id, k: int, seed: int) -> np.ndarray:
    """Boolean mask of the ``k`` rows :func:`selection_order` puts first (all rows when ``k`` >= n)."""
    order = selection_order(margin, person_id, seed)
    selected = np.zeros(len(order), dtype=bool)
    selected[order[: max(int(k), 0)]] = True
    return selected
