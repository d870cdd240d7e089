"""The governance checklist and pre-registered release thresholds, as typed objects.

``ethics/checklist.yaml`` lists the items (auto checks and human sign-offs) and
``ethics/thresholds.yaml`` the release thresholds, with per-model overrides. Both are read into
pydantic models that refuse unknown keys, so a misspelt threshold can never be silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class Thresholds(_Strict):
    """Release thresholds for one model (defaults merged with the model's overrides)."""

    min_precision_at_capacity: float = Field(ge=0, le=1)
    min_lift_at_capacity: float = Field(ge=0)
    min_auc_lower_ci: float = Field(ge=0, le=1)
    calibration_slope_range: tuple[float, float]
    oe_ratio_range: tuple[float, float]
    min_precision_gain_over_rule: float
    max_fnr_gap: float = Field(ge=0, le=1)
    max_oe_gap: float = Field(ge=0)
    min_group_size: int = Field(ge=1)
    min_linkage_precision: float = Field(ge=0, le=1)
    min_linkage_recall: float = Field(ge=0, le=1)
    max_link_rate_gap: float = Field(ge=0, le=1)
    link_rate_directions: list[str]
    link_rate_attributes: list[str]


class ThresholdsFile(_Strict):
    defaults: dict[str, object]
    models: dict[str, dict[str, object]] = Field(default_factory=dict)


def parse_checklist(data: dict) -> Checklist:
    """Validate the parsed ``checklist.yaml``; every auto check must exist and every threshold key too."""
    from ethics.auto_checks import CHECKS

    checklist = Checklist.model_validate(data)
    unknown = [i.check for i in checklist.items if i.kind == "auto" and i.check not in CHECKS]
    if unknown:
        raise ValueError(f"checklist names checks that do not exist: {unknown}")
    keys = set(Thresholds.model_fields)
    bad = sorted({k for i in checklist.items for k in i.threshold if k not in keys})
    if bad:
        raise ValueError(f"checklist names thresholds that do not exist: {bad}")
    return checklist


def model_thresholds(data: dict, model: str) -> Thresholds:
    """The thresholds that apply to ``model``: defaults, then the model's own overrides.

    Raises:
        pydantic.ValidationError: an unknown key, a missing threshold or an invalid value.
    """
    parsed = ThresholdsFile.model_validate(data)
    return Thresholds.model_validate({**parsed.defaults, **parsed.models.get(model, {})})


def thresholds_sha256(text: bytes) -> str:
    """SHA-256 of the thresholds file's bytes: recorded at training, compared at the gate.

    Any edit (values or comments) after training changes it: pre-registration means the file
    a version was trained under is exactly the file it is judged by.
    """
    import hashlib

    return hashlib.sha256(text).hexdigest()
