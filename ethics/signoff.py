"""Human sign-offs: records for the hash-chained, append-only sign-off log.

A sign-off names the model, the exact model version, the checklist item, the person, their
role, the decision and the evidence (a DPIA reference, a minute, a document link). The log is
chained by :mod:`ethics.ledger`; the latest decision for an item and version is the one
that counts, so a later ``reject`` withdraws an earlier ``approve``.
"""

from __future__ import annotations

from typing import Any, Literal

from ethics.checklist import Checklist
from ethics.ledger import utc_now

Decision = Literal["approve", "reject"]


class SignOffError(ValueError):
    """A sign-off that must not be recorded (unknown item, automatic item, wrong role)."""


def make_signoff(
    checklist: Checklist, *, model: str, version: str, item: str, by: str, role: str,
    decision: str, evidence: str, note: str = "",
) -> dict[str, Any]:
    """Build a sign-off record after checking it against the checklist.

    Raises:
        SignOffError: the item does not exist, is automatic, the role is not the item's signing
            role, the decision is not approve/reject, or name/evidence are empty.
    """
    try:
        entry = checklist.item(item)
    except KeyError:
        raise SignOffError(f"no checklist item {item!r}") from None
    if entry.kind != "human":
        raise SignOffError(f"{item!r} is an automatic check: `riskpipe govern` decides it, not a sign-off")
    if role.casefold() != (entry.role or "").casefold():
        raise SignOffError(f"{item!r} is signed by the {entry.role}, not the {role}")
    if decision not in ("approve", "reject"):
        raise SignOffError("decision must be approve or reject")
    if not by.strip() or not evidence.strip():
        raise SignOffError("--by and --evidence must not be empty")
    return {
        "event": "signoff", "time": utc_now(), "model": model, "version": str(version), "item": item,
        "by": by.strip(), "role": entry.role, "decision": decision, "evidence": evidence.strip(), "note": note,
    }


def latest_signoffs(entries: list[dict[str, Any]], model: str, version: str) -> dict[str, dict[str, Any]]:
    """The latest sign-off per checklist item for one model version (later entries win)."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        same_version = entry.get("model") == model and str(entry.get("version")) == str(version)
        if entry.get("event") == "signoff" and same_version:
            latest[entry["item"]] = entry
    return latest
