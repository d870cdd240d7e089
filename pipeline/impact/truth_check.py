"""Evaluation only (synthetic county): does each estimate's 95% interval cover the planted truth?

Reads nothing itself; :mod:`pipeline.impact.io` hands it ``data/truth/help/effects.json`` after the
estimates are made. No estimator ever sees the truth: this runs last, and only where a truth exists.
Truth values named ``…_pp`` are percentage points and are compared as proportions (÷ 100).

The weighting (``aipw``, ``ipw_naive``) estimates the effect for the offered children it kept after trimming
(those with a comparable chance of not being offered), not for every child offered from the list: where the
stage's record of those rows can be mapped to the truth (:func:`own_estimand_truth`), it is judged against
mean(y1 − y0) over exactly those offered rows, else against the list-route ITT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

# designs judged against the truth of the rows they kept (own_estimand_truth), where it is known
OWN_ESTIMAND_DESIGNS = ("aipw", "ipw_naive")
OWN_ESTIMAND_KEY = "own_estimand: mean(y1 - y0) over the offered rows AIPW kept"
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
    elif "true_change" in programme_truth:  # the recording break: no real change, whatever was recorded
        key = "true_change"
    else:
        numbers = [k for k, v in programme_truth.items() if k.startswith("att") and isinstance(v, int | float)]
        key = next((k for k in numbers if word in k), numbers[0] if numbers else None)
    return key if key in programme_truth and isinstance(programme_truth[key], int | float) else None


def own_estimand_truth(rows: pd.DataFrame, true_person: pd.DataFrame, scores: pd.DataFrame, outcome: str,
                       horizon: int) -> dict[str, Any]:
    """The truth of the weighting's own estimand: mean(y1 − y0) over the offered rows it kept.

    Args:
        rows: the rows AIPW kept (``person_id`` of the person index, ``run_id``, ``offered``).
        true_person: ``person_id`` (index), ``true_person_id`` (``models.oracle.linked_to_true_person``).
        scores: data/truth/help/scores.parquet (``run_id``, ``person_id`` (true), ``y0_<word>_<h>m``,
            ``y1_<word>_<h>m``; y1 is the outcome with an offer, so y1 − y0 is the offer's effect, ITT).
        outcome: the stage's outcome code (``care_entry``, ``referral``).
        horizon: months.

    Returns:
        ``{"truth": proportion or None, "offered_rows": n, "matched": n}``; None when the truth has no
        potential outcomes for this outcome and horizon or no offered row maps to a true child and run.
    """
    word = OUTCOME_WORD.get(outcome, outcome)
    y0, y1 = f"y0_{word}_{horizon}m", f"y1_{word}_{horizon}m"
    offered = rows[rows["offered"].astype(bool)]
    out: dict[str, Any] = {"truth": None, "offered_rows": len(offered), "matched": 0}
    if y0 not in scores.columns or y1 not in scores.columns:
        return out
    truth = scores[["run_id", "person_id", y0, y1]].rename(columns={"person_id": "true_person_id"})
    truth = truth.assign(run_id=truth["run_id"].astype(str), true_person_id=truth["true_person_id"].astype("int64"))
    keyed = offered[["person_id", "run_id"]].astype(str).merge(
        true_person.assign(person_id=true_person["person_id"].astype(str)), on="person_id", how="inner")
    matched = keyed.merge(truth.drop_duplicates(["run_id", "true_person_id"]), on=["run_id", "true_person_id"],
                          how="inner")
    out["matched"] = len(matched)
    if len(matched):
        out["truth"] = float((matched[y1].astype(int) - matched[y0].astype(int)).mean())
    return out


def _in_estimate_window(programme_truth: Mapping[str, Any], key: str, truth: float,
                        diagnostics: Mapping[str, Any]) -> tuple[str, float]:
    """An area truth over the estimate's own window and in its units: the truth through the estimate's last
    period (``…_through[last_period]``) where the generator gives it, and a per-quarter truth turned into the
    estimate's period (an interrupted time series counts per month: ``period_months`` 1 → ÷ 3)."""
    through = programme_truth.get(f"{key}_through")
    last = diagnostics.get("last_period")
    if isinstance(through, Mapping) and last is not None and str(last) in through:
        key, truth = f"{key}_through[{last}]", float(through[str(last)])
    months = diagnostics.get("period_months")
    if key.split("[")[0].removesuffix("_through").endswith("_per_quarter") and months and float(months) != 3:
        key, truth = f"{key} x {months}/3", truth * float(months) / 3
    return key, truth


def _naive(estimate: Mapping[str, Any]) -> bool:
    """A naive comparator: a naive design, or the recording check taken at face value (no break covariate)."""
    face_value = estimate["programme"] == "recording_break" and not (estimate.get("diagnostics") or {}).get(
        "recording_break_covariate")
    return estimate["design"] in NAIVE_DESIGNS or face_value


def check_against_truth(estimates: Iterable[Mapping[str, Any]], effects: Mapping[str, Any],
                        own: Mapping[tuple[str, str, int], Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Each estimate beside its planted truth.

    Args:
        estimates: ``Estimate.to_dict()`` rows (``programme, outcome, horizon_months, design, effect, ci_low,
            ci_high, flags``).
        effects: data/truth/help/effects.json.
        own: :func:`own_estimand_truth` by ``(programme, outcome, horizon_months)``: the weighting's designs
            are judged against it where its truth is known (its counts are added to the check).

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
        if truth is not None:
            key, truth = _in_estimate_window(programme_truth, key, truth, e.get("diagnostics") or {})
        mine = (own or {}).get((e["programme"], e["outcome"], e["horizon_months"]))
        extra = {}
        if e["design"] in OWN_ESTIMAND_DESIGNS and mine is not None and mine.get("truth") is not None:
            key, truth = OWN_ESTIMAND_KEY, float(mine["truth"])
            extra = {"offered_rows": mine["offered_rows"], "matched": mine["matched"]}
        checks.append({"programme": e["programme"], "outcome": e["outcome"], "horizon_months": e["horizon_months"],
                       "design": e["design"], "truth_key": key, "truth": truth, "effect": e["effect"],
                       "ci_low": e["ci_low"], "ci_high": e["ci_high"], "naive": _naive(e),
                       "covered": None if truth is None else bool(e["ci_low"] <= truth <= e["ci_high"]), **extra})
    judged = [c for c in checks if c["covered"] is not None]
    return {"checks": checks, "judged": len(judged), "covered": sum(c["covered"] for c in judged)}
