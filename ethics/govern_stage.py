"""The IO of the governance stage: ``riskpipe govern``, ``signoff`` and ``audit-log verify``.

Reads the evaluation outputs, the ethics files, the model's pre-registration and the hash-chained
sign-off log; writes ``reports/<model>/release.json`` (the release judged, :mod:`ethics.release_store`)
and ``governance.json`` and appends sign-offs, each naming a release digest; records them in MLflow
(through ``pipeline.core.tracking``). The files are the record, but the ``approved`` alias is what ``score``
starts from, so an MLflow failure here is an error (:class:`pipeline.core.tracking.TrackingError`),
never a warning. The decisions themselves are pure functions in :mod:`ethics.gate`,
:mod:`ethics.auto_checks`, :mod:`ethics.release` and :mod:`ethics.signoff`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ethics.checklist import checklist_sha256
from ethics.gate import evaluate_gate, review_approved_version, stamp_decision
from ethics.gate_evidence import GateEvidence
from ethics.inputs import read_checklist, read_context, read_numeric_csv, read_optional_json, read_thresholds
from ethics.ledger import last_hash, parse_log, utc_now
from ethics.ledger_store import (
    LEDGER_LOGS,
    SIGNOFF_LOG,
    LedgerReport,
    ledger_key,
    verify_ledger,
)
from ethics.monitor_checks import input_sources
from ethics.release import checklist_registration_problems, describe_registration
from ethics.release_store import (
    build_current_release,
    mandatory_problems,
    read_registration,
    record_release,
    registration_changed_since,
)
from ethics.signoff import (
    latest_signoffs,
    role_conflicts,
)
from ethics.thresholds import Thresholds, model_thresholds_sha256
from pipeline.core.config import GovernParams
from pipeline.core.io import read_json, read_parquet, write_json
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.review_stage import gate_linkage_evidence
from pipeline.privacy.keys import LedgerKey
from pipeline.sources.registry import link_rate_directions


@dataclass(frozen=True)
class GateDecision:
    """What ``run_govern`` decided and where it wrote it."""

    result: dict[str, Any]
    version: str
    path: Path


def read_signoff_entries(paths: ProjectPaths, key: LedgerKey | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Entries of the sign-off log, or none and the reasons it cannot be trusted.

    The log (``ethics/ledger/signoffs.jsonl``, a fixed place) is checked against its keyed chain and its
    anchors (:func:`ethics.ledger_store.verify_ledger`): an edited, truncated, deleted or rewritten log
    yields no entries, so nothing it held can approve anything.

    Args:
        key: the ledger key the command loaded (:func:`ethics.ledger_store.ledger_key`); None loads it.

    Raises:
        LedgerError: no usable ledger key (the log cannot be judged at all).
    """
    report = verify_ledger(paths, SIGNOFF_LOG, key or ledger_key(paths))
    if not report.ok:
        return [], [f"sign-off log {paths.signoff_log.relative_to(paths.root)} fails verification: {p}"
                    for p in report.problems]
    return parse_log(report.lines), []


def signoff_log_anchor(entries: list[dict[str, Any]], problems: list[str]) -> dict[str, Any] | None:
    """The sign-off log's entry count and head hash as the gate read it (None for a log that failed)."""
    return None if problems else {"entries": len(entries), "head": last_hash(entries)}


def read_gate_evidence(paths: ProjectPaths, cfg: GovernParams, model: str, thresholds: Thresholds,
                       registered: dict[str, Any] | None) -> GateEvidence:
    """Everything the auto checks read, from the contract files (:class:`ethics.gate_evidence.GateEvidence`).

    Args:
        thresholds: the model's thresholds as they are now.
        registered: the registration in force when the version was trained (run.json's ``registration``;
            :func:`ethics.release_store.read_registration`).
    """
    from features.registry import FEATURES

    reports, model_dir = paths.model_reports(model), paths.model_artifacts(model)
    scores = read_parquet(model_dir / "scores.parquet", columns=["split", "index_year"])
    run = read_json(model_dir / "run.json")
    return GateEvidence(
        metrics=read_json(reports / "metrics.json"),
        group_metrics=read_numeric_csv(reports / "group_metrics.csv"),
        run=run,
        thresholds_sha256=model_thresholds_sha256(thresholds),
        registered_thresholds_sha256=(registered or {}).get("thresholds_sha256"),
        split_years=scores.drop_duplicates().reset_index(drop=True),
        linkage=gate_linkage_evidence(paths, read_optional_json(paths.reports / "linkage.json")),  # + review
        features_report=read_optional_json(reports / "features.json"),
        fairness_features=frozenset(n for n, f in FEATURES.items() if f.role != "model"),
        context=read_context(paths, cfg, model),
        link_rate_directions=tuple(link_rate_directions(gated_only=True)),
        monitor=read_optional_json(paths.reports / "monitor.json"),
        input_sources=input_sources(run.get("feature_columns") or [], FEATURES),
    )


