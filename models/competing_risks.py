"""Death as a competing event: cumulative incidence and cause-specific Cox models (issue #18), as pure functions.

A person who dies cannot then move into a care home, so "12-month risk of a care home" read off a label that
counts deaths as negatives mixes two things: how likely the move is, and how likely the person is to live
long enough to make it. Competing-risks methods keep them apart:

- **cumulative incidence** (Aalen-Johansen, ``sksurv.nonparametric.cumulative_incidence_competing_risks``):
  the share of a group who have moved into a care home by day t, and the share who have died first; with
  the share still at home and alive they sum to one at every t. Censoring (leaving the GP list, the extract
  date) is handled, not counted as "no event". Intervals are the function's pointwise log-log intervals
  (Aalen variance);
- **cause-specific Cox models** (``sksurv.linear_model.CoxPHSurvivalAnalysis``): one for the hazard of a
  care home with deaths censored, one for the hazard of death with care homes censored, on the logistic
  regression's numeric design (median-imputed, standardised numbers, one-hot categories). Together they
  give each person's predicted cumulative incidence of a care home by day t, accounting for death. Inputs
  are clipped to the range the training rows held (:class:`Design`).

Follow-up comes from the features file (``features.care_home_times``): ``followup_days`` (days from the index
date) and ``followup_event`` (1 care home, 2 death, 0 censored). Time here is ``followup_days + 1`` (day 1 is
the index date itself), so "by day 365" counts the events of days 0-364: the 12-month label's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.nonparametric import cumulative_incidence_competing_risks, kaplan_meier_estimator
from sksurv.util import Surv

from models.learners import make_logistic_pipeline

CARE_HOME, DEATH = 1, 2  # ``followup_event`` codes (features.care_home_times); 0 = censored
CAUSES = {"care_home": CARE_HOME, "death": DEATH}
CIF_BANDS = ((0.0, 0.01, "top 1%"), (0.01, 0.05, "1-5%"), (0.05, 0.2, "5-20%"), (0.2, 1.0, "rest"))
RIDGE = 1.0  # a small L2 penalty: one-hot levels and missing-value indicators are collinear
CONF_LEVEL = 0.95
CHUNK_ROWS = 5_000  # rows per block when predicting daily incidence (rows x days doubles)
MAX_FIT_ROWS = 200_000  # sksurv's Cox fit loops over rows in Python: a larger county's rows are sampled


def follow_up(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(time, event)``: days of follow-up counting the index date as day 1, and the event code."""
    return (rows["followup_days"].to_numpy(dtype="float64") + 1.0, rows["followup_event"].to_numpy(dtype="int64"))


def horizon_days(index_date: pd.Timestamp, months: int) -> int:
    """Days in the ``months`` from ``index_date`` (the label's window ``[index, index + months)``)."""
    return int((index_date + pd.DateOffset(months=months) - index_date).days)


def _step_at(times: np.ndarray, values: np.ndarray, t: float, before: float = 0.0) -> float:
    """A right-continuous step function's value at ``t`` (``before`` ahead of its first time)."""
    i = int(np.searchsorted(times, t, side="right")) - 1
    return float(values[i]) if i >= 0 else before


def cumulative_incidence(time: np.ndarray, event: np.ndarray, at: Sequence[int]) -> list[dict]:
    """Aalen-Johansen cumulative incidence of a care home and of death at each day of ``at``.

    Returns:
        one dict per day: ``day, care_home, care_home_ci, death, death_ci, event_free`` (the Kaplan-Meier
        chance of neither by that day, estimated separately: the three sum to one); the intervals are
        sksurv's pointwise log-log intervals, None where a cause has no event.
    """
    present = [c for c in (CARE_HOME, DEATH) if (event == c).any()]
    curves: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    times = np.asarray([0.0])
    if len(present) == 1:
        # one cause only: Aalen-Johansen is 1 - Kaplan-Meier (sksurv's competing-risks intervals need two causes)
        cause = present[0]
        times, surviving, ci = kaplan_meier_estimator(event == cause, time, conf_type="log-log",
                                                      conf_level=CONF_LEVEL)
        curves[cause] = (1.0 - surviving, 1.0 - ci[1], 1.0 - ci[0])
    elif present:
        # sksurv wants causes numbered 1..k with every one seen: renumber the causes that occurred
        renumbered = np.zeros_like(event)
        for k, cause in enumerate(present, start=1):
            renumbered[event == cause] = k
        times, incidence, ci = cumulative_incidence_competing_risks(renumbered, time, conf_level=CONF_LEVEL,
                                                                    conf_type="log-log")
        for k, cause in enumerate(present, start=1):
            curves[cause] = (incidence[k], ci[k, 0], ci[k, 1])
    # still at home and alive: Kaplan-Meier of the first of either event, estimated on its own (not 1 - both)
    km_times, km_survival = kaplan_meier_estimator(event > 0, time) if len(time) else (np.array([]), np.array([]))
    out = []
    for day in at:
        row: dict = {"day": int(day)}
        for name, cause in CAUSES.items():
            if cause in curves:
                value, low, high = (_step_at(times, curve, day) for curve in curves[cause])
                # an interval is undefined where the estimate sits at 0 or 1 (log-log): none is shown
                row[name], row[f"{name}_ci"] = value, [low, high] if np.isfinite([low, high]).all() else None
            else:
                row[name], row[f"{name}_ci"] = 0.0, None
        row["event_free"] = _step_at(km_times, km_survival, day, before=1.0)
        out.append(row)
    return out


