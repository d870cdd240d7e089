"""One monthly list run: score the eligible children, list the top k, and decide who is offered early help.

The score is "the council's current model": the true yearly care-entry log-odds the county simulates
without the unobserved confounder ``u`` (which no record holds), plus model error, persistent per child
and fresh per run, scaled so the score's log-odds correlate with the true log-odds (with ``u``) at
``score_correlation``. Practitioners override about ``override_share`` of the list (listed, not offered)
and offer as many children from just below the cut; professionals and families refer others outside
the list, the higher their true risk the likelier. Every scored row also gets its latent acceptance and
protection draws, so both potential outcomes of an offer are known for every child, offered or not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.core.synth_params import HelpParams
from pipeline.synthetic.lifecourse.risk import sigmoid

PERSISTENT_ERROR = 0.7  # share of the score's error variance that stays with the child from run to run
BELOW_CUT_REACH = 3  # overrides below the cut come from ranks k+1 .. BELOW_CUT_REACH * k


def error_sd(observed_var: float, confounder: float, correlation: float) -> float:
    """The model error's sd that makes corr(observed + error, observed + confounder * u) = ``correlation``
    (0 where the observed part alone cannot reach it)."""
    true_var = observed_var + confounder**2
    wanted = observed_var**2 / (correlation**2 * true_var) - observed_var
    return float(np.sqrt(max(wanted, 0.0)))


@dataclass
class RunRows:
    """The rows of one run, aligned: one per scored child."""

    person_id: np.ndarray
    score: np.ndarray  # 0-1
    rank: np.ndarray  # 1 = highest
    listed: np.ndarray  # bool: rank <= capacity
    route: np.ndarray  # "" (not offered), "list", "professional", "self"; "declined_override" = listed, not offered
    offered: np.ndarray  # bool
    override: np.ndarray  # bool: listed and not offered, or offered from below the cut
    would_accept: np.ndarray  # bool: would accept if offered (the realised acceptance where offered)
    protects_care: np.ndarray  # bool: an accepted offer would prevent care entry in the window
    protects_referral: np.ndarray  # bool: ... and referral
    offer_lag: np.ndarray  # days from the run to the (actual or would-be) offer
    true_log_odds: np.ndarray  # the care-entry log-odds including u


def run_list(
    rng: np.random.Generator, params: HelpParams, capacity: int, person_id: np.ndarray, observed_log_odds: np.ndarray,
    u: np.ndarray, persistent_error: np.ndarray,
) -> RunRows:
    """Score, rank, list and offer for one run.

    Args:
        capacity: children listed (k).
        person_id: the eligible children.
        observed_log_odds: their true yearly care-entry log-odds without ``u``.
        u: their unobserved confounder (N(0, 1)).
        persistent_error: their model error that persists between runs (N(0, 1)).
    """
    n = person_id.size
    noise_sd = error_sd(float(np.var(observed_log_odds)) if n > 1 else 1.0, params.confounder_strength,
                        params.score_correlation)
    error = np.sqrt(PERSISTENT_ERROR) * persistent_error + np.sqrt(1 - PERSISTENT_ERROR) * rng.standard_normal(n)
    score = sigmoid(observed_log_odds + noise_sd * error)
    order = np.argsort(-score, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    k = min(capacity, n)
    listed = rank <= k
    route = np.full(n, "", dtype=object)
    route[listed] = "list"
    override = np.zeros(n, dtype=bool)
    n_over = int(round(params.override_share * k))
    if n_over:
        out = rng.choice(np.flatnonzero(listed), n_over, replace=False)
        route[out], override[out] = "declined_override", True
        below = np.flatnonzero((rank > k) & (rank <= BELOW_CUT_REACH * k))
        if below.size:
            weight = (BELOW_CUT_REACH * k + 1 - rank[below]).astype(float)  # nearer the cut, likelier
            pick = rng.choice(below, min(n_over, below.size), replace=False, p=weight / weight.sum())
            route[pick], override[pick] = "list", True
    true_lo = observed_log_odds + params.confounder_strength * u
    n_out = int(round(params.outside_list_share * k))
    free = np.flatnonzero(route == "")
    if n_out and free.size:
        weight = np.exp(true_lo[free] - true_lo[free].max())
        pick = rng.choice(free, min(n_out, free.size), replace=False, p=weight / weight.sum())
        route[pick] = np.where(rng.random(pick.size) < 0.75, "professional", "self")
    offered = np.isin(route, ("list", "professional", "self"))
    accept_logit = np.log(params.acceptance / (1 - params.acceptance)) - params.confounder_strength * u
    would_accept = rng.random(n) < sigmoid(accept_logit)
    protects_care = rng.random(n) < params.effect_care
    protects_referral = rng.random(n) < params.effect_referral
    # a list offer follows the run within a fortnight; a referral outside it comes any day of the month
    lag = np.where(np.isin(route, ("professional", "self")), rng.integers(0, 28, n), rng.integers(1, 15, n))
    return RunRows(person_id, score, rank, listed, route.astype(str), offered, override, would_accept, protects_care,
                   protects_referral, lag, true_lo)