def run_govern(cfg: GovernParams, paths: ProjectPaths, model: str, *,
               card_digest: Callable[[], str], pseudo_key_file: Path | None = None) -> GateDecision:
    """Build the release of the latest trained version, gate it and write governance.json; see ``riskpipe govern``.

    The release (:func:`ethics.release_store.build_current_release`) is recorded in the release log and
    ``reports/<model>/release.json`` first; only sign-offs naming its digest count. The thresholds are
    judged against the registration in force when the version was trained (a re-registration since then
    blocks it: the next version is judged under the new one), and a checklist that lacks a mandatory item, or is
    not the one pre-registered, blocks. The release holding ``approved``, when it is not this version,
    is re-judged too (:func:`ethics.gate.review_approved_version`, recorded as ``approved_version_review``):
    a withdrawn sign-off there removes the alias at once. governance.json is written before MLflow is
    touched, so when MLflow then fails the decision still stands and ``score`` refuses what it blocks or revokes.

    The sign-off log's entry count and head hash as read are recorded in governance.json
    (``signoff_log``), an anchor ``audit-log verify`` checks the log against later.

    Args:
        card_digest: the digest of the model card's evidence now (:func:`ethics.card.evidence.card_sha256`),
            which the release binds; passed in so that ethics does not import the card built on it.
        pseudo_key_file: the configured pseudonymisation key file (:func:`ethics.ledger_store.ledger_key`); the
            ledger key is loaded once, for every log read.

    Raises:
        TrackingError: MLflow failed to read the model files, read or move the alias, tag the version or
            take the artifact.
        LedgerError: no usable ledger key, or the pre-registration or release log fails verification.
    """
    from pipeline.core.tracking import (
        approved_model_version,
        model_version_run_id,
        record_governance,
        registered_model_name,
        revoke_approval,
        tracking_uri,
    )

    checklist = read_checklist(paths, cfg)
    thresholds = read_thresholds(paths, cfg, model)
    key = ledger_key(paths, pseudo_key_file)
    run = read_optional_json(paths.model_artifacts(model) / "run.json") or {}
    registered = read_registration(paths, model, key, named=run.get("registration"))
    evidence = read_gate_evidence(paths, cfg, model, thresholds, registered)
    version = str(evidence.run.get("model_version"))
    name, uri = registered_model_name(model), tracking_uri(paths.root)
    release = build_current_release(paths, model, card_sha256=card_digest(), run=evidence.run,
                                    metrics=evidence.metrics, checklist=checklist, registered=registered,
                                    thresholds_now=evidence.thresholds_sha256)
    record_release(paths, release, key)
    digest = release["release_digest"]
    registered_run = model_version_run_id(name, version, uri)
    run_problems = [] if registered_run == release["run_id"] else [
        f"run.json names run {release['run_id']} but MLflow's v{version} was logged from run {registered_run}"]
    run_problems += [f"metrics.json gives no {field} for the release" for field in ("capacity", "base_rate")
                     if release[field] is None]
    entries, log_problems = read_signoff_entries(paths, key)
    result = evaluate_gate(checklist, thresholds, evidence, latest_signoffs(entries, model, digest),
                           model=model, version=version)
    result = {**result, "release_digest": digest, "release": release,
              "registration": describe_registration(registered)}
    integrity = [*log_problems, *mandatory_problems(checklist), *run_problems,
                 *checklist_registration_problems(registered, checklist_sha256(checklist)),
                 *role_conflicts(entries, model, version, digest),
                 *registration_changed_since(paths, model, registered, key)]
    result = stamp_decision(result, integrity, utc_now())
    held = approved_model_version(name, uri)
    review = None
    if held is not None and held["version"] != version:
        review = review_approved_version(checklist, entries, log_problems, model=model, version=held["version"],
                                         release=held.get("release_digest", ""), decided_at=result["decided_at"])
        result = {**result, "approved_version_review": review}
    result = {**result, "signoff_log": signoff_log_anchor(entries, log_problems)}
    out = paths.model_reports(model) / "governance.json"
    write_json(result, out)
    if review is not None and review["status"] == "revoked":
        revoke_approval(name, review["version"], "; ".join(review["reasons"]), uri)
    record_governance(name, version, evidence.run.get("run_id"), result,
                      [out, paths.model_reports(model) / "release.json"], uri)
    return GateDecision(result=result, version=version, path=out)


def verify_ledger_logs(paths: ProjectPaths, names: Sequence[str] = LEDGER_LOGS, *,
                       pseudo_key_file: Path | None = None) -> list[LedgerReport]:
    """Each named log (``audit``, ``signoffs``) checked against its keyed chain and anchors; see ``audit-log verify``.

    Raises:
        LedgerError: no usable ledger key.
    """
    key = ledger_key(paths, pseudo_key_file)
    return [verify_ledger(paths, name, key) for name in names]