@dataclass(frozen=True)
class Design:
    """The logistic regression's preprocessing (``models.learners.make_logistic_pipeline`` without its last
    step) fitted on the training rows, and each column's training range.

    A linear hazard extrapolates without limit: an input whose values in a later year lie far outside
    the training years (a GP medication extract that starts in the last training year, say) would swamp
    every other. Values are clipped to the range the training rows held, as a tree model's splits are.
    """

    preprocess: Pipeline
    low: np.ndarray
    high: np.ndarray

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The numeric design of ``frame`` (rows x columns), clipped to the training range."""
        return np.clip(np.asarray(self.preprocess.transform(frame), dtype="float64"), self.low, self.high)


def design(train: pd.DataFrame, feature_columns: list[str], categorical: list[str], seed: int) -> Design:
    """:class:`Design` fitted on ``train``."""
    preprocess = make_logistic_pipeline(feature_columns, categorical, {}, seed)[:-1].fit(train)
    X = np.asarray(preprocess.transform(train), dtype="float64")
    return Design(preprocess, X.min(axis=0), X.max(axis=0))


def fitting_rows(n: int, seed: int, max_rows: int = MAX_FIT_ROWS) -> np.ndarray:
    """Positions of the training rows the Cox models are fitted on: all of them, or a seeded simple random
    sample of ``max_rows`` (a simple sample, not case-control, so the baseline hazard stays unbiased)."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def fit_cause_specific(X: np.ndarray, time: np.ndarray, event: np.ndarray, cause: int,
                       alpha: float = RIDGE) -> CoxPHSurvivalAnalysis:
    """A Cox model of the hazard of ``cause``, every other event censored at its time (cause-specific)."""
    return CoxPHSurvivalAnalysis(alpha=alpha, ties="breslow").fit(X, Surv.from_arrays(event == cause, time))


def _cumulative_hazard(model: CoxPHSurvivalAnalysis, X: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Each row's cumulative hazard on the days of ``grid`` (rows x days); flat past the last fitted time."""
    baseline = model.cum_baseline_hazard_
    low, high = baseline.domain
    base = np.where(grid < low, 0.0, baseline(np.clip(grid, low, high)))
    return np.exp(model.predict(X))[:, None] * base[None, :]


def predicted_incidence(care_home: CoxPHSurvivalAnalysis, death: CoxPHSurvivalAnalysis, X: np.ndarray,
                        days: int) -> np.ndarray:
    """Each row's predicted cumulative incidence of a care home by day ``days``, death competing:
    the sum over days u of P(alive and at home just before u) x the care-home hazard on day u."""
    grid = np.arange(1, days + 1, dtype="float64")
    out = np.empty(len(X))
    for start in range(0, len(X), CHUNK_ROWS):
        block = X[start:start + CHUNK_ROWS]
        h_care, h_death = _cumulative_hazard(care_home, block, grid), _cumulative_hazard(death, block, grid)
        at_home_before = np.exp(-np.hstack([np.zeros((len(block), 1)), (h_care + h_death)[:, :-1]]))
        step = np.diff(np.hstack([np.zeros((len(block), 1)), h_care]), axis=1)
        out[start:start + len(block)] = (at_home_before * step).sum(axis=1)
    return out


def harrell_c(entered: np.ndarray, time: np.ndarray, risk: np.ndarray) -> float | None:
    """Harrell's C for one cause (the others censored), or None without any event of it."""
    return float(concordance_index_censored(entered, time, risk)[0]) if entered.any() else None


def concordance(train_time: np.ndarray, train_event: np.ndarray, time: np.ndarray, event: np.ndarray,
                risk: np.ndarray, tau: float) -> dict:
    """Harrell's and Uno's C for a care home (deaths censored, as the cause-specific model sees them).

    Uno's C weights by the inverse chance of staying uncensored (estimated on the training rows) and is
    truncated at ``tau`` days; None when the test rows hold no care-home entry.
    """
    entered = event == CARE_HOME
    if not entered.any():
        return {"harrell": None, "uno": None, "tau_days": int(tau)}
    harrell = harrell_c(entered, time, risk)
    train = Surv.from_arrays(train_event == CARE_HOME, train_time)
    # Uno's weights need every test time inside the training follow-up
    uno = concordance_index_ipcw(train, Surv.from_arrays(entered, np.minimum(time, train_time.max())), risk,
                                 tau=tau)[0]
    return {"harrell": harrell, "uno": float(uno), "tau_days": int(tau)}
