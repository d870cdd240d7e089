"""The governance checklist as a typed object, and where the ethics files lie.

``ethics/checklist.yaml`` lists the items (auto checks and human sign-offs); each auto item names
its check in :data:`ethics.auto_checks.CHECKS` and the thresholds (:mod:`ethics.thresholds`) it
reads. The file is read into pydantic models that refuse unknown keys, so a misspelt key or a check
that does not exist fails at load.
"""

from __future__ import annotations

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
