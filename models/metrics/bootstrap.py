"""Bootstrap intervals for the figures a release is decided on: the operating point and calibration.

Precision, recall and lift at capacity, the O/E ratio and the calibration slope of several scores of
the same rows get percentile intervals from one set of replicates. A replicate draws ``n`` rows with
replacement, exactly the rows ``models.metrics.discrimination`` draws for the AUROC with the same seed
(``default_rng(seed).integers(0, n, (chunk, n))`` chunk by chunk), and is held as each row's count, so
every metric of every score is computed on the same resampled rows: differences between two scores
(the model's precision gain over the rule) are paired.

The interval is the percentile interval (the 2.5% and 97.5% quantiles of the finite replicates),
not BCa: BCa's acceleration needs a jackknife per metric, and at capacity the metric is a step
function of the rows, where BCa's corrections are themselves unstable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from models.metrics.calibration import bootstrap_calibration, recalibration_fit
from models.metrics.discrimination import BOOTSTRAP_CHUNK_CELLS, percentile_interval
from models.metrics.operating_point import bootstrap_at_capacity

INTERVAL_METHOD = "percentile"
DECISION_METRICS = ("precision_at_capacity", "recall_at_capacity", "lift_at_capacity", "oe_ratio",
                    "calibration_slope")


def replicate_counts(n: int, n_boot: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first replicate, counts)`` chunk by chunk; ``counts`` is (replicates, n), float.

    The draws are those of :func:`models.metrics.discrimination.bootstrap_discrimination` (same seed,
    same chunks), so its AUROC replicates and these are of the same rows.
    """
    if n == 0 or n_boot == 0:
        return
    rng = np.random.default_rng(seed)
    chunk = max(1, BOOTSTRAP_CHUNK_CELLS // n)
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(rows, n))
        idx += n * np.arange(rows)[:, None]
        yield start, np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n).astype(np.float64)


def decision_replicates(y_true, scores: Mapping[str, tuple[np.ndarray, np.ndarray]], capacity: int, *,
                        n_boot: int, seed: int, expected=None, calibration: bool = True
                        ) -> dict[str, dict[str, np.ndarray]]:
    """Bootstrap replicates of the decision metrics of several scores of the same rows.

    Args:
        y_true: outcome (0/1) per row.
        scores: name -> ``(selection order, probability)``; the order is
            :func:`models.selection.selection_order` of the score, the probability its calibrated one.
        capacity: rows selected in each replicate.
        expected: optional generator probability per row; adds ``expected_precision_at_capacity``.
        calibration: False leaves out O/E and the calibration slope (NaN), the costliest replicates.

    Returns:
        name -> metric (:data:`DECISION_METRICS`, and ``expected_precision_at_capacity``) -> ``n_boot``
        replicates (NaN where undefined in a replicate).
    """
    y = np.asarray(y_true, dtype=np.float64)
    names = list(scores)
    keys = [*DECISION_METRICS, *(["expected_precision_at_capacity"] if expected is not None else [])]
    out = {name: {key: np.full(n_boot, np.nan) for key in keys} for name in names}
    one_class = len(y) == 0 or y.min() == y.max()
    starts = {name: (recalibration_fit(y, p) if calibration and not one_class else (0.0, 1.0))
              for name, (_, p) in scores.items()}
    for first, counts in replicate_counts(len(y), n_boot, seed):
        end = first + len(counts)
        for name, (order, probability) in scores.items():
            at = bootstrap_at_capacity(counts, y, np.asarray(order), capacity, expected)
            block = out[name]
            for key, values in (("precision_at_capacity", at["precision"]), ("recall_at_capacity", at["recall"]),
                                ("lift_at_capacity", at["lift"])):
                block[key][first:end] = values
            if calibration:
                fitted = bootstrap_calibration(counts, y, probability, starts[name])
                block["oe_ratio"][first:end] = fitted["oe_ratio"]
                block["calibration_slope"][first:end] = fitted["calibration_slope"]
            if expected is not None:
                block["expected_precision_at_capacity"][first:end] = at["expected_precision"]
    return out


def intervals(replicates: Mapping[str, np.ndarray], level: float = 0.95) -> dict[str, list[float | None]]:
    """``<metric>_ci`` -> percentile interval of each metric's replicates."""
    return {f"{key}_ci": percentile_interval(values, level) for key, values in replicates.items()}
