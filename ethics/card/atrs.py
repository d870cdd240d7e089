"""An Algorithmic Transparency Recording Standard (ATRS) record for one model version.

Fields riskpipe can derive (performance, data, inputs, sensitive attributes, phase, governance
status) are filled from the card, whose statements are generated from the release; everything
that only people can say is marked ``TO COMPLETE`` (never invented).
"""

from __future__ import annotations

from typing import Any

from ethics.card.model import ModelCard
from ethics.gate_evidence import INCOMPLETE_MARK


def _or_mark(value: Any) -> Any:
    return value if value not in (None, "", "-", []) else INCOMPLETE_MARK


def build_atrs_record(card: ModelCard, *, organisation: str | None = None) -> dict[str, Any]:
    """ATRS tier 1 and tier 2 fields from the model card tree.

    Returns:
        ``{"atrs_version", "tier_1": {...}, "tier_2": {"owner_and_responsibility", "description_and_rationale",
        "decision_making_process", "tool_specification", "data", "risks_mitigations_and_impact_assessments"},
        "fields_to_complete": [...]}``.
    """
    checklist = {i.id: i for i in card.checklist}

    def signed(item_id: str) -> str:
        row = checklist.get(item_id)
        return row.evidence if row and row.status == "pass" else INCOMPLETE_MARK

    record = {
        "atrs_version": "3.0",
        "tier_1": {
            "tool_title": card.title, "description": _or_mark(card.purpose),
            "website": INCOMPLETE_MARK, "contact_email": _or_mark(card.details.get("Contact")),
            "organisation": _or_mark(organisation), "phase": card.phase,
            "how_the_tool_works": card.method.get("Learner"), "decision_subject_to_human_review": "yes",
        },
        "tier_2": {
            "owner_and_responsibility": {"organisation": _or_mark(organisation),
                                         "senior_responsible_owner": _or_mark(card.details.get("Owner")),
                                         "supplier": "in-house (riskpipe, open source)",
                                         "maintenance": signed("rollback_version")},
            "description_and_rationale": {"purpose": _or_mark(card.purpose), "benefits": INCOMPLETE_MARK,
                                          "alternatives_considered": card.method.get("Baselines")},
            "decision_making_process": {"process_integration": _or_mark(card.intended_uses),
                                        "prohibited_uses": _or_mark(card.out_of_scope_uses),
                                        "human_review": signed("human_review"),
                                        "appeals_and_review": signed("challenge_route"),
                                        "training": signed("practitioner_training")},
            "tool_specification": {"model": card.details.get("Model"),
                                   "version": card.details.get("Registered version"),
                                   "method": card.method, "performance": card.evaluation.model_dump(),
                                   # the card's first-screen figures, so the run's MLflow artefacts hold them
                                   "performance_in_words": card.headline.sentences,
                                   "performance_at_capacity": card.headline.model_dump(exclude={"sentences"}),
                                   "disaggregated_performance": card.disaggregated.model_dump(),
                                   "inputs": card.method.get("Inputs"),
                                   "sensitive_attributes": card.sensitive_attributes},
            "data": {**card.data, "lawful_basis": signed("lawful_basis"), "retention": signed("retention"),
                     "data_minimisation": signed("data_minimisation")},
            "risks_mitigations_and_impact_assessments": {
                "dpia": signed("dpia"), "equality_impact_assessment": signed("equality_impact"),
                "risks": card.ethical_considerations + card.caveats,
                "governance_status": card.governance_status, "blocking_reasons": card.reasons_blocked},
        },
    }
    record["fields_to_complete"] = sorted(_marked_paths(record))
    return record


def _marked_paths(obj: Any, prefix: str = "") -> list[str]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _marked_paths(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(obj, list):
        return [prefix] if any(INCOMPLETE_MARK in str(v) for v in obj) else []
    return [prefix] if INCOMPLETE_MARK in str(obj) else []
