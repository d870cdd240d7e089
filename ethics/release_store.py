"""The IO of releases and pre-registration: the ``preregistration`` and ``releases`` logs and ``release.json``.

Both logs are keyed, anchored ledgers at fixed places (:mod:`ethics.ledger_store`). ``riskpipe train``
registers each model's thresholds and checklist before its first evaluation (:func:`preregister`; the
first registration holds for good). ``riskpipe govern`` builds the release it judges
(:func:`build_current_release`), records it in the release log and writes ``reports/<model>/release.json``.
``riskpipe score`` checks the approved release against the disk and MLflow again
(:func:`approved_release_problems`) and takes its feature list, capacity and base rate from it. The
decisions are pure, in :mod:`ethics.release`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ethics.checklist import Checklist, checklist_sha256, mandatory_items_missing
from ethics.gate import approval_disagreements
from ethics.inputs import read_checklist, read_optional_json, read_thresholds
from ethics.ledger_store import (
    PREREGISTRATION_LOG,
    RELEASE_LOG,
    SIGNOFF_LOG,
    LedgerError,
    append_to_ledger,
    ledger_key,
    read_verified_entries,
)
from ethics.release import (
    build_release,
    find_release,
    first_registration,
    metrics_sha256,
    registration_in_force,
    registration_record,
    registrations,
    release_disagreements,
    release_entry,
    release_record_problems,
    reregistration_problems,
    reregistration_record,
)
from ethics.signoff import withdrawn_approvals
from ethics.thresholds import model_thresholds_sha256
from pipeline.core.config import GovernParams
from pipeline.core.io import write_json
from pipeline.core.paths import ProjectPaths
from pipeline.privacy.keys import LedgerKey


class ReregistrationRefused(ValueError):
    """A re-registration that must not be recorded (the message says why)."""


class ChecklistIncompleteError(ValueError):
    """The configured checklist lacks mandatory items: nothing is registered or approved under it."""


def read_ledger_entries(paths: ProjectPaths, log_name: str, key: LedgerKey | None = None) -> list[dict[str, Any]]:
    """Entries of one keyed log, checked against its chain and anchors (:func:`ethics.ledger_store.require_intact`).

    Args:
        key: the ledger key the command loaded (:func:`ethics.ledger_store.ledger_key`); None loads it.

    Raises:
        LedgerError: no usable key, or the log fails verification (it can vouch for nothing).
    """
    return read_verified_entries(paths, log_name, key or ledger_key(paths))


def mandatory_problems(checklist: Checklist) -> list[str]:
    """One reason when the configured checklist lacks mandatory items (it then blocks everything)."""
    missing = mandatory_items_missing(checklist)
    return [f"checklist lacks mandatory items: {', '.join(missing)} (govern.checklist_file may add items, "
            "never remove these)"] if missing else []


def preregister(paths: ProjectPaths, cfg: GovernParams, model: str, *,
                pseudo_key_file: Path | None = None) -> dict[str, Any]:
    """Register the model's thresholds and checklist, unless registered already; return the registration that holds.

    Called by ``riskpipe train`` before anything is evaluated. A later call never replaces the first
    registration, so thresholds edited afterwards fail ``thresholds_unchanged`` at the gate.

    Args:
        pseudo_key_file: the configured pseudonymisation key file (:func:`ethics.ledger_store.ledger_key`).

    Raises:
        LedgerError: no usable ledger key, or the log fails verification or could not be anchored.
        ChecklistIncompleteError: the checklist lacks mandatory items (nothing is registered).
    """
    checklist = read_checklist(paths, cfg)
    problems = mandatory_problems(checklist)
    if problems:
        raise ChecklistIncompleteError(problems[0])
    key = ledger_key(paths, pseudo_key_file)
    start_signoff_log(paths)
    registered = registrations(read_ledger_entries(paths, PREREGISTRATION_LOG, key), model)
    if registered:
        return registered[-1]
    thresholds = read_thresholds(paths, cfg, model)
    record = registration_record(model, thresholds_sha256=model_thresholds_sha256(thresholds),
                                 thresholds=thresholds.model_dump(mode="json"),
                                 checklist_sha256=checklist_sha256(checklist),
                                 checklist_items=[i.id for i in checklist.items])
    entry = append_to_ledger(paths, PREREGISTRATION_LOG, record, key,
                             admit=lambda logged: _refuse_second_registration(logged, model))
    return entry


def start_signoff_log(paths: ProjectPaths) -> None:
    """Create the empty sign-off log when there is none: ``govern`` depends on it in dvc.yaml, before anyone signs.

    An empty log verifies as "no entries"; a log that had entries and is now missing still fails, since its
    anchors record them.
    """
    log = paths.signoff_log
    if not log.exists():
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()


def _refuse_second_registration(entries: list[dict[str, Any]], model: str) -> None:
    if first_registration(entries, model) is not None:  # registered by a command running at the same time
        raise LedgerError(f"{model} was registered meanwhile; the first registration holds")


def read_registration(paths: ProjectPaths, model: str, key: LedgerKey | None = None, *,
                      named: str | None = None) -> dict[str, Any] | None:
    """The registration a version is judged against (:func:`ethics.release.registration_in_force`), or None.

    Raises:
        LedgerError: the log fails verification.
    """
    return registration_in_force(read_ledger_entries(paths, PREREGISTRATION_LOG, key), model, named=named)


def registration_changed_since(paths: ProjectPaths, model: str, registered: Mapping[str, Any] | None,
                               key: LedgerKey | None = None) -> list[str]:
    """One reason when the model was re-registered after the version judged against ``registered`` was trained."""
    found = registrations(read_ledger_entries(paths, PREREGISTRATION_LOG, key), model)
    if registered is None or not found or found[-1].get("hash") == registered.get("hash"):
        return []
    latest = found[-1]
    return [f"thresholds were re-registered after this version was trained (by {latest['by']}, {latest['role']}, "
            f"{latest['at'][:10]}: {latest['reason']}); train a new version to be judged under them"]


def reregister(paths: ProjectPaths, cfg: GovernParams, model: str, *, by: str, role: str, reason: str, user: str,
               pseudo_key_file: Path | None = None) -> dict[str, Any]:
    """Record a re-registration of the model's thresholds and checklist as they are now (``riskpipe preregister``).

    Raises:
        ReregistrationRefused: nothing changed, a role that may not, no name or reason, never registered, or a
            checklist without its mandatory items.
        LedgerError: no usable ledger key, or the log fails verification or could not be anchored.
    """
    from ethics.ledger import utc_now

    checklist = read_checklist(paths, cfg)
    key = ledger_key(paths, pseudo_key_file)
    thresholds = read_thresholds(paths, cfg, model)
    digest, items = model_thresholds_sha256(thresholds), checklist_sha256(checklist)

    def in_force(entries: list[dict[str, Any]]) -> dict[str, Any]:
        """The registration this one supersedes, refused when nothing may be re-registered now."""
        found = registrations(entries, model)
        problems = [*mandatory_problems(checklist), *reregistration_problems(
            found[-1] if found else None, thresholds_sha256=digest, checklist_sha256=items, role=role, by=by,
            reason=reason)]
        if problems:
            raise ReregistrationRefused("; ".join(problems))
        return found[-1]

    current = in_force(read_ledger_entries(paths, PREREGISTRATION_LOG, key))
    record = reregistration_record(model, thresholds_sha256=digest, thresholds=thresholds.model_dump(mode="json"),
                                   checklist_sha256=items, checklist_items=[i.id for i in checklist.items],
                                   supersedes=current["hash"], by=by.strip(), role=role, user=user,
                                   reason=reason.strip(), at=utc_now())

    def admit(entries: list[dict[str, Any]]) -> None:  # again under the log's lock
        if in_force(entries)["hash"] != current["hash"]:
            raise ReregistrationRefused(f"{model} was re-registered meanwhile; read the log and try again")

    return append_to_ledger(paths, PREREGISTRATION_LOG, record, key, admit=admit)


def disk_metrics_sha256(paths: ProjectPaths, model: str) -> str:
    """:func:`ethics.release.metrics_sha256` of ``reports/<model>/metrics.json`` and ``group_metrics.csv``."""
    reports = paths.model_reports(model)
    return metrics_sha256((reports / "metrics.json").read_bytes(), (reports / "group_metrics.csv").read_bytes())


def build_current_release(paths: ProjectPaths, model: str, *, run: Mapping[str, Any],
                          metrics: Mapping[str, Any], checklist: Checklist, registered: Mapping[str, Any] | None,
                          thresholds_now: str, card_sha256: str) -> dict[str, Any]:
    """The release of the model's latest trained version, from run.json, the evaluation outputs and MLflow.

    Args:
        card_sha256: the digest of the model card's evidence (:func:`ethics.card.evidence.card_sha256`,
            computed by the caller: the card is built from this layer, never the other way round).
        registered: the model's pre-registration (its thresholds digest is the release's); None when there
            is none, and then the thresholds as they are now (``thresholds_now``) are named (the gate blocks).

    Raises:
        TrackingError: MLflow could not download the version's model files.
    """
    from pipeline.core.tracking import model_artifact_sha256, registered_model_name, tracking_uri

    version = str(run.get("model_version"))
    model_sha256 = model_artifact_sha256(f"models:/{registered_model_name(model)}/{version}", tracking_uri(paths.root))
    return build_release(
        model=model, version=version, run_id=str(run.get("run_id")), model_sha256=model_sha256,
        feature_columns=list(run.get("released_inputs") or run.get("feature_columns") or []),
        thresholds_sha256=(registered or {}).get("thresholds_sha256") or thresholds_now,
        checklist_sha256=checklist_sha256(checklist), metrics_sha256=disk_metrics_sha256(paths, model),
        card_sha256=card_sha256, capacity=metrics.get("capacity"),
        base_rate=(metrics.get("test") or {}).get("prevalence"))


def record_release(paths: ProjectPaths, release: Mapping[str, Any], key: LedgerKey | None = None) -> None:
    """Add the release to the release log (once per digest) and write ``reports/<model>/release.json``.

    Raises:
        LedgerError: the release log fails verification or could not be written and anchored.
    """
    digest, key = release["release_digest"], key or ledger_key(paths)
    if find_release(read_ledger_entries(paths, RELEASE_LOG, key), release["model"], digest=digest) is None:
        append_to_ledger(paths, RELEASE_LOG, release_entry(release), key)
    write_json(dict(release), paths.model_reports(release["model"]) / "release.json")


def resolve_release(paths: ProjectPaths, model: str, *, digest: str | None, version: str | None,
                    key: LedgerKey | None = None) -> dict | None:
    """The recorded release named by ``digest`` (or ``version``'s latest), or None when the release log has none."""
    return find_release(read_ledger_entries(paths, RELEASE_LOG, key), model, digest=digest, version=version)


def approved_release_problems(cfg: GovernParams, paths: ProjectPaths, model: str, approved: Mapping[str, Any],
                              model_sha256: str, *, card_digest: Callable[[], str],
                              key: LedgerKey | None = None) -> tuple[list[str], dict[str, Any] | None]:
    """Why the release holding ``approved`` may not issue a list now, and that release (None when unknown).

    Read at score time, so nothing between ``govern`` and ``score`` is trusted: the alias must name a
    recorded release whose content hashes to its digest; its version, run and model files
    (``model_sha256``, of the files about to score) must be MLflow's now; its thresholds must be the
    pre-registered ones and still the ones on disk; its checklist the one configured now (with every
    mandatory item); its evaluation outputs the ones on disk while run.json still names its version;
    every human item's latest sign-off for that release must approve, and governance.json must back it.

    Args:
        card_digest: the card evidence's digest now (:func:`ethics.card.evidence.card_sha256`), called only
            while run.json still names the approved version.

    Raises:
        LedgerError: a log fails verification or there is no ledger key.
    """
    version, digest = str(approved["version"]), str(approved.get("release_digest") or "")
    if not digest:
        return [f"v{version} holds `approved` but names no release (the alias was not set by `riskpipe govern`)"], None
    key = key or ledger_key(paths)
    release = find_release(read_ledger_entries(paths, RELEASE_LOG, key), model, digest=digest)
    problems = release_record_problems(release, digest)
    if problems:
        return problems, None
    checklist = read_checklist(paths, cfg)
    found = registrations(read_ledger_entries(paths, PREREGISTRATION_LOG, key), model)
    # the registration the release was judged against: the one with its thresholds digest (else the first)
    registered = next((r for r in reversed(found) if r["thresholds_sha256"] == release["thresholds_sha256"]),
                      found[0] if found else None)
    now = {"version": version, "run_id": str(approved.get("run_id")), "model_sha256": model_sha256,
           "thresholds_sha256": (registered or {}).get("thresholds_sha256"),
           "checklist_sha256": checklist_sha256(checklist)}
    run = read_optional_json(paths.model_artifacts(model) / "run.json") or {}
    if str(run.get("model_version")) == version:  # its evaluation outputs (and so its card) are still on disk
        now["metrics_sha256"] = disk_metrics_sha256(paths, model)
        now["card_sha256"] = card_digest()
    problems = [*mandatory_problems(checklist), *release_disagreements(release, now)]
    thresholds_now = model_thresholds_sha256(read_thresholds(paths, cfg, model))
    if registered and thresholds_now != registered["thresholds_sha256"]:
        problems.append(f"thresholds changed after they were pre-registered (registered "
                        f"{registered['thresholds_sha256'][:12]}, now {thresholds_now[:12]})")
    entries = read_ledger_entries(paths, SIGNOFF_LOG, key)
    governance = read_optional_json(paths.model_reports(model) / "governance.json")
    problems += [*withdrawn_approvals(checklist, entries, model, version, digest),
                 *approval_disagreements(governance, version, digest)]
    return problems, release

