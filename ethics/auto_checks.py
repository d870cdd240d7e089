"""Automatic governance checks by name: evaluation outputs against the pre-registered thresholds.

Each check is ``check(evidence, thresholds) -> CheckResult`` (:mod:`ethics.gate_evidence`). A result is
``pass``, ``fail`` or ``not_evaluable`` (an input is missing); anything but ``pass`` blocks the gate.
The evidence string says what was compared, with the numbers, so a reviewer can see why without
re-running. Checklist items name their check by its key here (``ethics/checklist.yaml`` ``check:``).
"""

from __future__ import annotations

from collections.abc import Callable

from ethics.fairness_checks import (
    check_label_completeness,
    check_link_rate_gap,
    check_linkage_quality,
    check_small_cell_suppression,
    check_subgroup_calibration,
    check_subgroup_fnr_gap,
    check_subgroup_oe_gap,
)
from ethics.gate_evidence import CheckResult, GateEvidence
from ethics.integrity_checks import (
    check_documentation_complete,
    check_enough_outcomes,
    check_leakage_guard,
    check_out_of_time_validation,
    check_protected_attributes_not_inputs,
    check_thresholds_unchanged,
)
from ethics.monitor_checks import check_recording_practice
from ethics.performance_checks import (
    check_auc_lower_ci,
    check_beats_rule_score,
    check_calibration,
    check_precision_at_capacity,
)
from ethics.thresholds import Thresholds

CHECKS: dict[str, Callable[[GateEvidence, Thresholds], CheckResult]] = {
    "auc_lower_ci": check_auc_lower_ci,
    "precision_at_capacity": check_precision_at_capacity,
    "calibration": check_calibration,
    "beats_rule_score": check_beats_rule_score,
    "subgroup_fnr_gap": check_subgroup_fnr_gap,
    "subgroup_oe_gap": check_subgroup_oe_gap,
    "subgroup_calibration": check_subgroup_calibration,
    "small_cell_suppression": check_small_cell_suppression,
    "linkage_quality": check_linkage_quality,
    "link_rate_gap": check_link_rate_gap,
    "label_completeness": check_label_completeness,
    "out_of_time_validation": check_out_of_time_validation,
    "enough_outcomes": check_enough_outcomes,
    "leakage_guard": check_leakage_guard,
    "protected_attributes_not_inputs": check_protected_attributes_not_inputs,
    "thresholds_unchanged": check_thresholds_unchanged,
    "recording_practice": check_recording_practice,
    "documentation_complete": check_documentation_complete,
}
