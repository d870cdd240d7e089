"""Model specs: one YAML file per model under ``models/specs/``, loaded into a typed ``ModelSpec``.

A spec declares everything that makes one predictive model what it is: who is in the cohort and
when they are scored (index dates), what counts as the outcome and over what horizon, who is
excluded or censored, which features it may use, how time is split for out-of-time evaluation,
how many families early help can work with each year, and the learners' settings. Adding a model
is a new spec file plus its name under ``models:`` in params.yaml (and any new cohort/outcome/feature
functions); nothing else changes.

Unknown keys are errors (``extra="forbid"``), so a misspelt setting can never be silently ignored.
The ``kind`` of a cohort, index dates or outcome, and the ``population``, are names looked up in the
features side's registries (``features.cohorts``, ``features.outcomes``, ``features.populations``);
``features.spec_checks.check_spec_kinds`` checks them, since this module cannot import features.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.core.config import MODEL_NAME_PATTERN, MODEL_SPECS_DIR
from pipeline.core.config import list_model_specs as _list_model_specs
from pipeline.core.io import read_yaml

SPECS_DIR = MODEL_SPECS_DIR  # models/specs; a module attribute, so tests may point it elsewhere


class SpecSection(BaseModel):
    """Base of every spec section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CohortSpec(SpecSection):
    """Who is scored at each index date; ``kind`` names a builder in ``features.cohorts.COHORT_KINDS``.

    ``year9_on_roll``: pupils on roll in ``nc_year`` at each spring school census.
    ``known_to_services``: children aged ``min_age``..``max_age`` at the index date with a record in
    any source in the ``lookback_months`` before it, not looked after on the index date.
    """

    kind: str = Field(description="cohort builder, e.g. year9_on_roll or known_to_services")
    nc_year: int | None = Field(None, ge=0, le=14, description="national curriculum year (year9_on_roll)")
    min_age: int = Field(0, ge=0, description="youngest age in whole years at the index date")
    max_age: int = Field(17, ge=0, description="oldest age in whole years at the index date")
    lookback_months: int = Field(12, gt=0, description="a record within this many months = known")


class IndexDatesSpec(SpecSection):
    """When the cohort is scored; ``kind`` names a builder in ``features.cohorts.INDEX_DATE_KINDS``.

    ``spring_census``: each spring school census date present in the data (third Thursday of January).
    ``annual``: ``month``/``day`` of each year (31 March = the end of the SSDA903/CIN collection year).
    Only index years ``first_year``..``last_year`` are built.
    """

    kind: str = Field(description="index-date builder, e.g. spring_census or annual")
    month: int = Field(3, ge=1, le=12)
    day: int = Field(31, ge=1, le=31)
    first_year: int
    last_year: int

    @model_validator(mode="after")
    def _years_ordered(self) -> IndexDatesSpec:
        if self.last_year < self.first_year:
            raise ValueError("index_dates.last_year is before first_year")
        return self


class OutcomeSpec(SpecSection):
    """What counts as the outcome, and over what window from the index date; ``kind`` names a builder
    in ``features.outcomes.OUTCOME_KINDS``.

    ``nccis_neet``: any NCCIS NEET activity from academic age ``from_academic_age`` to the
    ``until_birthday``-th birthday. ``definition`` chooses ``neet`` or ``neet_or_not_known``;
    ``code_550_is_neet`` decides code 550. ``care_entry``: a looked-after episode starting within
    ``horizon_months`` of the index date (first entry or re-entry).
    """

    kind: str = Field(description="outcome builder, e.g. nccis_neet or care_entry")
    horizon_months: int | None = Field(None, gt=0, description="window length; None = set by ages")
    definition: Literal["neet", "neet_or_not_known"] = "neet"
    code_550_is_neet: bool = True
    from_academic_age: int = Field(16, ge=0)
    until_birthday: int = Field(18, ge=1)
    label_note: str = Field("", description="the label as a policy decision, shown on the model card")


class ExclusionsSpec(SpecSection):
    """Rows removed from the cohort before modelling; each reason is counted by group in the report."""

    no_nccis_record: bool = Field(False, description="no NCCIS record at all (moved away): excluded")
    looked_after_on_index: bool = Field(False, description="looked after on the index date: excluded")


class CensoringSpec(SpecSection):
    """Rows whose outcome cannot be observed: left all sources before the window ended."""

    left_all_sources: bool = Field(False, description="censor children with no record after the index date")
    months_without_record: int = Field(
        12, gt=0, description="no record in any source in the window and none after it = left"
    )


class FeaturesSpec(SpecSection):
    """Which registry features the model may use.

    ``include`` lists feature names or domains (``school``, ``social_care``, ``health``,
    ``demographics``, ``coverage``); ``exclude`` removes names. Fairness-only attributes (sex,
    ethnicity group) become model inputs only when named in ``fairness_inputs`` AND
    ``allow_fairness_inputs`` is true; the model card shows this setting.
    """

    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    allow_fairness_inputs: bool = False
    fairness_inputs: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fairness_inputs_need_permission(self) -> FeaturesSpec:
        if self.fairness_inputs and not self.allow_fairness_inputs:
            raise ValueError("features.fairness_inputs needs features.allow_fairness_inputs: true")
        return self


