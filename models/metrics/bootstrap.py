"""Bootstrap intervals for the figures a release is decided on: the operating point and calibration.

Precision, recall and lift at capacity, the O/E ratio and the calibration slope of several scores of
the same rows get percentile intervals from one set of replicates. A replicate draws ``n`` rows with
replacement (``models.metrics.resampling``: ``default_rng(seed).integers(0, n, (chunk, n))`` chunk by
chunk), exactly the rows ``models.metrics.discrimination`` draws for the AUROC with the same seed, and is
held as each row's count, so every metric of every score is computed on the same resampled rows:
differences between two scores (the model's precision gain over the rule) are paired.

One pass does it all: each chunk of replicates is drawn and counted once, and every score's metrics
(with ``ranking``, its AUROC and average precision too) are read off those counts, the pooling each
metric needs (tie blocks, log-odds cells) worked out once per score beforehand. Drawing and counting
are most of the cost at a million rows, so a block of several scores costs little more than one.

The interval is the percentile interval (the 2.5% and 97.5% quantiles of the finite replicates),
not BCa: BCa's acceleration needs a jackknife per metric, and at capacity the metric is a step
function of the rows, where BCa's corrections are themselves unstable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from models.metrics.calibration import bootstrap_calibration, log_odds_cells, recalibration_fit
from models.metrics.discrimination import discrimination_of_counts, percentile_interval, rank_codes
from models.metrics.operating_point import bootstrap_at_capacity
from models.metrics.resampling import replicate_counts

INTERVAL_METHOD = "percentile"
DECISION_METRICS = ("precision_at_capacity", "recall_at_capacity", "lift_at_capacity", "oe_ratio",
                    "calibration_slope")
RANKING_METRICS = ("auc", "average_precision")


def decision_replicates(y_true, scores: Mapping[str, tuple[np.ndarray, np.ndarray]], capacity: int, *,
                        n_boot: int, seed: int, expected=None, calibration: bool | Collection[str] = True,
                        ranking: Mapping[str, np.ndarray] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Bootstrap replicates of the decision metrics of several scores of the same rows.

    Args:
        y_true: outcome (0/1) per row.
        scores: name -> ``(selection order, probability)``; the order is
            :func:`models.selection.selection_order` of the score, the probability its calibrated one.
        capacity: rows selected in each replicate.
        expected: optional generator probability per row; adds ``expected_precision_at_capacity``.
        calibration: False leaves out O/E and the calibration slope (NaN), the costliest replicates; a
            collection of names keeps them for those scores only.
        ranking: optional name -> score (higher = more risk) whose AUROC and average precision are counted
            from the same replicates (``auc``, ``average_precision``: what
            :func:`models.metrics.discrimination.bootstrap_discrimination` gives with the same seed).

    Returns:
        name -> metric (:data:`DECISION_METRICS`, ``expected_precision_at_capacity`` with ``expected``, and
        :data:`RANKING_METRICS` for the names in ``ranking``) -> ``n_boot`` replicates (NaN where undefined
        in a replicate).
    """
    y = np.asarray(y_true, dtype=np.float64)
    ranking = dict(ranking or {})
    calibrated = set(scores) if calibration is True else set(calibration or ())
    keys = [*DECISION_METRICS, *(["expected_precision_at_capacity"] if expected is not None else [])]
    out = {name: {key: np.full(n_boot, np.nan) for key in [*keys, *(RANKING_METRICS if name in ranking else ())]}
           for name in scores}
    if len(y) == 0 or n_boot == 0:
        return out
    one_class = y.min() == y.max()
    calibrating = {name: (recalibration_fit(y, p) if not one_class else (0.0, 1.0), log_odds_cells(y, p))
                   for name, (_, p) in scores.items() if name in calibrated}
    coded = {name: rank_codes(y, score) for name, score in ranking.items()}
    expected = None if expected is None else np.asarray(expected, dtype=np.float64)
    for first, counts in replicate_counts(len(y), n_boot, seed):
        end = first + len(counts)
        positives, rows = counts @ y, counts.sum(axis=1)  # the same for every score
        for name, (order, probability) in scores.items():
            at = bootstrap_at_capacity(counts, y, np.asarray(order), capacity, expected, positives=positives,
                                       rows=rows)
            block = out[name]
            for key, values in (("precision_at_capacity", at["precision"]), ("recall_at_capacity", at["recall"]),
                                ("lift_at_capacity", at["lift"])):
                block[key][first:end] = values
            if name in calibrating:
                start, cells = calibrating[name]
                fitted = bootstrap_calibration(counts, y, probability, start, cells=cells, positives=positives)
                block["oe_ratio"][first:end] = fitted["oe_ratio"]
                block["calibration_slope"][first:end] = fitted["calibration_slope"]
            if expected is not None:
                block["expected_precision_at_capacity"][first:end] = at["expected_precision"]
            if name in coded:
                block["auc"][first:end], block["average_precision"][first:end] = discrimination_of_counts(
                    counts, *coded[name])
    return out


def intervals(replicates: Mapping[str, np.ndarray], level: float = 0.95) -> dict[str, list[float | None]]:
    """``<metric>_ci`` -> percentile interval of each metric's replicates."""
    return {f"{key}_ci": percentile_interval(values, level) for key, values in replicates.items()}
