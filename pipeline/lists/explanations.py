"""Reasons and protective factors in plain English, from LightGBM's per-row contributions.

Reasons are the features that pushed a person's score up most, protective factors those that pulled
it down most; each reads ``description: value`` through the feature registry. They are associations
in the model, not causes. A feature registered with ``show_on_list=False`` (special-category detail:
self-harm and other sensitive diagnoses, the abuse category of a child protection plan) is never
named: lists are read by council staff who are not entitled to that detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def describe_value(value: Any, kind: str, name: str = "") -> str:
    """A feature value for people: yes/no for binary features, shares as percentages, short numbers, text as is.

    ``name`` lets shares (``*_rate_*`` features, stored as 0-1) read as "14%" rather than "0.142".
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "not recorded"
    if kind == "binary":
        return "yes" if bool(value) else "no"
    if isinstance(value, int | np.integer | float | np.floating):
        if "_rate_" in name:
            return f"{float(value):.0%}"
        return f"{value:.3g}"
    return str(value)


def feature_label(description: str, kind: str) -> str:
    """The description without the list of categories a categorical one spells out after a colon."""
    return description.split(": ", 1)[0] if kind == "categorical" else description


def explain_rows(
    contributions: pd.DataFrame, values: pd.DataFrame, registry: Mapping[str, Mapping[str, str]],
    max_reasons: int = 5, max_protective: int = 3,
) -> pd.DataFrame:
    """Plain-English reasons (largest positive contributions) and protective factors (largest negative).

    Args:
        contributions: one row per person, one column per feature, LightGBM ``pred_contrib`` values in
            log-odds (bias column removed); same index as ``values``.
        values: the feature values the model saw.
        registry: feature name -> ``{"description", "kind", "show_on_list"}`` from the feature registry
            (``show_on_list`` False: never named, whatever its contribution; missing = shown).

    Returns:
        Same index: ``reasons`` and ``protective_factors`` ("; "-joined ``description: value``).
    """
    names = np.asarray(contributions.columns)
    shown = np.array([registry.get(n, {}).get("show_on_list", True) is not False for n in names], dtype=bool)
    matrix = contributions.to_numpy(dtype=float)
    order = np.argsort(-matrix, axis=1, kind="stable")
    reasons, protective = [], []
    for i, row_order in enumerate(order):
        def phrase(j: int, _i: int = i) -> str:
            entry = registry.get(names[j], {})
            kind = entry.get("kind", "numeric")
            text = feature_label(entry.get("description") or names[j].replace("_", " "), kind)
            return f"{text}: {describe_value(values.iloc[_i][names[j]], kind, str(names[j]))}"

        up = [j for j in row_order if matrix[i, j] > 0 and shown[j]][:max_reasons]
        down = [j for j in row_order[::-1] if matrix[i, j] < 0 and shown[j]][:max_protective]
        reasons.append("; ".join(phrase(j) for j in up) or "no single factor stands out")
        protective.append("; ".join(phrase(j) for j in down) or "none found")
    return pd.DataFrame({"reasons": reasons, "protective_factors": protective}, index=contributions.index)
