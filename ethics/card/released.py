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
