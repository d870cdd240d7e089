"""Reasons and protective factors in plain English, with the county comparison, from LightGBM's contributions.

Reasons are the features that pushed a person's score up most, protective factors those that pulled it
down most; each reads as its feature's wording (``features.wording``) with the county average beside it:
"missed 14% of sessions without authorisation in the last 3 years; county average 4%". The county average
is taken over every person scored for the list (:func:`county_averages`), never written by hand.

A contribution that runs against how practitioners read the fact (a suspension lowering the score, an
attendance above the county average raising it) is hidden, never shown as protective or as a reason; the
list's caveats say so. They are associations in the model, not causes. A feature registered with
``show_on_list=False`` (special-category detail: self-harm and other sensitive diagnoses, the abuse
category of a child protection plan) is never named: lists are read by council staff who are not entitled
to that detail.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.wording import Wording

NOTHING_STANDS_OUT = "no single factor stands out"
NONE_FOUND = "none found"
# one reason per line in a cell: reasons themselves hold "; " before the county comparison
REASON_SEPARATOR = "\n"


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def percent(share: float) -> str:
    """A 0-1 share as people read it: "14%", "under 1%" for small non-zero shares, "0%"."""
    if 0 < share < 0.005:
        return "under 1%"
    return f"{share:.0%}"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def count_words(value: float, noun: str) -> str:
    """A count with its noun: "once", "twice", "3 times"; "1 term", "4 terms"; a bare number without a noun."""
    if noun == "time" and value in (1, 2):
        return "once" if value == 1 else "twice"
    if not noun:
        return _number(value)
    return f"{_number(value)} {noun}{'' if value == 1 else 's'}"


def months_words(value: float) -> str:
    """Months as people say them: "less than a month", "1 month", "14 months"."""
    return "less than a month" if value < 1 else f"{value:.0f} month{'' if round(value) == 1 else 's'}"


def value_words(value: Any, wording: Wording) -> str:
    """The child's value in the wording's unit (share as a percentage, count with its noun, months, age)."""
    if _missing(value):
        return "not recorded"
    unit = wording.unit
    if unit == "category":
        return wording.categories.get(str(value), str(value))
    if unit == "flag":
        return "yes" if bool(value) else "no"
    value = float(value)
    if unit == "share":
        return percent(value)
    if unit == "months":
        return months_words(value)
    if unit == "age":
        years, months = divmod(int(value), 12)
        return f"{years} years" + (f" {months} month{'' if months == 1 else 's'}" if months else "")
    if unit == "score":
        return f"{value:.0f}"
    return count_words(value, wording.noun)


def comparison_words(value: Any, average: Any, wording: Wording, people: str = "children") -> str:
    """The county comparison: "county average 4%", or for a flag or category "true of 3% of children in the
    county" (``people``: the population's plural); empty when the cohort gives no average."""
    unit = wording.unit
    if unit == "category":
        share = (average or {}).get(str(value)) if isinstance(average, Mapping) else None
        return "" if share is None else f"true of {percent(share)} of {people} in the county"
    if _missing(average):
        return ""
    if unit == "flag":
        share = float(average) if bool(value) else 1 - float(average)
        return f"true of {percent(share)} of {people} in the county"
    if unit == "share":
        return f"county average {percent(average)}"
    if unit == "months":
        return f"county average {average:.0f} months"
    if unit == "age":
        return f"county average {average / 12:.1f} years"
    if unit == "score":
        return f"county average {average:.1f}"
    suffix = f" {wording.noun}s" if wording.noun and wording.noun != "time" else ""
    return f"county average {average_count(average)}{suffix}"


def average_count(average: float) -> str:
    """An average count: "2.4", "0.04" (two places below 0.1, so a rare event does not read as none),
    "under 0.01"."""
    if 0 < average < 0.005:
        return "under 0.01"
    return f"{average:.2f}" if average < 0.1 else f"{average:.1f}"


def generic_wording(description: str, kind: str, name: str) -> tuple[Wording, str]:
    """A wording and label for a feature with none declared: its description and value ("...: 3")."""
    unit = {"binary": "flag", "categorical": "category"}.get(kind, "share" if "_rate_" in name else "count")
    label = description.split(": ", 1)[0] if kind == "categorical" else description
    return Wording("either", "", unit), label


def reason_text(value: Any, average: Any, wording: Wording, label: str, people: str = "children") -> str:
    """One reason as it reads on the list: the person's value in the wording, then the county comparison."""
    if _missing(value) and wording.says_missing:
        said = wording.says_missing
    elif wording.says and wording.unit == "flag" and not _missing(value):
        said = wording.says if bool(value) else (wording.says_no or f"not: {wording.says}")
    elif wording.says:
        said = wording.says.format(value=value_words(value, wording))
    else:
        said = f"{label}: {value_words(value, wording)}"
    compared = comparison_words(value, average, wording, people) if not _missing(value) else ""
    return f"{said}; {compared}" if compared else said


def reads_the_right_way(wording: Wording, value: Any, average: Any, up: bool) -> bool:
    """Whether a contribution (``up``: raises the score) may be shown, given the feature's direction.

    ``risk`` features are reasons only above the county average (a flag: when it holds), never protective;
    ``strength`` features are reasons below it and protective above it; ``recency`` features are reasons
    only when sooner than the county average, never protective; ``either`` features as the model leans.
    A directed feature with no value, or no average to compare with, is not shown.
    """
    direction = wording.direction
    if wording.unit == "category":  # a category has no above or below: a risk one is a reason while it has a value
        return direction != "risk" or (up and not _missing(value))
    if direction == "either":
        return True
    if _missing(value) or (wording.unit != "flag" and _missing(average)):
        return False
    value = float(value)
    high = value >= 1 if wording.unit == "flag" else value > float(average)
    low = value < 1 if wording.unit == "flag" else value < float(average)
    if direction == "risk":
        return up and high
    if direction == "recency":
        return up and low
    return low if up else high  # strength


