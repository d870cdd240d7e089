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

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from pipeline.core.config import MODEL_NAME_PATTERN, MODEL_SPECS_DIR
from pipeline.core.config import list_model_specs as _list_model_specs
from pipeline.core.io import read_yaml

SPECS_DIR = MODEL_SPECS_DIR  # models/specs; a module attribute, so tests may point it elsewhere


class SpecSection(BaseModel):
    """Base of every spec section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def rules_on(self) -> dict[str, str]:
        """The yes/no rules this section switches on, each as its description says it (the sentence the
        features report and model card state), with this section's numbers filled in."""
        fields, values = type(self).model_fields, self.model_dump()
        return {name: str(fields[name].description).format(**values) for name, value in self if value is True}


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
    ``code_550_is_neet`` decides code 550; custody (710) is never NEET. ``care_entry``: a new period
    of care (SSDA903 RNE ``S``) starting within ``horizon_months`` of the index date (first entry or re-entry).
    """

    kind: str = Field(description="outcome builder, e.g. nccis_neet or care_entry")
    horizon_months: int | None = Field(None, gt=0, description="window length; None = set by ages")
    definition: Literal["neet", "neet_or_not_known"] = "neet"
    code_550_is_neet: bool = True
    from_academic_age: int = Field(16, ge=0)
    until_birthday: int = Field(18, ge=1)
    label_note: str = Field("", description="the label as a policy decision, shown on the model card")


class ExclusionsSpec(SpecSection):
    """Rows removed from the cohort before modelling; each reason is counted by group in the report.

    Every rule is decided without looking at the label: a rule that removes a row removes it whether
    its outcome is 0 or 1 (a rule keyed on the outcome's own records would remove only rows that are
    negative by construction, and flatter the test year). Each field's description is what the model
    card says about the rule (``ethics.card.disclosure.describe_exclusions``).
    """

    looked_after_on_index: bool = Field(
        False, description="children looked after on the index date are not scored: they are already in care")
    open_to_social_care_on_index: bool = Field(
        False, description="children open to children's social care on the index date (an open child-in-need "
                           "episode, a child protection plan, or looked after) are not scored: they have a "
                           "social worker")
    custody_in_window: bool = Field(
        False, description="young people recorded in custody (NCCIS 710) during the outcome window are out of "
                           "the NEET denominator, whatever else is recorded for them")
    left_before_window: bool = Field(
        False, description="young people seen in no source other than the outcome's own in the "
                           "{months_before_window} months before the outcome window are treated as having moved "
                           "away and are not evaluated, whatever the outcome's source holds for them")
    months_before_window: int = Field(12, gt=0, description="how far before the window left_before_window looks")

    @model_validator(mode="before")
    @classmethod
    def _no_label_keyed_rules(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "no_nccis_record" in raw:
            raise ValueError("no_nccis_record was removed: it excluded only rows with no NCCIS record, which are "
                             "negative by construction; use left_before_window (decided from other sources)")
        return raw


class CensoringSpec(SpecSection):
    """Rows whose outcome cannot be observed: no sign of the child in any source other than the outcome's own.

    The rule is applied to every row whatever its outcome (a child who entered care but was seen nowhere
    else is censored too), and judged only from records that are not the outcome (for care entry, every
    record except the SSDA903 episodes themselves).
    """

    left_all_sources: bool = Field(
        False, description="children seen in no source other than the outcome's own from the index date to "
                           "{months_without_record} months after the outcome window are censored as having left, "
                           "whatever their outcome")
    months_without_record: int = Field(
        12, gt=0, description="no record in any source in the window and none after it = left"
    )


class FeaturesSpec(SpecSection):
    """Which registry features the model may use.

    ``include`` lists feature names or domains (``school``, ``social_care``, ``health``,
    ``demographics``, ``coverage``); ``exclude`` removes names. Fairness-only attributes (sex,
    ethnicity group) become model inputs only when named in ``fairness_inputs`` AND
    ``allow_fairness_inputs`` is true; the model card shows this setting. ``family`` names the relatives
    (``parent``, ``sibling``) whose records feed the family features; none unless named.
    """

    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    allow_fairness_inputs: bool = False
    fairness_inputs: list[str] = Field(default_factory=list)
    # scoring a child on relatives' records is the IG board's decision (checklist item family_records): opt in
    family: list[Literal["parent", "sibling"]] = Field(
        default_factory=list, description="relatives whose records feed family features (features.family); "
        "default none")

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
    # every training year held out in turn chooses LightGBM's trees, and its fold models score those years for
    # the calibration (models.held_out_years)
    cross_fit_training_years: bool = False


# columns of the offer exposure (features.offers): whether early help was offered in a row's outcome window and
# when. They describe the help the list triggered, never the child before the index date: never a model input.
OFFER_EXPOSURE_COLUMNS = ("offered_in_window", "offer_date")


class TrainingSpec(SpecSection):
    """How training treats rows whose outcome window holds an early help offer (``models.untreated``).

    ``untreated``: ``naive`` fits every label as recorded (the help the list triggered lowers the labels of the
    children it listed); ``ipw`` drops rows whose outcome window holds an offer and weights the others by
    1/(1 - e(x)), e(x) the chance of an offer given the features; ``dropin`` keeps every row and corrects the
    offered rows' labels by ``dropin_effect``. None = ``ipw`` when the features carry offer exposure, else naive.
    """

    untreated: Literal["naive", "ipw", "dropin"] | None = None
    max_propensity: float = Field(0.95, gt=0.5, lt=1.0, description="e(x) clipped here: weights at most 1/(1-max)")
    dropin_effect: float | None = Field(
        None, ge=-1.0, le=0.0, description="effect of an offer on the outcome among the offered, as an absolute "
                                           "difference (-0.03 = 3 percentage points fewer); used by dropin when "
                                           "reports/impact/estimates.json has none")

    @model_validator(mode="after")
    def _dropin_needs_effect_source(self) -> TrainingSpec:
        if self.untreated == "dropin" and self.dropin_effect is None:
            raise ValueError("training.untreated: dropin needs training.dropin_effect (the estimated effect)")
        return self


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
    capacity_by_year: dict[int, PositiveInt] = Field(
        default_factory=dict, description="the council's capacity for named index years (e.g. {2026: 180}), "
                                          "overriding capacity_per_year for those years")
    seed: int = 20260331
    learners: LearnersSpec = LearnersSpec()
    calibration: CalibrationSpec = CalibrationSpec()
    training: TrainingSpec = TrainingSpec()
    release: Literal["lightgbm", "logistic", "penalised", "rule"] = Field(
        "lightgbm", description="the learner whose scores are evaluated, gated, carded and listed: lightgbm, the "
        "spec's logistic, an L2-penalised logistic with its penalty cross-validated (penalised), or the rule's "
        "points; any but lightgbm is fitted on the training and validation years (models.few_events)")
    estimand: str = Field("", description="what the model predicts, in words; empty = generated from the outcome "
                                          "and horizon (risk ... if no early help offer is made)")

    @model_validator(mode="after")
    def _estimand_and_no_exposure_inputs(self) -> ModelSpec:
        named = [*self.features.include, *self.features.fairness_inputs]
        exposure = [n for n in named if n in OFFER_EXPOSURE_COLUMNS]
        if exposure:
            raise ValueError(f"features name {exposure}: whether early help was offered is the help the list "
                             "triggered, never a model input (the model predicts risk without help; see "
                             "training.untreated)")
        if not self.estimand:
            object.__setattr__(self, "estimand", default_estimand(self.outcome, self.population))
        return self

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

    def capacity_in(self, year: int | None) -> int:
        """Families early help can work with in index year ``year``: ``capacity_by_year`` where the council
        named that year, else ``capacity_per_year``."""
        return int(self.capacity_by_year.get(int(year), self.capacity_per_year)) if year is not None \
            else self.capacity_per_year


def default_estimand(outcome: OutcomeSpec, population: str = "children") -> str:
    """The estimand of a spec that states none: "risk of entering care within 12 months of the index date if
    no early help offer is made (usual care otherwise)"; for adults, "if no offer of help is made"."""
    what = {"care_entry": "entering care", "nccis_neet": "being recorded NEET"}.get(
        outcome.kind, f"the outcome ({outcome.kind.replace('_', ' ')})")
    window = (f"within {outcome.horizon_months} months of the index date" if outcome.horizon_months else
              f"between academic age {outcome.from_academic_age} and the {outcome.until_birthday}th birthday")
    offer = "early help offer" if population == "children" else "offer of help"
    return f"risk of {what} {window} if no {offer} is made (usual care otherwise)"


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
