"""Populations: who a model is about, and what that decides about its features and audits.

A model spec names its population (``population: children``). The population declares the feature
groups its models may use as inputs (``features.registry.feature_columns`` offers nothing else), the
fairness attributes its models are audited by (evaluation's group metrics and the features report's
exclusion and censoring counts) and the age bands of its ``fair_age_band`` attribute.

Two populations: ``children`` and ``adults`` (issue #18: adults on a GP register, with their own feature
groups, age bands and attributes); a new one is added here rather than in the code that reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Population:
    """One population models can be built for.

    Attributes:
        name: the name a spec's ``population`` key uses.
        description: who is in it, in plain English.
        feature_groups: registry groups (``features.registry.GROUPS``) its models may use as inputs.
        fairness_attributes: evaluation's audited attributes, name -> ``fair_*`` columns (two or more
            columns = an intersection), in the order group_metrics.csv lists them.
        report_attributes: ``fair_*`` columns the features report counts exclusions and censoring by.
        age_bands: ``(lowest age, highest age, label)`` in whole years at the index date, for
            ``fair_age_band``; ages outside every band are left blank.
        plural, singular: what the lists call the people in it ("true of 3% of adults in the county").
    """

    name: str
    description: str
    feature_groups: tuple[str, ...]
    fairness_attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    report_attributes: tuple[str, ...] = ()
    age_bands: tuple[tuple[int, int, str], ...] = ()
    plural: str = "people"
    singular: str = "person"

    def __post_init__(self) -> None:
        # read-only, so a caller cannot change the audit of every model of this population
        object.__setattr__(self, "fairness_attributes", MappingProxyType(dict(self.fairness_attributes)))


CHILDREN = Population(
    name="children",
    description="Children and young people under 18 known to schools, children's social care, hospitals or NCCIS",
    feature_groups=("school", "social_care", "health", "family", "demographics", "coverage", "fairness"),
    fairness_attributes={
        "sex": ("fair_sex",),
        "ethnicity_group": ("fair_ethnicity_group",),
        "sen": ("fair_sen",),
        "fsm": ("fair_fsm",),
        "imd_quintile": ("fair_imd_quintile",),
        "sex_x_ethnicity": ("fair_sex", "fair_ethnicity_group"),
    },
    report_attributes=("fair_sex", "fair_ethnicity_group", "fair_sen", "fair_fsm", "fair_imd_quintile",
                       "fair_age_band"),
    # DfE-style bands, as the children's services statistics publish them
    age_bands=((0, 0, "under 1"), (1, 4, "1-4"), (5, 9, "5-9"), (10, 15, "10-15"), (16, 17, "16-17")),
    plural="children", singular="child",
)

ADULTS = Population(
    name="adults",
    description="Adults aged 18 and over registered with a GP practice in the county on the index date",
    feature_groups=("adult_health", "adult_gp", "adult_social_care", "adult_household", "demographics", "fairness"),
    fairness_attributes={
        "sex": ("fair_sex",),
        "ethnicity_group": ("fair_ethnicity_group",),
        "imd_quintile": ("fair_imd_quintile",),
        "age_band": ("fair_age_band",),
        "sex_x_ethnicity": ("fair_sex", "fair_ethnicity_group"),
    },
    report_attributes=("fair_sex", "fair_ethnicity_group", "fair_imd_quintile", "fair_age_band"),
    # the bands NHS admissions statistics and DOMAIN_ADULTS.md §3 use
    age_bands=((18, 44, "18-44"), (45, 64, "45-64"), (65, 74, "65-74"), (75, 84, "75-84"), (85, 130, "85+")),
    plural="adults", singular="adult",
)

LD_REGISTER = Population(
    name="ld_register",
    description="Adults with a learning disability on the council's register, living with a family carer aged 70 "
    "or over (issue #18)",
    feature_groups=("ld_register", "demographics", "fairness"),
    fairness_attributes={
        "sex": ("fair_sex",),
        "ethnicity_group": ("fair_ethnicity_group",),
        "age_band": ("fair_age_band",),
    },
    report_attributes=("fair_sex", "fair_ethnicity_group", "fair_age_band"),
    age_bands=((18, 44, "18-44"), (45, 64, "45-64"), (65, 130, "65+")),
)

POPULATIONS: dict[str, Population] = {p.name: p for p in (CHILDREN, ADULTS, LD_REGISTER)}


class UnknownPopulationError(ValueError):
    """A spec names a population that is not declared here; the message lists the known ones."""


def get_population(name: str) -> Population:
    """The population called ``name``.

    Raises:
        UnknownPopulationError: no population of that name; the message lists the known ones.
    """
    try:
        return POPULATIONS[name]
    except KeyError:
        raise UnknownPopulationError(
            f"unknown population {name!r}; known populations: {', '.join(POPULATIONS)}") from None
