"""Evaluation only (synthetic county): does each estimate's 95% interval cover the planted truth?

Reads nothing itself; :mod:`pipeline.impact.io` hands it ``data/truth/help/effects.json`` after the
estimates are made. No estimator ever sees the truth: this runs last, and only where a truth exists.
Truth values named ``…_pp`` are percentage points and are compared as proportions (÷ 100).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# designs whose target is the effect of the offer for everyone offered (intention to treat)
ITT_DESIGNS = ("aipw", "ipw_naive", "naive_difference")
RD_DESIGNS = ("rd_fuzzy", "rd_sharp")
AREA_DESIGNS = ("cs_did", "twfe", "synthetic_control", "its_controlled", "its")
# naive comparators: expected to miss the truth when the planted confounding or dynamics bite
NAIVE_DESIGNS = ("ipw_naive", "naive_difference", "twfe")
OUTCOME_WORD = {"care_entry": "care", "referral": "referral"}


def _as_effect(key: str, value: float) -> float:
    return value / 100 if key.endswith("_pp") else value


def truth_key(programme_truth: Mapping[str, Any], design: str, outcome: str, horizon: int) -> str | None:
    """The truth an estimate is judged against: ``itt_list_route_<outcome>_<h>m_pp`` (else ``itt_…``) for
    person-level designs (the stage evaluates offers made from the list),
    ``at_cut_itt_…`` for regression discontinuity, else the first ``att_…`` number naming the outcome."""
    word = OUTCOME_WORD.get(outcome, outcome)
    if design in ITT_DESIGNS:  # the stage evaluates offers from the list (other routes are left out)
        key = f"itt_list_route_{word}_{horizon}m_pp"
        key = key if key in programme_truth else f"itt_{word}_{horizon}m_pp"
    elif design in RD_DESIGNS:
        key = f"at_cut_itt_{word}_{horizon}m_pp"
    else:
        numbers = [k for k, v in programme_truth.items() if k.startswith("att") and isinstance(v, int | float)]
        key = next((k for k in numbers if word in k), numbers[0] if numbers else None)
    return key if key in programme_truth and isinstance(programme_truth[key], int | float) else None


def check_against_truth(estimates: Iterable[Mapping[str, Any]], effects: Mapping[str, Any]) -> dict[str, Any]:
    """Each estimate beside its planted truth.

    Args:
        estimates: ``Estimate.to_dict()`` rows (``programme, outcome, horizon_months, design, effect, ci_low,
            ci_high, flags``).
        effects: data/truth/help/effects.json.

    Returns:
        ``{"checks": [{programme, outcome, horizon_months, design, truth_key, truth, effect, ci_low, ci_high,
        covered, naive}], "covered": n, "judged": n}``; estimates with no matching truth are listed with
        ``truth`` None and not judged. The recording break's true change (0) is judged for every estimate
        flagged ``recording_change_in_window`` in its ward.
    """
    checks = []
    for e in estimates:
        programme_truth = effects.get(e["programme"])
        key = truth_key(programme_truth, e["design"], e["outcome"], e["horizon_months"]) if isinstance(
            programme_truth, Mapping) else None
        truth = _as_effect(key, float(programme_truth[key])) if key else None
        checks.append({"programme": e["programme"], "outcome": e["outcome"], "horizon_months": e["horizon_months"],
                       "design": e["design"], "truth_key": key, "truth": truth, "effect": e["effect"],
                       "ci_low": e["ci_low"], "ci_high": e["ci_high"], "naive": e["design"] in NAIVE_DESIGNS,
                       "covered": None if truth is None else bool(e["ci_low"] <= truth <= e["ci_high"])})
    judged = [c for c in checks if c["covered"] is not None]
    return {"checks": checks, "judged": len(judged), "covered": sum(c["covered"] for c in judged)}
