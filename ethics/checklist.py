"""The governance checklist as a typed object, and where the ethics files lie.

``ethics/checklist.yaml`` lists the items (auto checks and human sign-offs); each auto item names
its check in :data:`ethics.auto_checks.CHECKS` and the thresholds (:mod:`ethics.thresholds`) it
reads. The file is read into pydantic models that refuse unknown keys, so a misspelt key or a check
that does not exist fails at load.

A checklist speaks about the people each model scores: an item's ``question`` is either one question for
every population, or a mapping from each population (:data:`features.populations.POPULATIONS`: children,
adults, ld_register) to the question in that population's words, and ``populations`` limits an item to the
models of some populations. :meth:`Checklist.for_population` gives the checklist one model is judged by.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ethics.auto_checks import CHECKS
from ethics.thresholds import Thresholds
from features.populations import POPULATIONS

ETHICS_DIR = Path(__file__).parent
CHECKLIST_FILE = ETHICS_DIR / "checklist.yaml"
THRESHOLDS_FILE = ETHICS_DIR / "thresholds.yaml"
CONTEXTS_DIR = ETHICS_DIR / "contexts"
TEMPLATES_DIR = ETHICS_DIR / "templates"
ROLES = ("DPO", "Caldicott Guardian", "SIRO", "service lead", "lead data scientist")
# human items no configured checklist may drop (govern.checklist_file): lawful basis, DPIA, human review of
# every entry and the equality impact assessment; every automatic check in ethics.auto_checks.CHECKS is
# mandatory too (mandatory_items_missing)
MANDATORY_HUMAN_ITEMS = ("lawful_basis", "dpia", "human_review", "equality_impact")
# fields added after checklists were first pre-registered: left out of the digest while unset, so a checklist
# that uses none of them keeps the digest it was registered with
_ADDED_FIELDS = ("populations",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChecklistItem(_Strict):
    """One checklist item: an automatic check or a human sign-off by a named role."""

    id: str
    question: str | dict[str, str] = Field(description="one question for every population, or population name -> "
                                           "the question in that population's words (one for each population "
                                           "the item applies to)")
    kind: Literal["auto", "human"]
    check: str | None = Field(None, description="auto items: name of the check in ethics.auto_checks")
    threshold: list[str] = Field(default_factory=list, description="thresholds.yaml keys the check reads")
    role: str | None = Field(None, description="human items: the role that signs")
    references: dict[str, str] = Field(default_factory=dict)
    only_with_inputs_from: str | list[str] | None = Field(
        None, description="a feature group (e.g. family), or several: the item applies only to versions with an "
                          "input of one of them; it is not applicable (passes, said so) to others")
    populations: list[str] | None = Field(None, description="the item applies only to models of these populations "
                                          "(features.populations); other models' checklists leave it out")

    @model_validator(mode="after")
    def _kind_fields(self) -> ChecklistItem:
        if self.kind == "auto" and not self.check:
            raise ValueError(f"auto item {self.id!r} must name its check")
        if self.kind == "human" and self.role not in ROLES:
            raise ValueError(f"human item {self.id!r} must name a role among {ROLES}")
        return self

    @model_validator(mode="after")
    def _known_input_groups(self) -> ChecklistItem:
        # a misspelt group would make the item "not applicable" to every model: refuse it at load
        known = {g for population in POPULATIONS.values() for g in population.feature_groups}
        unknown = sorted(set(self.input_groups) - known)
        if unknown or self.only_with_inputs_from == []:
            raise ValueError(f"item {self.id!r}: only_with_inputs_from {unknown or '[]'} are not feature groups any "
                             f"population's models use ({', '.join(sorted(known))})")
        return self

    @model_validator(mode="after")
    def _population_wording(self) -> ChecklistItem:
        unknown = sorted(set(self.populations or []) - set(POPULATIONS))
        if unknown or self.populations == []:
            raise ValueError(f"item {self.id!r}: populations {unknown or '[]'} are not populations "
                             f"({', '.join(POPULATIONS)})")
        if isinstance(self.question, dict):
            # every population the item applies to has its own words: a new population never inherits another's
            wanted = set(self.populations or POPULATIONS)
            missing, extra = sorted(wanted - set(self.question)), sorted(set(self.question) - wanted)
            if missing or extra:
                raise ValueError(f"item {self.id!r}: question needs exactly one wording per population it applies to"
                                 f"{'; missing ' + ', '.join(missing) if missing else ''}"
                                 f"{'; not applicable ' + ', '.join(extra) if extra else ''}")
        return self

    @property
    def input_groups(self) -> tuple[str, ...]:
        """The feature groups of ``only_with_inputs_from`` (empty: the item does not depend on the inputs)."""
        wanted = self.only_with_inputs_from
        return () if not wanted else (wanted,) if isinstance(wanted, str) else tuple(wanted)

    @property
    def conditional(self) -> bool:
        """True when the item applies only to some versions (some inputs, or some populations)."""
        return bool(self.only_with_inputs_from or self.populations)

    def applies_to(self, population: str) -> bool:
        """Whether a model of ``population`` is judged on this item."""
        return self.populations is None or population in self.populations

    def question_for(self, population: str) -> str:
        """The question in the words of ``population``'s people.

        Raises:
            KeyError: the item does not apply to ``population``, or the population is unknown.
        """
        if population not in POPULATIONS or not self.applies_to(population):
            raise KeyError(f"checklist item {self.id!r} does not apply to population {population!r}")
        return self.question[population] if isinstance(self.question, dict) else self.question


class Checklist(_Strict):
    items: list[ChecklistItem]

    @model_validator(mode="after")
    def _unique_ids(self) -> Checklist:
        ids = [i.id for i in self.items]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate checklist ids: {duplicates}")
        return self

    def item(self, item_id: str) -> ChecklistItem:
        for entry in self.items:
            if entry.id == item_id:
                return entry
        raise KeyError(f"no checklist item {item_id!r}")

    def for_population(self, population: str) -> Checklist:
        """The checklist a model of ``population`` is judged by: the items that apply to it, each question in its
        people's words (a plain string). Item ids and order are kept.

        Raises:
            KeyError: an unknown population.
        """
        if population not in POPULATIONS:
            raise KeyError(f"unknown population {population!r}; known populations: {', '.join(POPULATIONS)}")
        return Checklist(items=[item.model_copy(update={"question": item.question_for(population)})
                                for item in self.items if item.applies_to(population)])


def parse_checklist(data: dict) -> Checklist:
    """Validate the parsed ``checklist.yaml``; every auto check must exist and every threshold key too."""
    checklist = Checklist.model_validate(data)
    unknown = [i.check for i in checklist.items if i.kind == "auto" and i.check not in CHECKS]
    if unknown:
        raise ValueError(f"checklist names checks that do not exist: {unknown}")
    keys = set(Thresholds.model_fields)
    bad = sorted({k for i in checklist.items for k in i.threshold if k not in keys})
    if bad:
        raise ValueError(f"checklist names thresholds that do not exist: {bad}")
    return checklist


def mandatory_items_missing(checklist: Checklist) -> list[str]:
    """What a checklist lacks of the mandatory set (empty when complete).

    Mandatory: an auto item running each check in :data:`ethics.auto_checks.CHECKS`, and a human item for
    each of :data:`MANDATORY_HUMAN_ITEMS`, for every model: an item limited to some inputs or populations
    does not count. A configuration (``govern.checklist_file``) may add items, never remove these, so a
    checklist with no items can never approve anything.
    """
    run = {i.check for i in checklist.items if i.kind == "auto" and not i.conditional}
    human = {i.id for i in checklist.items if i.kind == "human" and not i.conditional}
    return ([f"auto check {name}" for name in CHECKS if name not in run]
            + [f"human item {item}" for item in MANDATORY_HUMAN_ITEMS if item not in human])


def checklist_sha256(checklist: Checklist) -> str:
    """SHA-256 of the checklist's content (canonical JSON of its items): pre-registered, and named by a release.

    Comments and key order in the YAML do not change it; any item, question (in any population's words), role,
    population or threshold key does. A field added since checklists were first registered counts only once set.
    """
    dumped = checklist.model_dump(mode="json")
    dumped["items"] = [{k: v for k, v in item.items() if not (k in _ADDED_FIELDS and v is None)}
                       for item in dumped["items"]]
    text = json.dumps(dumped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
