"""The card's words for the learner a version releases when it is not LightGBM (run.json ``released``,
``models.few_events``): what it is, why it was chosen, and how its list's reasons are worked out."""

from __future__ import annotations

from typing import Any

EXPLANATIONS = {
    "penalised": "each input's coefficient times its standardised value (the penalised logistic regression), "
                 "mapped to plain English by the registry",
    "logistic": "each input's coefficient times its transformed value (the logistic regression), mapped to plain "
                "English by the registry",
    "rule": "the points each input scored in the rule, mapped to plain English by the registry",
}


def released_learner(run: dict[str, Any]) -> dict[str, Any] | None:
    """run.json ``released`` when the learner released is not LightGBM, else None (the card's LightGBM wording)."""
    released = run.get("released") or {}
    return released if released.get("learner") not in (None, "lightgbm") else None


def describe_released(run: dict[str, Any]) -> str | None:
    """"L2-penalised logistic regression, ... (named by the model's spec, release: penalised)", or None for LightGBM."""
    released = released_learner(run)
    if released is None:
        return None
    why = str(released.get("why") or "").strip()
    return f"{released.get('description') or released['learner']}" + (f" ({why})" if why else "")


def describe_explanations(run: dict[str, Any]) -> str | None:
    """How the list's reasons come from the released learner, or None for LightGBM."""
    released = released_learner(run)
    return None if released is None else EXPLANATIONS.get(released["learner"])


def describe_lightgbm(run: dict[str, Any], spec: dict[str, Any]) -> str:
    """The card's method line for LightGBM: its trees and what chose them, and how and on what its calibration was
    fitted, from run.json (``trees``, ``calibration.lightgbm``); a version trained before run.json recorded its
    trees gets the wording of that time."""
    trees = run.get("trees") or {}
    tried = (spec.get("calibration") or {}).get("methods", [])
    calibration = (run.get("calibration") or {}).get("lightgbm") or {}
    if trees.get("count") and trees.get("chosen_on"):
        method = calibration.get("method")
        how = (f"{method}, the better of {' and '.join(tried)} by cross-fitted log-loss" if method and len(tried) > 1
               else method or ", ".join(tried) or "-")
        return (f"LightGBM gradient boosting: {trees['count']:,} trees, chosen on {trees['chosen_on']}, then refitted "
                f"on every training year. Calibrated ({how}) on "
                f"{calibration.get('fitted_on') or 'the validation year'}.")
    cross_fit = (spec.get("calibration") or {}).get("cross_fit_training_years")
    return ("LightGBM gradient boosting (its number of trees chosen by early stopping on the latest training year, "
            "then refitted on every training year), calibrated on the validation year, which nothing else used"
            + (", and on the earlier training years each scored by a model fitted without it" if cross_fit else "")
            + f" ({', '.join(tried) or '-'})")
