"""A model spec checked against what the features side knows: kinds, population and feature names.

``models.spec`` validates a spec's shape but cannot know which cohort, index-date and outcome kinds
have builders, which populations exist or which features the registry holds (models does not import
features). ``check_spec_kinds`` closes that gap before any data is read, so a misspelt kind fails
with the names that would work instead of after the event frames are built.
"""

from __future__ import annotations

import features.adult_population  # noqa: F401  registers the adults' cohort and outcome kinds
from features.cohorts import COHORT_KINDS, INDEX_DATE_KINDS
from features.kinds import UnknownKindError
from features.offers import help_features
from features.outcomes import OUTCOME_KINDS
from features.populations import get_population
from features.registry import FEATURES, feature_columns
from models.spec import ModelSpec, ModelSpecError


def spec_problems(spec: ModelSpec) -> list[str]:
    """Every way ``spec`` names something the features side does not have (empty = none)."""
    problems = []
    for registry, kind in ((COHORT_KINDS, spec.cohort.kind), (INDEX_DATE_KINDS, spec.index_dates.kind),
                           (OUTCOME_KINDS, spec.outcome.kind)):
        try:
            registry.get(kind)
        except UnknownKindError as exc:
            problems.append(str(exc))
    try:
        get_population(spec.population)
        inputs = feature_columns(spec)
    except ValueError as exc:  # UnknownPopulationError is a ValueError, as are unknown feature names
        problems.append(str(exc))
    else:
        helped = help_features({name: FEATURES[name] for name in inputs})
        if helped:  # issue 19: who was listed or helped is never a model input (features.offers)
            problems.append(f"inputs {helped} are read from the records of help given (offers, lists): the model "
                            "predicts risk without help and must never see who was helped")
    return problems


def check_spec_kinds(spec: ModelSpec) -> ModelSpec:
    """``spec`` itself when its kinds, population and features all exist here.

    Raises:
        ModelSpecError: naming every unknown kind, population or feature, with the known ones.
    """
    problems = spec_problems(spec)
    if problems:
        raise ModelSpecError(f"model spec '{spec.name}': " + "; ".join(problems))
    return spec
