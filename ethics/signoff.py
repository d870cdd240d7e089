"""Human sign-offs: records for the hash-chained, append-only sign-off log.

A sign-off names the model, the exact release (its ``release`` digest, :mod:`ethics.release`, and the
registry version it was built from), the checklist item, the person (``by``, the
name given, and ``user``, the operating-system identity that ran the command), their role, the
decision and the evidence (a DPIA reference, a minute, a document link). The log is chained by
:mod:`ethics.ledger`; the latest decision for an item and release is the one that counts, so a
later ``reject`` withdraws an earlier ``approve``. Only sign-offs naming a release's digest count for
it: a version number alone covers nothing (a rebuilt registry's new "v3" is another release). One
person (by name or by OS identity, compared case-insensitively) holds at most one signing role per
release, so the DPO cannot also sign as Caldicott Guardian or SIRO.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from ethics.checklist import Checklist
from ethics.ledger import utc_now

Decision = Literal["approve", "reject"]


class SignOffError(ValueError):
    """A sign-off that must not be recorded (unknown item, automatic item, wrong role)."""


# what ethics.ledger.current_user() returns when the OS cannot say who is running the command
UNKNOWN_USER = "unknown"


def make_signoff(
    checklist: Checklist, *, model: str, version: str, release: str, item: str, by: str, role: str,
    decision: str, evidence: str, user: str, note: str = "", expires: date | None = None, today: date | None = None,
) -> dict[str, Any]:
    """Build a sign-off record after checking it against the checklist.

    Args:
        version: the registry version the release was built from (recorded beside it, for people).
        release: the release digest signed (``reports/<model>/release.json`` ``release_digest``).
        user: the operating-system identity running the sign-off (:func:`ethics.ledger.current_user`).
        expires: the last day the approval stands (a DPIA review date, say); None = until withdrawn.
        today: the date the sign-off is made (default: today, UTC).

    Raises:
        SignOffError: the item does not exist, is automatic, the role is not the item's signing
            role, the decision is not approve/reject, name/evidence are empty, or the OS identity
            is unknown (a sign-off must record who made it).
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
    if expires is not None and expires <= (today or utc_today()):
        raise SignOffError(f"--expires {expires.isoformat()} is not after today: the sign-off would never stand")
    if not user.strip() or user.strip() == UNKNOWN_USER:
        raise SignOffError("the operating-system identity of whoever signs cannot be determined; "
                           "a sign-off must record who made it")
    return {
        "event": "signoff", "time": utc_now(), "model": model, "version": str(version), "release": release,
        "item": item,
        "by": " ".join(by.split()), "user": user.strip(), "role": entry.role, "decision": decision,
        "evidence": evidence.strip(), "note": note, "expires": expires.isoformat() if expires else None,
    }


def utc_today() -> date:
    """Today's date in UTC (sign-off times are recorded in UTC)."""
    return datetime.now(UTC).date()


def lapsed_on(signoff: dict[str, Any], today: date) -> str | None:
    """The expiry date (ISO) of an approval that no longer stands on ``today``, else None."""
    expires = signoff.get("expires")
    return expires if expires and date.fromisoformat(expires) < today else None


def _person_keys(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """Who signed, as comparable keys: the name and (where recorded) the OS identity, case-folded."""
    keys = [("name", " ".join(str(entry.get("by", "")).split()).casefold())]
    if entry.get("user"):
        keys.append(("OS user", str(entry["user"]).strip().casefold()))
    return keys


def role_conflicts(entries: list[dict[str, Any]], model: str, version: str, release: str) -> list[str]:
    """One message per person (name or OS identity) who signed one release in two or more roles.

    Args:
        entries: the sign-off log (every entry counts, rejects and withdrawn approvals too: the person
            acted in that role for this version).
    """
    roles: dict[tuple[str, str], set[str]] = {}
    for entry in signoffs_of_release(entries, model, release):
        for key in _person_keys(entry):
            roles.setdefault(key, set()).add(str(entry.get("role")))
    return [f"{kind} {who!r} signed riskpipe-{model} v{version} in {len(held)} roles ({', '.join(sorted(held))}) "
            f"for release {release[:12]}; one person may hold only one signing role per release"
            for (kind, who), held in sorted(roles.items()) if len(held) > 1]


def check_one_role_per_person(entries: list[dict[str, Any]], record: dict[str, Any]) -> None:
    """Refuse ``record`` when its signer (by name or OS identity) already signed this release in another role.

    Raises:
        SignOffError: naming the role already held.
    """
    mine = set(_person_keys(record))
    for entry in signoffs_of_release(entries, record["model"], record["release"]):
        if entry.get("role") == record["role"]:
            continue
        shared = [f"{kind} {who!r}" for kind, who in _person_keys(entry) if (kind, who) in mine]
        if shared:
            raise SignOffError(
                f"{' and '.join(shared)} already signed riskpipe-{record['model']} v{record['version']} as the "
                f"{entry['role']} (release {record['release'][:12]}); one person may hold only one signing role per "
                "release, so not also "
                f"the {record['role']}")


def signoffs_of_release(entries: list[dict[str, Any]], model: str, release: str) -> list[dict[str, Any]]:
    """The sign-off entries naming one release digest, in log order (an entry naming none never counts)."""
    return [e for e in entries if e.get("event") == "signoff" and e.get("model") == model
            and release and e.get("release") == release]


def latest_signoffs(entries: list[dict[str, Any]], model: str, release: str) -> dict[str, dict[str, Any]]:
    """The latest sign-off per checklist item for one release (later entries win)."""
    return {entry["item"]: entry for entry in signoffs_of_release(entries, model, release)}


def withdrawn_approvals(checklist: Checklist, entries: list[dict[str, Any]], model: str, version: str,
                        release: str, *, today: date | None = None) -> list[str]:
    """Why one release's human sign-offs no longer all approve (empty when every human item's latest is approve).

    Used to re-judge the release holding the ``approved`` alias, whatever newer versions exist: a
    reject, an approval past its ``expires`` date or a missing sign-off on any human item, or one person
    in two roles, withdraws its approval.
    """
    today = today or utc_today()
    latest = latest_signoffs(entries, model, release)
    reasons = []
    for item in (i for i in checklist.items if i.kind == "human"):
        signed = latest.get(item.id)
        if signed is None and item.conditional:
            continue  # applies only to some inputs or populations: the gate that approved the release decided
        if signed is None:
            reasons.append(f"{item.id}: no sign-off by the {item.role} for v{version} (release {release[:12]})")
        elif signed["decision"] == "approve" and lapsed_on(signed, today):
            reasons.append(f"{item.id}: approval by {signed['by']} ({signed['role']}) expired on "
                           f"{signed['expires']}")
        elif signed["decision"] != "approve":
            reasons.append(f"{item.id}: {signed['decision']}ed by {signed['by']} ({signed['role']}) on "
                           f"{str(signed['time'])[:10]}: {signed['evidence']}")
    return reasons + role_conflicts(entries, model, version, release)