class SplitSpec(SpecSection):
    """Out-of-time split by index year: train on earlier cohorts, test on the latest matured one."""

    train_years: list[int] = Field(min_length=1)
    validation_year: int
    test_year: int
    score_year: int | None = Field(None, description="index year whose rows are scored for risk lists")

    @model_validator(mode="after")
    def _out_of_time(self) -> SplitSpec:
        if max(self.train_years) >= self.validation_year:
            raise ValueError("split: every train year must precede validation_year")
        if self.validation_year >= self.test_year:
            raise ValueError("split: validation_year must precede test_year")
        if self.score_year is not None and self.score_year < self.test_year:
            raise ValueError("split: score_year must not precede test_year")
        return self


class RuleCriterion(SpecSection):
    """One line of an additive rule score: ``points`` when ``feature op value``."""

    feature: str
    op: Literal[">=", ">", "<=", "<", "==", "!="]
    value: float
    points: int = 1


class RuleSpec(SpecSection):
    """The rule-based baseline (an additive indicator score like the ones LAs already use)."""

    criteria: list[RuleCriterion] = Field(default_factory=list)


class LearnersSpec(SpecSection):
    """Learner settings; ``lightgbm`` and ``logistic`` are passed to the estimators as keyword args."""

    lightgbm: dict[str, Any] = Field(default_factory=dict)
    logistic: dict[str, Any] = Field(default_factory=dict)
    rule: RuleSpec = RuleSpec()


class CalibrationSpec(SpecSection):
    """Calibration methods tried on the validation year."""

    methods: list[Literal["isotonic", "sigmoid"]] = Field(default_factory=lambda: ["isotonic", "sigmoid"])


class ModelSpec(SpecSection):
    """One predictive model, as declared in ``models/specs/<name>.yaml``."""

    name: str = Field(pattern=MODEL_NAME_PATTERN)
    title: str
    description: str
    population: str = Field("children", description="who the model is about (features.populations): "
                                                    "its feature groups, fairness attributes and age bands")
    cohort: CohortSpec
    index_dates: IndexDatesSpec
    outcome: OutcomeSpec
    exclusions: ExclusionsSpec = ExclusionsSpec()
    censoring: CensoringSpec = CensoringSpec()
    features: FeaturesSpec
    split: SplitSpec
    capacity_per_year: int = Field(gt=0, description="families early help can work with per year")
    seed: int = 20260331
    learners: LearnersSpec = LearnersSpec()
    calibration: CalibrationSpec = CalibrationSpec()

    @model_validator(mode="after")
    def _split_within_index_years(self) -> ModelSpec:
        years = [*self.split.train_years, self.split.validation_year, self.split.test_year]
        if self.split.score_year is not None:
            years.append(self.split.score_year)
        low, high = self.index_dates.first_year, self.index_dates.last_year
        outside = sorted(y for y in years if not low <= y <= high)
        if outside:
            raise ValueError(f"split years {outside} are outside index_dates {low}..{high}")
        return self


class ModelSpecError(ValueError):
    """A model spec could not be found or loaded; the message says which file and key."""


def spec_path(name: str, specs_dir: Path | None = None) -> Path:
    """The YAML file of model ``name`` (or ``name`` itself when it is a path to a .yaml file)."""
    if name.endswith((".yaml", ".yml")):
        return Path(name)
    return (specs_dir or SPECS_DIR) / f"{name}.yaml"


def list_model_specs(specs_dir: Path | None = None) -> list[str]:
    """Names of every model spec under ``specs_dir`` (default ``models/specs``), sorted."""
    return _list_model_specs(specs_dir or SPECS_DIR)


def parse_model_spec(raw: dict[str, Any], source: str = "<spec>") -> ModelSpec:
    """Validate an already-read spec mapping into a ``ModelSpec``.

    Raises:
        ModelSpecError: a key is unknown or a value invalid; the message names each key.
    """
    try:
        return ModelSpec.model_validate(raw or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(spec)"
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown key '{where}'")
            else:
                problems.append(f"'{where}': {err['msg']}")
        raise ModelSpecError(f"{source}: " + "; ".join(problems)) from None


def load_model_spec(name: str, specs_dir: Path | None = None) -> ModelSpec:
    """Load and validate model spec ``name`` (e.g. ``neet18``) from ``models/specs``.

    Raises:
        ModelSpecError: no such spec, or it is invalid; the file name must match ``name:``.
    """
    path = spec_path(name, specs_dir)
    if not path.exists():
        known = ", ".join(list_model_specs(specs_dir)) or "none"
        raise ModelSpecError(f"no model spec '{name}' ({path}); known specs: {known}")
    spec = parse_model_spec(read_yaml(path), str(path))
    if spec.name != path.stem:
        raise ModelSpecError(f"{path}: name '{spec.name}' does not match the file name '{path.stem}'")
    return spec
