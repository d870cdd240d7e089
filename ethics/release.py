"""What an approval covers: a *release*, bound to its content by digests; and the pre-registration it is judged by.

A release names the model, its registered version and run, the SHA-256 of the logged model's files,
its feature list, the digests of the pre-registered thresholds, of the checklist and of the evaluation
outputs (``metrics.json`` and ``group_metrics.csv``), its capacity and its base rate (the test year's
prevalence), and the digest of the model card's evidence (:mod:`ethics.card.evidence`: the card the
reviewers read, without the gate's decision, which the sign-offs themselves change). Its
``release_digest`` is the SHA-256 of the rest as canonical JSON: sign-offs name it, so a rebuilt
registry's new "v3", a retrained model, a re-run evaluation, edited thresholds or an edited card make
another release that no earlier sign-off covers.

Pre-registration: per model, the first record of its thresholds and checklist digests is written at
``riskpipe train``, before any evaluation. It holds until a deliberate **re-registration** (``riskpipe
preregister``: a named person in an information-governance role, a reason, the OS identity), itself a
line of the same keyed log. Each version is judged against the registration in force when it was trained
(run.json names it), so a re-registration never rescues a version already trained and evaluated: the
next version is judged under it.
Everything here is pure; the ledgers are read and written by :mod:`ethics.release_store`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ethics.ledger import canonical_json

RELEASE_EVENT = "release"
REGISTRATION_EVENT = "preregistration"
REREGISTRATION_EVENT = "reregistration"
REGISTRATION_EVENTS = (REGISTRATION_EVENT, REREGISTRATION_EVENT)
# who may move a model's pre-registered thresholds: the information-governance roles of the checklist
REREGISTRATION_ROLES = ("DPO", "SIRO", "Caldicott Guardian")
# the digests and values a release binds, in the order they are shown
RELEASE_FIELDS = ("model", "version", "run_id", "model_sha256", "feature_columns", "thresholds_sha256",
                  "checklist_sha256", "metrics_sha256", "card_sha256", "capacity", "base_rate")


def metrics_sha256(metrics_json: bytes, group_metrics_csv: bytes) -> str:
    """SHA-256 over the evaluation outputs a release is judged on (each file's SHA-256, in a fixed order)."""
    parts = [hashlib.sha256(metrics_json).hexdigest(), hashlib.sha256(group_metrics_csv).hexdigest()]
    return hashlib.sha256("\n".join(parts).encode("ascii")).hexdigest()


def release_digest(release: Mapping[str, Any]) -> str:
    """SHA-256 of a release's fields (everything but ``release_digest`` itself) as canonical JSON."""
    return hashlib.sha256(canonical_json({k: release[k] for k in RELEASE_FIELDS}).encode("utf-8")).hexdigest()


def build_release(*, model: str, version: str, run_id: str, model_sha256: str, feature_columns: Sequence[str],
                  thresholds_sha256: str, checklist_sha256: str, metrics_sha256: str, card_sha256: str,
                  capacity: int | None, base_rate: float | None) -> dict[str, Any]:
    """The release record (``reports/<model>/release.json``), with its ``release_digest``.

    ``capacity`` or ``base_rate`` is None when metrics.json lacks it; the gate then blocks (its checks
    cannot be evaluated), so such a release never issues a list.
    """
    release = {"model": model, "version": str(version), "run_id": str(run_id), "model_sha256": model_sha256,
               "feature_columns": list(feature_columns), "thresholds_sha256": thresholds_sha256,
               "checklist_sha256": checklist_sha256, "metrics_sha256": metrics_sha256, "card_sha256": card_sha256,
               "capacity": None if capacity is None else int(capacity),
               "base_rate": None if base_rate is None else float(base_rate)}
    return {**release, "release_digest": release_digest(release)}


def release_record_problems(release: Mapping[str, Any] | None, digest: str) -> list[str]:
    """Why a stored release record is not the release ``digest`` names (empty when its content hashes to it)."""
    if not release:
        return [f"no release {digest[:12]} in the release log (ethics/ledger/releases.jsonl)"]
    if any(k not in release for k in RELEASE_FIELDS) or release_digest(release) != digest:
        return [f"the recorded release {digest[:12]} does not hash to its digest (edited)"]
    return []


def release_disagreements(release: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """One message per field of ``release`` that differs from what ``now`` finds on disk and in MLflow.

    Args:
        now: the same fields as read now (only the ones given are compared).
    """
    return [f"{field} of the approved release is {_short(release.get(field))}, now {_short(value)}"
            for field, value in now.items() if release.get(field) != value]


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text[:80]


def release_entry(release: Mapping[str, Any]) -> dict[str, Any]:
    """The release log record for ``release``."""
    return {"event": RELEASE_EVENT, "model": release["model"], "version": str(release["version"]),
            "release_digest": release["release_digest"], "release": dict(release)}


def find_release(entries: Sequence[Mapping[str, Any]], model: str, *, digest: str | None = None,
                 version: str | None = None) -> dict[str, Any] | None:
    """The release of ``model`` with ``digest`` (or, given a version, that version's latest release), or None."""
    found = None
    for entry in entries:
        if entry.get("event") != RELEASE_EVENT or entry.get("model") != model:
            continue
        if digest is not None and entry.get("release_digest") == digest:
            return dict(entry["release"])
        if digest is None and version is not None and str(entry.get("version")) == str(version):
            found = dict(entry["release"])
    return found


def registration_record(model: str, *, thresholds_sha256: str, thresholds: Mapping[str, Any],
                        checklist_sha256: str, checklist_items: Sequence[str]) -> dict[str, Any]:
    """The pre-registration log record of one model's thresholds and checklist."""
    return {"event": REGISTRATION_EVENT, "model": model, "thresholds_sha256": thresholds_sha256,
            "thresholds": dict(thresholds), "checklist_sha256": checklist_sha256,
            "checklist_items": list(checklist_items)}


def first_registration(entries: Sequence[Mapping[str, Any]], model: str) -> dict[str, Any] | None:
    """The model's first pre-registration, or None."""
    return next((dict(e) for e in entries if e.get("event") == REGISTRATION_EVENT and e.get("model") == model), None)


def registrations(entries: Sequence[Mapping[str, Any]], model: str) -> list[dict[str, Any]]:
    """The model's registrations in log order: the first, then each re-registration."""
    first = first_registration(entries, model)
    if first is None:
        return []
    return [first, *(dict(e) for e in entries if e.get("event") == REREGISTRATION_EVENT and e.get("model") == model)]


def registration_in_force(entries: Sequence[Mapping[str, Any]], model: str, *,
                          named: str | None = None) -> dict[str, Any] | None:
    """The registration a version is judged against: the one ``named`` (its entry hash), or the latest.

    Args:
        named: the ``hash`` of the registration in force when the version was trained (run.json's
            ``registration``); None (a run from before re-registration existed) means the first.

    Returns:
        The registration entry, or None when the model has none (or none with that hash).
    """
    found = registrations(entries, model)
    if not found:
        return None
    if named is None:
        return found[0]
    return next((r for r in found if r.get("hash") == named), None)


def reregistration_record(model: str, *, thresholds_sha256: str, thresholds: Mapping[str, Any],
                          checklist_sha256: str, checklist_items: Sequence[str], supersedes: str, by: str,
                          role: str, user: str, reason: str, at: str) -> dict[str, Any]:
    """A deliberate re-registration: new thresholds or checklist for the model's *next* versions."""
    return {**registration_record(model, thresholds_sha256=thresholds_sha256, thresholds=thresholds,
                                  checklist_sha256=checklist_sha256, checklist_items=checklist_items),
            "event": REREGISTRATION_EVENT, "supersedes": supersedes, "by": by, "role": role, "user": user,
            "reason": reason, "at": at}


def reregistration_problems(current: Mapping[str, Any] | None, *, thresholds_sha256: str, checklist_sha256: str,
                            role: str, by: str, reason: str) -> list[str]:
    """Why a re-registration must not be recorded (empty when it may)."""
    problems = []
    if current is None:
        problems.append("the model was never pre-registered: `riskpipe train` registers it first")
    elif current["thresholds_sha256"] == thresholds_sha256 and current["checklist_sha256"] == checklist_sha256:
        problems.append("the thresholds and checklist are the ones already registered: nothing to re-register")
    if role not in REREGISTRATION_ROLES:
        problems.append(f"role {role!r} may not re-register thresholds (one of: {', '.join(REREGISTRATION_ROLES)})")
    if not by.strip():
        problems.append("--by must name the person re-registering")
    if len(reason.strip()) < 10:
        problems.append("--reason must say why the thresholds change (it is shown on every later card)")
    return problems


def describe_registration(registration: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What governance.json and the card say about the registration a version was judged against."""
    if registration is None:
        return None
    if registration.get("event") != REREGISTRATION_EVENT:
        return {"kind": "first registration", "thresholds_sha256": registration["thresholds_sha256"]}
    return {"kind": "re-registration", "thresholds_sha256": registration["thresholds_sha256"],
            "by": registration["by"], "role": registration["role"], "at": registration["at"],
            "reason": registration["reason"]}


def checklist_registration_problems(registered: Mapping[str, Any] | None, checklist_sha256: str) -> list[str]:
    """Why the checklist now is not the one pre-registered for the model (empty when it is)."""
    if registered is None:
        return ["no pre-registration of thresholds and checklist for this model (`riskpipe train` registers "
                "them before the first evaluation)"]
    if registered["checklist_sha256"] != checklist_sha256:
        return [f"checklist changed since it was pre-registered (registered {registered['checklist_sha256'][:12]}, "
                f"now {checklist_sha256[:12]})"]
    return []
