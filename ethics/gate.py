"""The governance gate: auto checks plus human sign-offs -> ``approved`` or ``blocked``.

A version is approved only when every checklist item passes: each auto check returns ``pass``
and each human item's latest sign-off for that exact version is ``approve`` by its role.
Blocked is a normal, reportable state, never an error.
"""

from __future__ import annotations

from typing import Any

from ethics.auto_checks import CHECKS, GateEvidence
from ethics.checklist import Checklist, Thresholds


def human_item_result(item_id: str, role: str, signoff: dict[str, Any] | None) -> dict[str, Any]:
    """Status of one human item from its latest sign-off (``unsigned`` when there is none)."""
    if signoff is None:
        return {"status": "unsigned", "evidence": f"awaiting sign-off by the {role}", "signed_by": None}
    status = "pass" if signoff["decision"] == "approve" else "fail"
    verb = "approved" if status == "pass" else "rejected"
    evidence = f"{verb} by {signoff['by']} ({signoff['role']}) on {signoff['time'][:10]}: {signoff['evidence']}"
    return {"status": status, "evidence": evidence, "signed_by": signoff["by"], "signed_at": signoff["time"]}


def evaluate_gate(
    checklist: Checklist,
    thresholds: Thresholds,
    evidence: GateEvidence,
    signoffs: dict[str, dict[str, Any]],
    *,
    model: str,
    version: str,
) -> dict[str, Any]:
    """Run every checklist item and decide the release status of one model version.

    Args:
        signoffs: latest sign-off per item for this version (:func:`ethics.signoff.latest_signoffs`).

    Returns:
        ``{"model", "version", "status": "approved"|"blocked", "items": [{"id", "kind", "status",
        "evidence", "role", "signed_by", "question", "references"}], "reasons": [...]}``.
    """
    items = []
    for item in checklist.items:
        if item.kind == "auto":
            result = CHECKS[item.check](evidence, thresholds)
            row = {"status": result.status, "evidence": result.evidence, "signed_by": None}
        else:
            row = human_item_result(item.id, item.role, signoffs.get(item.id))
        items.append({"id": item.id, "kind": item.kind, "role": item.role, "question": item.question,
                      "references": item.references, **row})
    reasons = [f"{i['id']}: {i['status'].replace('_', ' ')} - {i['evidence']}" for i in items if i["status"] != "pass"]
    return {
        "model": model, "version": str(version), "status": "blocked" if reasons else "approved",
        "items": items, "reasons": reasons, "thresholds_sha256": evidence.thresholds_sha256,
        "thresholds": thresholds.model_dump(mode="json"),
    }


def unsigned_human_items(result: dict[str, Any]) -> list[str]:
    """Ids of the human items still waiting for a sign-off."""
    return [i["id"] for i in result["items"] if i["kind"] == "human" and i["status"] == "unsigned"]
