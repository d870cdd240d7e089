"""The governance gate: auto checks plus human sign-offs -> ``approved`` or ``blocked``.

A release (:mod:`ethics.release`: a model version bound to its model files, features, pre-registered
thresholds, checklist and evaluation outputs by digests) is approved only when every checklist item
passes: each auto check returns ``pass`` and each human item's latest sign-off naming that exact
release digest is ``approve`` by its role, no person
signed it in two roles and the sign-off log is intact. Blocked is a normal, reportable state, never
an error. An approval is not final: the version holding the ``approved`` alias is re-judged by every
``govern`` (:func:`review_approved_version`) and at every ``score`` (:func:`approval_disagreements`),
whatever newer versions exist, and a withdrawn sign-off revokes it.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from ethics.adult_link_checks import (
    check_adult_link_rate_gap,
    check_adult_linkage_quality,
    is_adult_model,
    run_is_adult,
)
from ethics.auto_checks import CHECKS
from ethics.checklist import Checklist
from ethics.gate_evidence import GateEvidence
from ethics.ledger import canonical_json
from ethics.signoff import lapsed_on, utc_today, withdrawn_approvals
from ethics.thresholds import Thresholds


def human_item_result(item_id: str, role: str, signoff: dict[str, Any] | None, today: date) -> dict[str, Any]:
    """Status of one human item from its latest sign-off (``unsigned`` when there is none, ``fail`` once an
    approval's ``expires`` date has passed)."""
    if signoff is None:
        return {"status": "unsigned", "evidence": f"awaiting sign-off by the {role}", "signed_by": None}
    expired = lapsed_on(signoff, today) if signoff["decision"] == "approve" else None
    if expired:
        return {"status": "fail", "evidence": f"approval by {signoff['by']} ({signoff['role']}) expired on {expired}; "
                f"sign again", "signed_by": signoff["by"], "signed_at": signoff["time"]}
    status = "pass" if signoff["decision"] == "approve" else "fail"
    verb = "approved" if status == "pass" else "rejected"
    evidence = f"{verb} by {signoff['by']} ({signoff['role']}) on {signoff['time'][:10]}: {signoff['evidence']}"
    return {"status": status, "evidence": evidence, "signed_by": signoff["by"], "signed_at": signoff["time"]}


# a model about adults has its linkage judged on adults' records and the sources feeding it (ethics.adult_link_checks)
ADULT_CHECKS = {"linkage_quality": check_adult_linkage_quality, "link_rate_gap": check_adult_link_rate_gap}


def auto_check(name: str, evidence: GateEvidence):
    """The auto check ``name`` as it applies to this version: the adult form of a linkage check for a model whose
    population is not children, else :data:`ethics.auto_checks.CHECKS`'s."""
    if name in ADULT_CHECKS and is_adult_model(evidence):
        return ADULT_CHECKS[name]
    return CHECKS[name]


def version_population(evidence: GateEvidence) -> str:
    """The population whose checklist a version is judged on (:func:`run_population` of its run.json)."""
    return run_population(evidence.run)


def run_population(run: dict[str, Any]) -> str:
    """The population a run.json's version scores: its ``population``; for a run.json from before it was
    recorded, the one population whose own feature groups its inputs come from, else adults when an input comes
    from an adult source, else children. The gate and the web app's sign-off page both read it here."""
    from features.populations import POPULATIONS

    if run.get("population"):
        return str(run["population"])
    groups = input_groups(run.get("feature_columns") or [])
    shared = {g for p in POPULATIONS.values() for q in POPULATIONS.values() if p is not q
              for g in set(p.feature_groups) & set(q.feature_groups)}
    owners = [p.name for p in POPULATIONS.values() if groups & (set(p.feature_groups) - shared)]
    if len(owners) == 1:
        return owners[0]
    return "adults" if run_is_adult(run) else "children"


def input_groups(feature_columns: list[str]) -> set[str]:
    """The feature registry groups of a version's inputs (``run.json`` ``feature_columns``)."""
    from features.registry import FEATURES

    return {FEATURES[c].group for c in feature_columns if c in FEATURES}


def evaluate_gate(
    checklist: Checklist,
    thresholds: Thresholds,
    evidence: GateEvidence,
    signoffs: dict[str, dict[str, Any]],
    *,
    model: str,
    version: str,
    today: date | None = None,
) -> dict[str, Any]:
    """Run every checklist item and decide the release status of one model version.

    ``today`` (default: today, UTC) decides whether an approval with an ``expires`` date still stands.

    Args:
        signoffs: latest sign-off per item for this version (:func:`ethics.signoff.latest_signoffs`).

    Returns:
        ``{"model", "version", "status": "approved"|"blocked", "items": [{"id", "kind", "status",
        "evidence", "role", "signed_by", "question", "references"}], "reasons": [...]}``.
    """
    items = []
    groups = input_groups(evidence.run.get("feature_columns") or [])
    # the items that apply to the people this version scores, each question in their words
    for item in checklist.for_population(version_population(evidence)).items:
        if item.input_groups and not set(item.input_groups) & groups:
            row = {"status": "pass", "signed_by": None,
                   "evidence": f"not applicable: no model input is a {' or '.join(item.input_groups)} feature"}
        elif item.kind == "auto":
            result = auto_check(item.check, evidence)(evidence, thresholds)
            row = {"status": result.status, "evidence": result.evidence, "signed_by": None}
        else:
            row = human_item_result(item.id, item.role, signoffs.get(item.id), today or utc_today())
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


def stamp_decision(result: dict[str, Any], log_problems: list[str], decided_at: str) -> dict[str, Any]:
    """The gate result as recorded: blocked by a broken sign-off log, dated, and given an approval reference.

    Args:
        result: :func:`evaluate_gate` output.
        log_problems: why the sign-offs cannot be trusted (a broken chain, one person in two roles; empty
            when there is nothing wrong); each blocks.
        decided_at: when the gate decided (ISO 8601, UTC).

    Returns:
        ``result`` plus ``decided_at`` and, when approved, ``approval_ref``
        (``riskpipe-<model> v<version> approved <date> (gate <12 hex of the result's SHA-256>)``).
    """
    if log_problems:
        result = {**result, "status": "blocked", "reasons": [*log_problems, *result["reasons"]]}
    result = {**result, "decided_at": decided_at}
    if result["status"] == "approved":
        digest = hashlib.sha256(canonical_json(result).encode()).hexdigest()[:12]
        result["approval_ref"] = (f"riskpipe-{result['model']} v{result['version']} approved "
                                  f"{decided_at[:10]} (gate {digest})")
    return result


def review_approved_version(
    checklist: Checklist, entries: list[dict[str, Any]], log_problems: list[str], *, model: str, version: str,
    release: str, decided_at: str,
) -> dict[str, Any]:
    """Re-judge the version holding ``approved`` when it is not the one just gated (a newer version exists).

    Its evaluation outputs are no longer on disk, so only what can change after approval is judged:
    the latest sign-off per human item for its release (a reject or a missing one withdraws it), one
    person in two roles, and the logs themselves (a log that fails verification can vouch for nothing).

    Args:
        release: the release digest the alias was set for (tag ``governance.release_digest``; empty when
            the alias was not set by ``govern``, which revokes it).
        log_problems: why the logs cannot be trusted, and why the release cannot be found (each revokes).

    Returns:
        ``{"version", "release_digest", "status": "approved"|"revoked", "reasons": [...], "decided_at"}``
        (recorded in governance.json as ``approved_version_review``).
    """
    if not release:
        reasons = [*log_problems, f"v{version} holds `approved` but names no release (the alias was not set by "
                   "`riskpipe govern`)"]
    else:
        reasons = [*log_problems, *withdrawn_approvals(checklist, entries, model, version, release)]
    return {"version": str(version), "release_digest": release, "status": "revoked" if reasons else "approved",
            "reasons": reasons, "decided_at": decided_at}


def approval_disagreements(governance: dict[str, Any] | None, version: str, release: str) -> list[str]:
    """Why governance.json does not back the release holding ``approved`` (empty when it does).

    It backs it when it approved that release of that version, or (a newer version was gated since)
    its ``approved_version_review`` of that release still approves. Anything else - no governance.json,
    a blocked or revoked decision, a decision about other versions only - means the alias alone
    speaks for the version, and the alias alone is never enough (a failed alias removal, a hand-set alias).
    """
    version = str(version)
    if not governance:
        return [f"no governance.json: `riskpipe govern` has not judged v{version}"]
    if str(governance.get("version")) == version:
        if governance.get("release_digest") != release:
            return [f"governance.json judged release {str(governance.get('release_digest'))[:12]} of v{version}, not "
                    f"release {release[:12]} named by the `approved` alias"]
        status = governance.get("status")
        return [] if status == "approved" else [f"governance.json: v{version} is {status}",
                                                 *governance.get("reasons", [])]
    review = governance.get("approved_version_review") or {}
    if str(review.get("version")) == version:
        if review.get("release_digest") != release:
            return [f"governance.json reviewed release {str(review.get('release_digest'))[:12]} of v{version}, not "
                    f"release {release[:12]} named by the `approved` alias"]
        return [] if review.get("status") == "approved" else [f"governance.json: v{version} was {review.get('status')}",
                                                               *review.get("reasons", [])]
    return [f"governance.json judged v{governance.get('version')}, not v{version}, the version holding `approved`"]
