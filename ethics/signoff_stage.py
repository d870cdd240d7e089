"""The IO of the sign-off and re-registration commands: ``riskpipe signoff`` and ``riskpipe preregister``.

A sign-off names a recorded release (:mod:`ethics.release`) of a model params.yaml lists and a version
the MLflow registry holds; it is appended to the keyed sign-off log under its lock (one signing role per
person) and tagged on the MLflow version. A re-registration (:func:`ethics.release_store.reregister`)
records new thresholds or checklist for the model's next versions, with who, in which role, and why.
What a sign-off may say is decided in :mod:`ethics.signoff`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ethics.inputs import read_checklist
from ethics.ledger import current_user
from ethics.ledger_store import SIGNOFF_LOG, LedgerError, append_to_ledger, ledger_key
from ethics.release_store import reregister, resolve_release
from ethics.signoff import SignOffError, check_one_role_per_person, make_signoff
from pipeline.core.config import GovernParams
from pipeline.core.paths import ProjectPaths
from pipeline.privacy.keys import LedgerKey


class SignOffNotRecordedError(RuntimeError):
    """A valid sign-off the log would not take (its chain fails verification)."""


class SignOffNotTaggedError(RuntimeError):
    """The sign-off is in the log, but MLflow failed to tag the model version with it."""


def check_known_version(models: Sequence[str], model: str, version: str | None, uri: str) -> None:
    """Refuse a sign-off for a model params.yaml does not list, or a version the MLflow registry does not hold.

    Args:
        version: None to check the model only.

    Raises:
        SignOffError: unknown model or version.
        TrackingError: MLflow could not say (fail closed: nothing is signed).
    """
    from pipeline.core.tracking import model_version_exists, registered_model_name

    if model not in models:
        listed = ", ".join(models) or "none"
        raise SignOffError(f"unknown model {model!r}: params.yaml models: lists {listed}")
    if version is not None and not model_version_exists(registered_model_name(model), version, uri):
        raise SignOffError(f"{registered_model_name(model)} has no version {version!r} in the MLflow registry; "
                           "sign the version `riskpipe train` registered (data/models/<model>/run.json)")


def resolve_signed_release(paths: ProjectPaths, model: str, version: str | None, release: str | None,
                           key: LedgerKey | None = None) -> dict[str, Any]:
    """The recorded release a sign-off names: by ``release`` digest, or ``version``'s latest release.

    Raises:
        SignOffError: neither given, an unknown release digest, no release recorded for the version, or a
            digest and a version that do not match.
        LedgerError: the release log fails verification.
    """
    if not release and not version:
        raise SignOffError("name the release signed: --release <release_digest> (reports/<model>/release.json) "
                           "or --version <registered version>")
    found = resolve_release(paths, model, digest=release or None, version=None if release else version, key=key)
    if found is None and release:
        raise SignOffError(f"unknown release {release!r} of riskpipe-{model}: sign a release digest `riskpipe govern` "
                           "recorded (reports/<model>/release.json, ethics/ledger/releases.jsonl)")
    if found is None:
        raise SignOffError(f"riskpipe-{model} v{version} has no recorded release yet: run `riskpipe govern` first "
                           "(it writes reports/<model>/release.json), then sign its release digest")
    if version and str(found["version"]) != str(version):
        raise SignOffError(f"release {found['release_digest'][:12]} is of riskpipe-{model} v{found['version']}, "
                           f"not v{version}")
    return found


def record_signoff(cfg: GovernParams, paths: ProjectPaths, *, models: Sequence[str], model: str, version: str | None,
                   item: str, by: str, role: str, decision: str, evidence: str, note: str = "",
                   release: str | None = None, expires: date | None = None,
                   pseudo_key_file: Path | None = None) -> dict[str, Any]:
    """Append a human sign-off of one release to the sign-off log and tag its MLflow version; see ``riskpipe signoff``.

    Args:
        models: the models params.yaml lists (``models:``); any other is refused.
        version: the registered version; alone, it names that version's latest recorded release.
        release: the release digest signed; the log records it and its version either way.
        pseudo_key_file: the configured pseudonymisation key file (:func:`ethics.ledger_store.ledger_key`).

    Returns:
        The chained log entry (the sign-off record, with the OS ``user``, plus ``prev_hash`` and ``hash``).

    Raises:
        SignOffError: the sign-off must not be recorded (unknown model, version, release or item, automatic
            item, wrong role, the signer already holds another role for this release ...).
        SignOffNotRecordedError: a log fails verification, so nothing was appended.
        SignOffNotTaggedError: appended, but MLflow failed to tag the version.
        TrackingError: MLflow could not confirm the version exists (nothing was appended).
    """
    from pipeline.core.tracking import tracking_uri

    uri = tracking_uri(paths.root)
    checklist = read_checklist(paths, cfg)
    check_known_version(models, model, version or None, uri)
    try:
        key = ledger_key(paths, pseudo_key_file)
        signed = resolve_signed_release(paths, model, version, release, key)
    except LedgerError as exc:
        raise SignOffNotRecordedError(str(exc)) from None
    checked, version = bool(version), str(signed["version"])
    if not checked:  # a --version was checked above, and resolve_signed_release holds the release to it
        check_known_version(models, model, version, uri)
    record = make_signoff(checklist, model=model, version=version, release=signed["release_digest"], item=item, by=by,
                          role=role, decision=decision, evidence=evidence, user=current_user(), note=note,
                          expires=expires)
    return append_signoff(paths, record, key, uri)


def append_signoff(paths: ProjectPaths, record: dict[str, Any], key: LedgerKey, uri: str) -> dict[str, Any]:
    """Append a sign-off ``record`` (from ``make_signoff``) to the log, then tag its MLflow model version.

    ``riskpipe signoff`` and the web app's sign-off page both end here.

    Raises:
        SignOffError: the signer already holds another role for this release (checked inside the ledger lock).
        SignOffNotRecordedError: the log fails verification or could not be anchored; nothing appended.
        SignOffNotTaggedError: appended but MLflow did not tag the version.
    """
    from pipeline.core.tracking import TrackingError, registered_model_name, tag_model_version

    try:  # append_to_ledger verifies the log (chain, anchors, governance.json heads) and the one-role rule
        entry = append_to_ledger(paths, SIGNOFF_LOG, record, key,
                                 admit=lambda logged: check_one_role_per_person(logged, record),
                                 check_governance=True)
    except LedgerError as exc:
        raise SignOffNotRecordedError(str(exc)) from None
    try:
        tag = f"{record['decision']} by {record['role']} (release {record['release'][:12]})"
        tag_model_version(registered_model_name(record["model"]), record["version"],
                          {f"signoff.{record['item']}": tag}, uri)
    except TrackingError as exc:
        raise SignOffNotTaggedError(f"recorded in the log (entry {entry['hash'][:12]}) but not tagged: {exc}") from exc
    return entry


def record_reregistration(cfg: GovernParams, paths: ProjectPaths, *, models: Sequence[str], model: str, by: str,
                          role: str, reason: str, pseudo_key_file: Path | None = None) -> dict[str, Any]:
    """Re-register a listed model's thresholds and checklist as they are now; see ``riskpipe preregister``.

    Raises:
        SignOffError: a model params.yaml does not list.
        ReregistrationRefused: see :func:`ethics.release_store.reregister`.
        LedgerError: no usable ledger key, or the log fails verification or could not be anchored.
    """
    if model not in models:
        raise SignOffError(f"unknown model {model!r}: params.yaml models: lists {', '.join(models) or 'none'}")
    return reregister(paths, cfg, model, by=by, role=role, reason=reason, user=current_user(),
                      pseudo_key_file=pseudo_key_file)
