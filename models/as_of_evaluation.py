"""The test year judged with features linked as the records stood on its index date.

The full person index is built from every record up to the extract date, so a child's pre-index history
can include records joined only through records made later (a social-care record that bridges school and
health). The live list never has those links. ``riskpipe features --as-of-test`` builds the test year's
rows over the as-of index and labels them with the full build's outcome of the same child; here the
trained, calibrated LightGBM scores them and the same metrics block as ``metrics.json`` ``test`` is
computed, with the difference from the all-records figures.

The as-of rows are evaluated as their own cohort (the list a team would have received: a child the as-of
index holds as two people is two rows), not matched one-to-one with the full rows: person ids differ
between indexes, and the cohort itself (who is known to services, who is excluded as open to social care)
depends on the links.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.evaluation import metrics_blocks
from models.learners import model_margin

COMPARED = ("auc", "precision_at_capacity", "lift_at_capacity")


def score_rows(model: Any, frame: pd.DataFrame, feature_columns: list[str]) -> pd.DataFrame:
    """``frame`` with ``margin_released`` (uncalibrated, ranks) and ``score_released`` (calibrated) from the
    trained calibrated pipeline, as ``models.training`` scores the full rows.

    Raises:
        KeyError: ``frame`` lacks a model input.
    """
    missing = [c for c in feature_columns if c not in frame.columns]
    if missing:
        raise KeyError(f"as-of features lack model inputs: {missing}")
    X = frame[feature_columns]
    # the released learner's margin (LightGBM's raw score unless the spec's release names another)
    return frame.assign(margin_released=model_margin(model, X), score_released=model.predict_proba(X)[:, 1])


def found_at_capacity(block: Mapping[str, Any], capacity: int) -> float | None:
    """Children with the outcome among the ``capacity`` selected (precision at capacity x rows selected)."""
    precision, n = block.get("precision_at_capacity"), block.get("n")
    if precision is None or n is None or precision != precision:
        return None
    return float(precision) * min(int(capacity), int(n))


def as_of_linkage_block(scored: pd.DataFrame, full_block: Mapping[str, Any], capacity: int, *, tie_seed: int,
                        n_boot: int, seed: int, n_bins: int, provenance: Mapping[str, Any]) -> dict:
    """``metrics.json`` ``test_as_of_linkage``: LightGBM's block on the as-of rows and its difference from the
    all-records block.

    Args:
        scored: the as-of rows with ``person_id`` (as-of token, breaks ties), ``outcome`` (the full build's;
            <NA> = no label) and ``margin_released, score_released`` (:func:`score_rows`).
        full_block: ``metrics.json`` ``test`` (the all-records index).
        provenance: ``index_date``, ``person_index`` and its ``person_index_sha256``, ``rows_only_in_full``
            and the other counts of reports/<model>/features_as_of.json.

    Returns:
        ``provenance`` plus ``rows`` (as-of rows), ``rows_labelled``, ``evaluated_as``, ``metrics`` (the block:
        ``auc(_ci)``, ``precision_at_capacity(_ci)``, ``lift_at_capacity(_ci)`` ...), ``found_at_capacity``
        (as-of and ``_full``) and ``difference_from_full`` (as-of minus all records) for ``COMPARED``.
    """
    labelled = scored[scored["outcome"].notna()]
    block = metrics_blocks(labelled["outcome"].astype("int64"),
                           {"lightgbm": (labelled["margin_released"], labelled["score_released"])}, capacity,
                           person_id=labelled["person_id"].astype("str").to_numpy(), tie_seed=tie_seed,
                           n_boot=n_boot, seed=seed, n_bins=n_bins)["lightgbm"]
    difference = {}
    for name in COMPARED:
        a, b = block.get(name), full_block.get(name)
        ok = a is not None and b is not None and np.isfinite(a) and np.isfinite(b)
        difference[name] = float(a - b) if ok else None
    return {**provenance, "rows": int(len(scored)), "rows_labelled": int(len(labelled)),
            "evaluated_as": "its own cohort: the as-of rows, each labelled with the full build's outcome of the "
                            "child its records belong to (rows without a full-build label left out)",
            "metrics": block, "found_at_capacity": found_at_capacity(block, capacity),
            "found_at_capacity_full": found_at_capacity(full_block, capacity),
            "difference_from_full": difference}
