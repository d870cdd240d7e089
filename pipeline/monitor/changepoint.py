"""Find one step change in how often a code is recorded: a change-point test with age-standardised expectations.

A series is, per period (month, or census), ``k`` records carrying the code, the ``expected`` number had
the code been recorded at its usual rate for the ages of the people in that period's records, and the
``n`` records of its table. Recording practice that changes — a code that stops being used, or starts
being recorded twice as often (the Hackney FGM lesson: a code "appeared" when a form changed, not when
harm did) — shows as a step in ``k / expected``; a county whose children grow older does not (the expected
counts follow the ages). For each split point the two-segment Poisson likelihood (rate times expected)
is compared with the one-segment one; the largest likelihood ratio is the candidate break.

Two corrections keep it from crying wolf on ordinary data: the likelihood ratio is divided by the series'
over-dispersion (quasi-Poisson: real monthly counts vary more than a Poisson draw would), and its p-value
is multiplied by the number of split points searched (Bonferroni). A break is reported only when it is
also large (rate ratio beyond ``min_ratio`` either way) and both segments are long enough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2


@dataclass(frozen=True)
class BreakTest:
    """The best single break of one series and how strong the evidence for it is.

    Attributes:
        split: index of the first period after the break.
        share_before, share_after: the code's crude share of its table's records before and after.
        ratio: the age-standardised rate after over the rate before (observed / expected in each
            segment); 0 when the code stopped, inf when it started.
        records_before, records_after: records of the table in each segment (``n`` summed).
        coded_before, coded_after: records carrying the code in each segment (``k`` summed).
        dispersion: the quasi-Poisson over-dispersion the likelihood ratio was divided by (>= 1).
        p_value: Bonferroni-adjusted over the split points searched.
    """

    split: int
    share_before: float
    share_after: float
    ratio: float
    records_before: int
    records_after: int
    coded_before: int
    coded_after: int
    dispersion: float
    p_value: float


def _xlogx_over(k: np.ndarray, e: np.ndarray) -> np.ndarray:
    """``k log(k / e)`` with 0 log 0 = 0 (the Poisson log-likelihood at its maximum, less constants)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((k > 0) & (e > 0), k * np.log(np.where(k > 0, k, 1.0) / np.where(e > 0, e, 1.0)), 0.0)


def best_break(k, expected, n, *, min_segment: int = 6) -> BreakTest | None:
    """The most likely single break in the rate ``k / expected``, or None when the series is too short or empty.

    Args:
        k: records carrying the code, per period (periods with no records at all dropped by the caller).
        expected: the code's expected records per period at its usual age-specific rates.
        n: records of the table, per period (for the crude shares reported).
        min_segment: fewest periods on each side of a break.
    """
    k, e, n = (np.asarray(x, dtype=float) for x in (k, expected, n))
    periods = len(k)
    if periods < 2 * min_segment or k.sum() == 0 or e.sum() == 0:
        return None
    ck, ce, cn = np.cumsum(k), np.cumsum(e), np.cumsum(n)
    splits = np.arange(min_segment, periods - min_segment + 1)
    k1, e1, n1 = ck[splits - 1], ce[splits - 1], cn[splits - 1]
    k2, e2, n2 = ck[-1] - k1, ce[-1] - e1, cn[-1] - n1
    usable = (e1 > 0) & (e2 > 0) & (n1 > 0) & (n2 > 0)
    if not usable.any():
        return None
    statistic = 2 * (_xlogx_over(k1, e1) + _xlogx_over(k2, e2) - _xlogx_over(ck[-1:], ce[-1:]))
    statistic = np.where(usable, statistic, -np.inf)
    best = int(np.argmax(statistic))
    split = int(splits[best])
    rate1, rate2 = k1[best] / e1[best], k2[best] / e2[best]
    fitted = e * np.where(np.arange(periods) < split, rate1, rate2)
    pearson = np.where(fitted > 0, (k - fitted) ** 2 / np.where(fitted > 0, fitted, 1.0), 0.0)
    dispersion = max(1.0, float(pearson.sum() / max(periods - 2, 1)))
    p_value = min(1.0, float(chi2.sf(statistic[best] / dispersion, 1)) * len(splits))
    ratio = rate2 / rate1 if rate1 > 0 else float("inf")
    return BreakTest(split=split, share_before=float(k1[best] / n1[best]), share_after=float(k2[best] / n2[best]),
                     ratio=float(ratio), records_before=int(n1[best]), records_after=int(n2[best]),
                     coded_before=int(k1[best]), coded_after=int(k2[best]), dispersion=dispersion, p_value=p_value)


def is_recording_break(test: BreakTest | None, *, alpha: float, min_ratio: float, min_coded: int) -> bool:
    """Whether a best break is strong and large enough to report.

    Args:
        alpha: largest adjusted p-value reported.
        min_ratio: the age-standardised rate must change by at least this factor, up or down (1.5: +50% or -33%).
        min_coded: the code must have been expected this many times in the segment where it is rarer, so
            a code seen twice before and never after is not a "break".
    """
    if test is None or test.p_value > alpha:
        return False
    if not (test.ratio >= min_ratio or test.ratio <= 1 / min_ratio):
        return False
    pooled = (test.coded_before + test.coded_after) / (test.records_before + test.records_after)
    return min(test.records_before, test.records_after) * pooled >= min_coded
