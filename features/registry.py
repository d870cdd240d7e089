"""The feature registry: every column the features stage writes, described for people and models.

Each ``Feature`` (``features.feature``) has a plain-English description (used in risk-list
explanations and the model card), its source, window, kind and role:
- ``model``: may be a model input;
- ``fairness_only``: kept for subgroup audits; a model input only when the spec sets
  ``features.allow_fairness_inputs: true`` and names it in ``features.fairness_inputs``;
- ``never``: kept for reports and audits, never a model input.

Features computed from events carry their DuckDB aggregate beside their description in their
source's module ``features/<source>.py`` (school, social_care, health …), which declares them as
``FEATURES``; the others (coverage, demographics, fairness) are in ``features/context.py``. The
source modules are found from the source registry, in its order, and context comes last: a new
source's features module is picked up with no edit here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from features.adult_household import FEATURES as HOUSEHOLD_FEATURES
from features.context import context_features
from features.events import source_feature_modules
from features.family import FAMILY_GROUP, family_feature_names
from features.family import FEATURES as FAMILY_FEATURES
from features.feature import Feature
from features.populations import get_population

if TYPE_CHECKING:
    from models.spec import ModelSpec


def collect_features() -> dict[str, Feature]:
    """Every feature by name: each source module's ``FEATURES`` (sources in registry order), then context's.

    Raises:
        ValueError: two features share a name.
    """
    declared = [*(f for module in source_feature_modules() for f in getattr(module, "FEATURES", ())),
                *FAMILY_FEATURES, *HOUSEHOLD_FEATURES, *context_features()]
    out: dict[str, Feature] = {}
    for f in declared:
        if f.name in out:
            raise ValueError(f"feature {f.name!r} is declared twice")
        out[f.name] = f
    return out


def feature_groups(features: dict[str, Feature]) -> tuple[str, ...]:
    """The groups of ``features`` in the order they first appear."""
    return tuple(dict.fromkeys(f.group for f in features.values()))


FEATURES: dict[str, Feature] = collect_features()
GROUPS: tuple[str, ...] = feature_groups(FEATURES)


def population_features(population: str) -> dict[str, Feature]:
    """The features built for a population's models: those of the groups it declares, in registry order.

    An adults' model never builds school features, and a new source's features are built for a
    population only once it lists their group (``features.populations``).
    """
    allowed = get_population(population).feature_groups
    return {name: f for name, f in FEATURES.items() if f.group in allowed}


def spec_features(spec: ModelSpec) -> dict[str, Feature]:
    """The features built for ``spec``: its population's, without the family features of relatives the spec
    does not name in ``features.family`` (``features.family``: opt-in only)."""
    wanted = set(family_feature_names(spec.features.family))
    return {name: f for name, f in population_features(spec.population).items()
            if f.group != FAMILY_GROUP or name in wanted}


def feature_columns(spec: ModelSpec) -> list[str]:
    """The model-input columns of ``spec``, in registry order.

    Only features of the groups the spec's population allows (``features.populations``) are offered.
    ``features.include`` names groups or features (empty = every ``model`` feature); ``exclude``
    removes names. Fairness-only features are added only when listed in ``fairness_inputs`` (the
    spec refuses that unless ``allow_fairness_inputs`` is true); ``never`` features are never inputs.

    Raises:
        ValueError: the spec names a feature or group the registry does not have, or one its
            population does not allow, or lists a feature that is not fairness-only under
            ``fairness_inputs``; or its population is unknown.
    """
    chosen_by_spec = [*spec.features.include, *spec.features.exclude, *spec.features.fairness_inputs]
    unknown = [n for n in chosen_by_spec if n not in FEATURES and n not in GROUPS]
    if unknown:
        raise ValueError(f"model spec '{spec.name}' names unknown features or groups: {unknown}")
    not_fair = [n for n in spec.features.fairness_inputs if FEATURES[n].role != "fairness_only"]
    if not_fair:
        raise ValueError(f"features.fairness_inputs must name fairness_only features: {not_fair}")
    allowed = get_population(spec.population).feature_groups
    named = [*spec.features.include, *spec.features.fairness_inputs]
    outside = [n for n in named if (FEATURES[n].group if n in FEATURES else n) not in allowed]
    if outside:
        raise ValueError(f"model spec '{spec.name}' names features or groups its population "
                         f"'{spec.population}' does not allow: {outside} (allowed groups: {', '.join(allowed)})")
    include = set(spec.features.include)
    fair_inputs = set(spec.features.fairness_inputs) if spec.features.allow_fairness_inputs else set()
    chosen = []
    for f in spec_features(spec).values():
        if f.name in spec.features.exclude:
            continue
        # the family features a spec opted into (features.family) are inputs without naming their group again
        wanted = not include or f.name in include or f.group in include or f.group == FAMILY_GROUP
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