def county_averages(cohort: pd.DataFrame, kinds: Mapping[str, str]) -> dict[str, Any]:
    """The county comparison for each feature, over every person scored (missing values left out).

    Args:
        cohort: the scored cohort's feature columns.
        kinds: feature name -> kind (``numeric``, ``binary``, ``categorical``).

    Returns:
        Feature name -> mean (numeric; for a binary feature the share holding it), or for a categorical
        feature its category -> share; NaN where the cohort has no value.
    """
    out: dict[str, Any] = {}
    for name in cohort.columns:
        column = cohort[name].dropna()
        if kinds.get(name) == "categorical":
            out[name] = column.astype("str").value_counts(normalize=True).to_dict()
        else:
            out[name] = float(pd.to_numeric(column).mean()) if len(column) else math.nan
    return out


def explain_rows(
    contributions: pd.DataFrame, values: pd.DataFrame, registry: Mapping[str, Mapping[str, Any]],
    averages: Mapping[str, Any], max_reasons: int = 3, max_protective: int = 3, people: str = "children",
) -> pd.DataFrame:
    """Plain-English reasons (largest positive contributions) and protective factors (largest negative).

    Args:
        contributions: one row per person, one column per feature, LightGBM ``pred_contrib`` values in
            log-odds (bias column removed); same index as ``values``.
        values: the feature values the model saw.
        registry: feature name -> ``{"description", "kind", "show_on_list", "wording"}`` (``wording``: a
            ``features.wording.Wording``; missing = generic; ``show_on_list`` False: never named).
        averages: :func:`county_averages` over the whole scored cohort.
        people: the population's plural, for the county comparison ("true of 3% of adults in the county").

    Returns:
        Same index: ``reasons`` and ``protective_factors`` (one per line), ``hidden_contributions`` (how many
        of the strongest ``max_reasons`` up and ``max_protective`` down were hidden because they ran against
        the feature's direction), and for i in
        1..``max_reasons``: ``reason_<i>_feature``, ``reason_<i>_text``, ``reason_<i>_contribution``
        (log-odds) and ``reason_<i>_county_average`` (a category's or flag's share; NaN when none).
    """
    names = [str(n) for n in contributions.columns]
    shown = np.array([registry.get(n, {}).get("show_on_list", True) is not False for n in names], dtype=bool)
    wordings, labels = [], []
    for n in names:
        entry = registry.get(n, {})
        generic, label = generic_wording(entry.get("description") or n.replace("_", " "),
                                         entry.get("kind", "numeric"), n)
        wording = entry.get("wording")
        wordings.append(generic if wording is None or not wording.says else wording)
        labels.append(label)
    directions = [registry.get(n, {}).get("wording") or wordings[j] for j, n in enumerate(names)]
    matrix = contributions.to_numpy(dtype=float)
    order = np.argsort(-matrix, axis=1, kind="stable")
    rows = []
    for i, row_order in enumerate(order):
        row = values.iloc[i]

        def right_way(j: int, up: bool, _row=row) -> bool:
            return reads_the_right_way(directions[j], _row[names[j]], averages.get(names[j]), up)

        up = [j for j in row_order if matrix[i, j] > 0 and shown[j]]
        down = [j for j in row_order[::-1] if matrix[i, j] < 0 and shown[j]]
        kept_up, kept_down = [j for j in up if right_way(j, True)], [j for j in down if right_way(j, False)]
        texts = {j: reason_text(row[names[j]], averages.get(names[j]), wordings[j], labels[j], people)
                 for j in [*kept_up[:max_reasons], *kept_down[:max_protective]]}
        out: dict[str, Any] = {
            "reasons": REASON_SEPARATOR.join(texts[j] for j in kept_up[:max_reasons]) or NOTHING_STANDS_OUT,
            "protective_factors": REASON_SEPARATOR.join(texts[j] for j in kept_down[:max_protective]) or NONE_FOUND,
            # of what the list would have said unfiltered, how much was hidden for running the wrong way
            "hidden_contributions": sum(j not in kept_up for j in up[:max_reasons])
            + sum(j not in kept_down for j in down[:max_protective]),
        }
        for k in range(max_reasons):
            j = kept_up[k] if k < len(kept_up) else None
            average = averages.get(names[j]) if j is not None else None
            if isinstance(average, Mapping):
                average = average.get(str(row[names[j]]))
            out[f"reason_{k + 1}_feature"] = names[j] if j is not None else None
            out[f"reason_{k + 1}_text"] = texts[j] if j is not None else None
            out[f"reason_{k + 1}_contribution"] = float(matrix[i, j]) if j is not None else math.nan
            out[f"reason_{k + 1}_county_average"] = math.nan if _missing(average) else float(average)
        rows.append(out)
    return pd.DataFrame(rows, index=contributions.index)


def feature_phrasebook() -> dict[str, dict[str, Any]]:
    """Feature name -> ``{"description", "kind", "show_on_list", "group", "wording"}`` from the feature registry and
    ``features.wording``, for explanations."""
    from features.registry import FEATURES
    from features.wording import wording_for

    return {n: {"description": f.description, "kind": f.kind, "show_on_list": f.show_on_list, "group": f.group,
                "wording": wording_for(f)} for n, f in FEATURES.items()}
