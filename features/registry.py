"""The feature registry: every column the features stage writes, described for people and models.

Each ``Feature`` (``features.feature``) has a plain-English description (used in risk-list
explanations and the model card), its source, window, kind and role:
- ``model``: may be a model input;
- ``fairness_only``: kept for subgroup audits; a model input only when the spec sets
  ``features.allow_fairness_inputs: true`` and names it in ``features.fairness_inputs``;
- ``never``: kept for reports and audits, never a model input.

Features computed from events carry their DuckDB aggregate beside their description in the
domain modules (school, social_care, health); the others are derived in ``features/context.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.context import CONTEXT_FEATURES
from features.feature import Feature
from features.health import HEALTH_FEATURES
from features.school import SCHOOL_FEATURES
from features.social_care import SOCIAL_CARE_FEATURES

if TYPE_CHECKING:
    from models.spec import ModelSpec

GROUPS = ("school", "social_care", "health", "demographics", "coverage", "fairness")
FEATURES: dict[str, Feature] = {
    f.name: f for f in (*SCHOOL_FEATURES, *SOCIAL_CARE_FEATURES, *HEALTH_FEATURES, *CONTEXT_FEATURES)
}


def feature_columns(spec: ModelSpec) -> list[str]:
    """The model-input columns of ``spec``, in registry order.

    ``features.include`` names groups or features (empty = every ``model`` feature); ``exclude``
    removes names. Fairness-only features are added only when listed in ``fairness_inputs`` (the
    spec refuses that unless ``allow_fairness_inputs`` is true); ``never`` features are never inputs.

    Raises:
        ValueError: the spec names a feature or group the registry does not have, or lists a
            feature that is not fairness-only under ``fairness_inputs``.
    """
    chosen_by_spec = [*spec.features.include, *spec.features.exclude, *spec.features.fairness_inputs]
    unknown = [n for n in chosen_by_spec if n not in FEATURES and n not in GROUPS]
    if unknown:
        raise ValueError(f"model spec '{spec.name}' names unknown features or groups: {unknown}")
    not_fair = [n for n in spec.features.fairness_inputs if FEATURES[n].role != "fairness_only"]
    if not_fair:
        raise ValueError(f"features.fairness_inputs must name fairness_only features: {not_fair}")
    include = set(spec.features.include)
    fair_inputs = set(spec.features.fairness_inputs) if spec.features.allow_fairness_inputs else set()
    chosen = []
    for f in FEATURES.values():
        if f.name in spec.features.exclude:
            continue
        wanted = not include or f.name in include or f.group in include
        if (f.role == "model" and wanted) or (f.role == "fairness_only" and f.name in fair_inputs):
            chosen.append(f.name)
    return chosen


def describe_feature(name: str) -> str:
    """The plain-English description of feature ``name`` (for explanations and model cards)."""
    return FEATURES[name].description


def registry_frame():
    """The registry as a DataFrame (``name, description, source, window, kind, role, group``)."""
    import pandas as pd

    cols = ["name", "description", "source", "window", "kind", "role", "group"]
    return pd.DataFrame([{c: getattr(f, c) for c in cols} for f in FEATURES.values()], columns=cols)
