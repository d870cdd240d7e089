"""The one result type every impact estimator returns, and the arithmetic the card shares.

An :class:`Estimate` is one programme × outcome × horizon × design: an absolute difference with its 95%
interval, the untreated level it is relative to, group sizes, the library that computed it, JSON-ready
diagnostics and machine-word flags the card turns into caveats. Effects are in outcome units: a proportion
for binary outcomes (-0.03 = 3 percentage points fewer), a rate per 1,000 for area panels.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version

# Flags the estimators raise (the card maps each to a caveat sentence).
OVERLAP_TRIMMED = "overlap_trimmed_over_5pct"
PRETREND_FAILED = "pretrend_failed"
RECORDING_CHANGE = "recording_change_in_window"
LOCAL_TO_CUT = "local_to_cut"
FEW_CLUSTERS = "few_clusters"
SMALL_CELLS = "small_cells"
NULL_RESULT = "null_result"
MANIPULATION_SUSPECTED = "density_test_failed"  # RD: more mass just above/below the cut than chance allows
IMBALANCE_AFTER_WEIGHTING = "imbalance_after_weighting"  # AIPW: some |SMD| >= 0.1 after weighting

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """One estimated effect of a programme on an outcome within a horizon, by one design.

    Attributes:
        programme: programme code (``early_help_offer``, ``key_worker`` …).
        outcome: outcome code (``care_12m``, ``referrals`` …).
        horizon_months: months after time zero (the offer, the go-live) the outcome is counted over.
        design: ``aipw``, ``ipw_naive``, ``naive_difference``, ``rd_fuzzy``, ``rd_sharp``, ``cs_did``,
            ``twfe``, ``synthetic_control`` or ``its_controlled``.
        estimand: the question answered, in plain words.
        effect: absolute difference (treated minus untreated) in outcome units.
        ci_low: lower end of the 95% interval.
        ci_high: upper end of the 95% interval.
        baseline: untreated mean (or counterfactual level) the relative change is taken from; None if unknown.
        n_treated: people (or units) in the treated group used.
        n_comparison: people (or units) in the comparison group used.
        library: what computed it, with versions.
        diagnostics: JSON-serialisable checks (balance, overlap, density p, bandwidth …).
        flags: machine words for caveats (the module constants above).
    """

    programme: str
    outcome: str
    horizon_months: int
    design: str
    estimand: str
    effect: float
    ci_low: float
    ci_high: float
    baseline: float | None
    n_treated: int
    n_comparison: int
    library: str
    diagnostics: dict = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    def relative(self) -> float | None:
        """Effect as a share of the baseline (-0.2 = 20% lower), or None without a non-zero baseline."""
        return relative_change(self.effect, self.baseline)

    def relative_interval(self) -> tuple[float, float] | None:
        """The 95% interval on the relative scale, treating the baseline as fixed (None without one)."""
        low, high = relative_change(self.ci_low, self.baseline), relative_change(self.ci_high, self.baseline)
        if low is None or high is None:
            return None
        return (min(low, high), max(low, high))

    def covers(self, value: float) -> bool:
        """Whether the 95% interval contains ``value`` (e.g. a planted truth)."""
        return self.ci_low <= value <= self.ci_high

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field plus ``relative`` (flags as a list)."""
        out = asdict(self)
        out["flags"] = list(self.flags)
        out["relative"] = self.relative()
        return out


@dataclass(frozen=True)
class NumberNeededToTreat:
    """Number needed to treat (offer) for one outcome avoided, with its 95% interval.

    ``estimable`` is False when the interval of the risk difference covers 0: the interval of the NNT then runs
    through infinity (from "needed to benefit" to "needed to harm") and is not a finite range; ``note`` says so.
    ``direction`` is ``benefit`` when the programme lowers a bad outcome (or raises a good one), ``harm`` if the
    other way, ``none`` for an effect of exactly zero.
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    estimable: bool
    direction: str
    note: str

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields."""
        return asdict(self)


def relative_change(effect: float, baseline: float | None) -> float | None:
    """``effect / baseline``, or None when the baseline is missing, zero or not finite."""
    if baseline is None or not math.isfinite(baseline) or baseline == 0:
        return None
    return effect / baseline


def number_needed_to_treat(
    risk_difference: float, ci_low: float, ci_high: float, *, lower_is_better: bool = True
) -> NumberNeededToTreat:
    """NNT from an absolute risk difference (treated minus untreated) and its 95% interval (Altman 1998).

    NNT = 1 / |risk difference|. Its interval is the reciprocal of the risk difference's interval, ends swapped
    (the end nearer zero gives the larger NNT). When that interval covers zero the NNT has no finite interval and
    is reported as not estimable (the point value is still given when the effect is not exactly zero).

    Args:
        risk_difference: effect as a proportion (-0.05 = 5 percentage points fewer).
        ci_low: lower end of the 95% interval of the risk difference.
        ci_high: upper end.
        lower_is_better: True for bad outcomes (care entry, referral): a negative difference is a benefit.
    """
    if ci_low > ci_high:
        raise ValueError(f"interval ends reversed: ci_low={ci_low} > ci_high={ci_high}")
    if risk_difference == 0:
        direction = "none"
    else:
        direction = "benefit" if (risk_difference < 0) == lower_is_better else "harm"
    value = None if risk_difference == 0 else 1.0 / abs(risk_difference)
    if ci_low <= 0 <= ci_high:
        return NumberNeededToTreat(
            value=value,
            ci_low=None,
            ci_high=None,
            estimable=False,
            direction=direction,
            note="not estimable: the 95% interval of the risk difference includes no difference, so the number "
            "needed to treat ranges from benefit through infinity to harm",
        )
    near, far = sorted((abs(ci_low), abs(ci_high)))
    return NumberNeededToTreat(value, 1.0 / far, 1.0 / near, True, direction, f"number needed to treat ({direction})")


def normal_interval(effect: float, standard_error: float) -> tuple[float, float]:
    """The 95% normal interval ``effect ± 1.96 × standard_error``."""
    return effect - Z_95 * standard_error, effect + Z_95 * standard_error


def covers_zero(ci_low: float, ci_high: float) -> bool:
    """Whether a 95% interval includes no effect (the ``null_result`` flag)."""
    return ci_low <= 0 <= ci_high


def library_label(*packages: str, prefix: str = "") -> str:
    """``"rdrobust 2.1.1"`` or ``"riskpipe AIPW (sklearn 1.9.1, lightgbm 4.7.0)"`` from installed versions."""
    names = {"sklearn": "scikit-learn"}
    parts = []
    for package in packages:
        try:
            parts.append(f"{package} {version(names.get(package, package))}")
        except PackageNotFoundError:
            parts.append(f"{package} (version unknown)")
    return f"{prefix} ({', '.join(parts)})" if prefix else ", ".join(parts)
