"""Sign-off from the app: the signed-in IG reviewer signs a checklist item of a model's current release.

The same path as ``riskpipe signoff`` (:mod:`ethics.signoff_stage`): the version must be in the MLflow
registry, the release recorded, the item a human item for the reviewer's signing role, one signing role
per person per release (checked inside the ledger lock), then the MLflow version is tagged. The
difference is who signs: the account signed in (``web:<username>``, its full name as ``by``), and the
signing role held on the account (:class:`webapp.practice.models.StaffProfile`), never a free-text role.
"""

from __future__ import annotations

from typing import Any

from ethics.gate import run_population
from ethics.inputs import read_checklist
from ethics.ledger_store import SIGNOFF_LOG, LedgerError, ledger_key, read_verified_entries
from ethics.signoff import SignOffError, latest_signoffs, make_signoff
from ethics.signoff_stage import SignOffNotRecordedError, append_signoff, check_known_version
from pipeline.core.io import read_json
from webapp.practice.project import Project


def current_release(project: Project, model: str) -> dict[str, Any] | None:
    """``reports/<model>/release.json`` (the release ``riskpipe govern`` last recorded), None before govern."""
    path = project.paths.model_reports(model) / "release.json"
    return read_json(path) if path.exists() else None


def model_population(project: Project, model: str) -> str:
    """The population ``model`` scores, worked out from run.json exactly as the gate and the score stage do
    (:func:`ethics.gate.run_population`); children before train has written run.json."""
    run_file = project.paths.model_artifacts(model) / "run.json"
    return run_population(read_json(run_file)) if run_file.exists() else "children"


def checklist_state(project: Project, model: str, release: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each checklist item that applies to ``model``'s population, in its people's words, with its latest sign-off
    for ``release`` (human items) or its governance status (auto).

    Raises:
        LedgerError: the sign-off log fails verification.
        KeyError: run.json names a population this code does not know.
    """
    checklist = read_checklist(project.paths, project.params.govern).for_population(model_population(project, model))
    latest: dict[str, dict[str, Any]] = {}
    if release is not None:
        key = ledger_key(project.paths, project.pseudo_key_file)
        entries = read_verified_entries(project.paths, SIGNOFF_LOG, key)
        latest = latest_signoffs(entries, model, release["release_digest"])
    governance_file = project.paths.model_reports(model) / "governance.json"
    judged = {i["id"]: i for i in read_json(governance_file).get("items", [])} if governance_file.exists() else {}
    return [{"id": item.id, "question": item.question, "kind": item.kind, "role": item.role,
             "signed": latest.get(item.id), "status": judged.get(item.id, {}).get("status", "not judged yet")}
            for item in checklist.items]


def sign(project: Project, *, model: str, item: str, decision: str, evidence: str, note: str, signer: str,
         username: str, role: str) -> dict[str, Any]:
    """Append the signed-in reviewer's sign-off of ``item`` for ``model``'s current release; tag its version.

    Args:
        signer: the person's name as the log records it (``by``).
        username: the account's identity (``user`` in the log: ``web:<username>``).
        role: the signing role held on the account.

    Raises:
        SignOffError: nothing to sign (no release), an unknown or automatic item, not this role's item, the
            signer already holds another role for this release ...
        SignOffNotRecordedError: the log fails verification; nothing appended.
        SignOffNotTaggedError: appended but MLflow did not tag the version.
        TrackingError: MLflow could not confirm the version (nothing appended).
    """
    from pipeline.core.tracking import tracking_uri

    release = current_release(project, model)
    if release is None:
        raise SignOffError(f"{model} has no recorded release yet: `riskpipe govern --model {model}` records one")
    uri = tracking_uri(project.paths.root)
    version = str(release["version"])
    check_known_version(project.models, model, version, uri)
    record = make_signoff(read_checklist(project.paths, project.params.govern), model=model, version=version,
                          release=release["release_digest"], item=item, by=signer, role=role, decision=decision,
                          evidence=evidence, user=username, note=note)
    try:
        key = ledger_key(project.paths, project.pseudo_key_file)
    except LedgerError as exc:
        raise SignOffNotRecordedError(str(exc)) from None
    return append_signoff(project.paths, record, key, uri)
