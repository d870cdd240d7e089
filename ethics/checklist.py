"""The governance checklist as a typed object, and where the ethics files lie.

``ethics/checklist.yaml`` lists the items (auto checks and human sign-offs); each auto item names
its check in :data:`ethics.auto_checks.CHECKS` and the thresholds (:mod:`ethics.thresholds`) it
reads. The file is read into pydantic models that refuse unknown keys, so a misspelt key or a check
that does not exist fails at load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ethics.auto_checks import CHECKS
from ethics.thresholds import Thresholds

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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChecklistItem(_Strict):
    """One checklist item: an automatic check or a human sign-off by a named role."""

    id: str
    question: str
    kind: Literal["auto", "human"]
    check: str | None = Field(None, description="auto items: name of the check in ethics.auto_checks")
    threshold: list[str] = Field(default_factory=list, description="thresholds.yaml keys the check reads")
    role: str | None = Field(None, description="human items: the role that signs")
    references: dict[str, str] = Field(default_factory=dict)
    only_with_inputs_from: str | None = Field(None, description="a feature group (e.g. family): the item applies "
                                              "only to versions with an input of that group; it is not applicable "
                                              "(passes, said so) to others")

    @model_validator(mode="after")
    def _kind_fields(self) -> ChecklistItem:
        if self.kind == "auto" and not self.check:
            raise ValueError(f"auto item {self.id!r} must name its check")
        if self.kind == "human" and self.role not in ROLES:
            raise ValueError(f"human item {self.id!r} must name a role among {ROLES}")
        return self


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
    each of :data:`MANDATORY_HUMAN_ITEMS`. A configuration (``govern.checklist_file``) may add items, never
    remove these, so a checklist with no items can never approve anything.
    """
    run = {i.check for i in checklist.items if i.kind == "auto"}
    human = {i.id for i in checklist.items if i.kind == "human"}
    return ([f"auto check {name}" for name in CHECKS if name not in run]
            + [f"human item {item}" for item in MANDATORY_HUMAN_ITEMS if item not in human])


def checklist_sha256(checklist: Checklist) -> str:
    """SHA-256 of the checklist's content (canonical JSON of its items): pre-registered, and named by a release.

    Comments and key order in the YAML do not change it; any item, question, role or threshold key does.
    """
    text = json.dumps(checklist.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
