"""A model's spec and lineage in words, for the card: settings, split, label, outcome, release and registration.

Every phrase is built from the model's own spec and the gate's governance.json, never written by hand,
so a card cannot describe another model's label or a release it was not judged on.
"""

from __future__ import annotations

from typing import Any

from ethics.card.tables import format_value


def describe_settings(settings: Any) -> str:
    """A spec section for people: ``kind: year9 on roll; nc year: 9`` rather than a Python dict or list."""
    if not isinstance(settings, dict) or not settings:
        return str(settings or "-")
    return "; ".join(f"{key.replace('_', ' ')}: {spoken(value)}" for key, value in settings.items()
                     if value is not None)


def spoken(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(spoken(v) for v in value)
    if isinstance(value, dict):
        return describe_settings(value)
    return str(value).replace("_", " ")


def describe_split(split: Any) -> str:
    """'out of time: trained on 2014-2023, calibrated on 2024, tested on 2025; lists scored for 2026'."""
    if not isinstance(split, dict) or not split.get("train_years"):
        return f"out of time: {describe_settings(split)}"
    years = sorted(int(y) for y in split["train_years"])
    trained = f"{years[0]}-{years[-1]}" if years == list(range(years[0], years[-1] + 1)) else spoken(years)
    parts = [f"trained on index years {trained}"]
    for key, verb in (("validation_year", "calibrated on"), ("test_year", "tested on"),
                      ("score_year", "lists scored for")):
        if split.get(key) is not None:
            parts.append(f"{verb} {split[key]}")
    return "out of time: " + ", ".join(parts)


RELEASE_LABELS = {"release_digest": "Release digest (sign-offs name this)", "model_sha256": "Model files SHA-256",
                  "run_id": "MLflow run", "feature_columns": "Inputs",
                  "thresholds_sha256": "Pre-registered thresholds SHA-256",
                  "checklist_sha256": "Checklist SHA-256", "metrics_sha256": "Evaluation outputs SHA-256",
                  "card_sha256": "Model card evidence SHA-256",
                  "capacity": "Capacity (list length)", "base_rate": "Base rate (test-year prevalence)"}


def describe_release(release: Any) -> dict[str, str]:
    """governance.json's ``release`` block (when the gate records one) as labelled lines; {} when absent.

    The digest comes first; a list (the feature columns) is shown as its length, the names being under Method.
    """
    if not isinstance(release, dict):
        return {}
    keys = sorted(release, key=lambda k: k != "release_digest")
    lines = {}
    for key in keys:
        value = release[key]
        if value in (None, "", [], {}):
            continue
        label = RELEASE_LABELS.get(key, str(key).replace("_", " ").capitalize())
        if isinstance(value, list | tuple):
            lines[label] = f"{len(value)} (listed under Method and inputs)"
        elif isinstance(value, float):
            lines[label] = format_value(value, 4)
        else:
            lines[label] = spoken(value) if isinstance(value, dict) else str(value)
    return lines


def _outcome_window(outcome: dict) -> str:
    if outcome.get("horizon_months"):
        return f"within {outcome['horizon_months']} months"
    if outcome.get("from_academic_age") is not None and outcome.get("until_birthday") is not None:
        return f"between academic age {outcome['from_academic_age']} and their {outcome['until_birthday']}th birthday"
    return "within the window the spec sets"


# the adults' outcome kinds (features.adult_population, features.ld_population): what having it means, after
# "would", and what counts as it
ADULT_OUTCOMES = {
    "emergency_spell": ("have an emergency hospital admission",
                        "an emergency hospital admission (HES admission method 21-2D or 28, counted as spells),"),
    "care_home_entry": ("move into a care home",
                        "a permanent move into a residential or nursing home, however funded (council-funded care "
                        "starting, a hospital or ED discharge to a care home, a GP care-home code, or a death "
                        "registered in a care home),"),
    "ld_unplanned_move": ("move unplanned into residential care or another placement",
                          "an unplanned move into residential care or another placement, as the learning-disability "
                          "register records it,"),
}


def outcome_phrase(outcome: dict) -> str:
    """What having the outcome means, to follow "would": "enter care within 12 months".

    Built from this model's own ``outcome`` spec: a field that belongs to another outcome kind (the NEET
    ``definition`` on a care-entry spec, where it is only a default) is never shown.
    """
    kind = str(outcome.get("kind", ""))
    window = _outcome_window(outcome)
    if kind == "care_entry":
        return f"enter care {window}"
    if kind == "nccis_neet":
        counted = " or with activity not known" if outcome.get("definition") == "neet_or_not_known" else ""
        return f"be recorded NEET{counted} {window}"
    if kind in ADULT_OUTCOMES:
        return f"{ADULT_OUTCOMES[kind][0]} {window}"
    return f"have the outcome ({kind.replace('_', ' ') or 'as the spec defines it'}) {window}"


def describe_label(outcome: dict) -> str:
    """What counts as the outcome and over which window, from this model's own ``outcome`` spec."""
    kind = str(outcome.get("kind", "-"))
    if kind == "care_entry":
        text = "a looked-after episode (SSDA903) starting"
    elif kind == "nccis_neet":
        counted = ("NEET or activity not known" if outcome.get("definition") == "neet_or_not_known"
                   else "NEET (not known is not counted)")
        code_550 = "" if outcome.get("code_550_is_neet", True) else "; code 550 not counted"
        text = f"any NCCIS activity recorded as {counted}{code_550},"
    elif kind in ADULT_OUTCOMES:
        text = ADULT_OUTCOMES[kind][1]
    else:
        text = f"{kind.replace('_', ' ')},"
    window = _outcome_window(outcome)
    if outcome.get("horizon_months"):
        window += " after the index date"
    return f"{text} {window}"


def describe_registration(registration: Any) -> dict[str, str]:
    """governance.json's ``registration`` (the thresholds the version was judged against) as labelled lines."""
    if not isinstance(registration, dict):
        return {}
    digest = str(registration.get("thresholds_sha256", ""))
    if registration.get("kind") != "re-registration":
        return {"Thresholds registered": f"before the first evaluation, never changed ({digest[:12]})"}
    return {"Thresholds registered": (f"re-registered on {str(registration.get('at', ''))[:10]} by "
                                      f"{registration.get('by')} ({registration.get('role')}): "
                                      f"{registration.get('reason')} ({digest[:12]})")}
