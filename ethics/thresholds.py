"""Pre-registered release thresholds, as a typed object (``ethics/thresholds.yaml``).

The file holds ``defaults`` and per-model overrides under ``models:``; a model with no entry
there is judged by the defaults. Both are read into pydantic models that refuse unknown keys, so
a misspelt threshold can never be silently ignored. Which link-rate directions are compared is
not a threshold: the source registry declares them (``Source.link_rates_to``).
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    link_rate_attributes: list[str]
    # fewer positive outcomes than this in the validation or test year: the model cannot be judged
    min_outcomes_per_evaluation_year: int = Field(20, ge=1)
    # a group whose labels are "not known" far more often than everyone else's: its outcomes go unrecorded
    max_label_missing_ratio: float = Field(2.0, ge=1)
    max_label_missing_gap: float = Field(0.05, ge=0, le=1)
    # a group's O/E against everyone's (same bootstrap replicates): fails when the whole 95% interval is outside
    subgroup_oe_ratio_range: tuple[float, float] = (0.8, 1.25)


class ThresholdsFile(_Strict):
    defaults: dict[str, object]
    models: dict[str, dict[str, object]] = Field(default_factory=dict)


def model_thresholds(data: dict, model: str) -> Thresholds:
    """The thresholds that apply to ``model``: defaults, then the model's own overrides (if it has any).

    Raises:
        pydantic.ValidationError: an unknown key, a missing threshold or an invalid value.
    """
    parsed = ThresholdsFile.model_validate(data)
    return Thresholds.model_validate({**parsed.defaults, **parsed.models.get(model, {})})



def model_thresholds_sha256(thresholds: Thresholds) -> str:
    """SHA-256 of one model's thresholds (defaults merged with its overrides, as canonical JSON).

    This is what is pre-registered per model (:mod:`ethics.release_store`) and named by a release: editing
    a value that applies to the model changes it; a comment or another model's override does not.
    """
    text = json.dumps(thresholds.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
