"""The IO of the governance stage: ``riskpipe govern``, ``signoff`` and ``audit-log verify``.

Reads the evaluation outputs, the ethics files and the hash-chained sign-off log; writes
``reports/<model>/governance.json`` and appends sign-offs; records both in MLflow (through
``pipeline.core.tracking``) as a convenience, never as the record. The decisions themselves are pure
functions in :mod:`ethics.gate`, :mod:`ethics.auto_checks` and :mod:`ethics.signoff`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ethics.gate import evaluate_gate, stamp_decision
from ethics.gate_evidence import GateEvidence
from ethics.inputs import (
    read_checklist,
    read_context,
    read_numeric_csv,
    read_optional_json,
    read_thresholds,
    thresholds_file,
)
from ethics.ledger import ChainVerification, append_chained_record, parse_log, utc_now, verify_chain
from ethics.signoff import latest_signoffs, make_signoff
from ethics.thresholds import thresholds_sha256
from pipeline.core.config import GovernParams, Params
from pipeline.core.io import read_json, read_lines, read_parquet, write_json
from pipeline.core.paths import ProjectPaths
from pipeline.sources.registry import link_rate_directions

log = logging.getLogger(__name__)


class SignOffNotRecordedError(RuntimeError):
    """A valid sign-off the log would not take (its chain fails verification)."""


@dataclass(frozen=True)
class GateDecision:
    """What ``run_govern`` decided and where it wrote it."""

    result: dict[str, Any]
    version: str
    path: Path


def read_signoff_entries(log_path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Entries of the sign-off log, or none and the reasons it cannot be trusted (a broken chain)."""
    lines = read_lines(log_path)
    check = verify_chain(lines)
    if not check.ok:
        return [], [f"sign-off log {log_path} fails verification: {p}" for p in check.problems]
    return parse_log(lines), []


def read_gate_evidence(paths: ProjectPaths, cfg: GovernParams, model: str) -> GateEvidence:
    """Everything the auto checks read, from the contract files (:class:`ethics.gate_evidence.GateEvidence`)."""
    from features.registry import FEATURES

    reports, model_dir = paths.model_reports(model), paths.model_artifacts(model)
    scores = read_parquet(model_dir / "scores.parquet", columns=["split", "index_year"])
    return GateEvidence(
        metrics=read_json(reports / "metrics.json"),
        group_metrics=read_numeric_csv(reports / "group_metrics.csv"),
        run=read_json(model_dir / "run.json"),
        thresholds_sha256=thresholds_sha256(thresholds_file(paths, cfg).read_bytes()),
        split_years=scores.drop_duplicates().reset_index(drop=True),
        linkage=read_optional_json(paths.reports / "linkage.json"),
        features_report=read_optional_json(reports / "features.json"),
        fairness_features=frozenset(n for n, f in FEATURES.items() if f.role != "model"),
        context=read_context(paths, cfg, model),
        link_rate_directions=tuple(link_rate_directions(gated_only=True)),
    )


def run_govern(cfg: GovernParams, paths: ProjectPaths, model: str) -> GateDecision:
    """Run the gate for the model's latest trained version and write governance.json; see ``riskpipe govern``.

    The MLflow record (tags, the ``approved`` alias, the artifact) is best effort: a failure there is
    logged, never raised, since blocked is a normal state and governance.json is the record.
    """
    checklist = read_checklist(paths, cfg)
    thresholds = read_thresholds(paths, cfg, model)
    evidence = read_gate_evidence(paths, cfg, model)
    version = str(evidence.run.get("model_version"))
    entries, log_problems = read_signoff_entries(paths.root / cfg.signoff_log)
    result = evaluate_gate(checklist, thresholds, evidence, latest_signoffs(entries, model, version),
                           model=model, version=version)
    result = stamp_decision(result, log_problems, utc_now())
    out = paths.model_reports(model) / "governance.json"
    write_json(result, out)
    try:
        from pipeline.core.tracking import record_governance, tracking_uri

        record_governance(f"riskpipe-{model}", version, evidence.run.get("run_id"), result, [out],
                          tracking_uri(paths.root))
    except Exception as exc:  # noqa: BLE001 - never fail the pipeline on a blocked or untracked model
        log.warning("Governance result written but not recorded in MLflow: %s: %s", type(exc).__name__, exc)
    return GateDecision(result=result, version=version, path=out)


def record_signoff(cfg: GovernParams, paths: ProjectPaths, *, model: str, version: str, item: str, by: str,
                   role: str, decision: str, evidence: str, note: str = "") -> dict[str, Any]:
    """Append one human sign-off to the sign-off log and tag the MLflow model version; see ``riskpipe signoff``.

    Returns:
        The chained log entry (the sign-off record plus ``prev_hash`` and ``hash``).

    Raises:
        SignOffError: the sign-off must not be recorded (unknown or automatic item, wrong role ...).
        SignOffNotRecordedError: the log fails verification, so nothing was appended.
    """
    record = make_signoff(read_checklist(paths, cfg), model=model, version=version, item=item, by=by, role=role,
                          decision=decision, evidence=evidence, note=note)
    log_path = paths.root / cfg.signoff_log
    broken = f"{log_path} fails verification; run `riskpipe audit-log verify --log {log_path}`"
    try:
        entry = append_chained_record(log_path, record, broken_message=broken)
    except ValueError as exc:
        raise SignOffNotRecordedError(str(exc)) from None
    try:
        from pipeline.core.tracking import tag_model_version, tracking_uri

        tag_model_version(f"riskpipe-{model}", version, {f"signoff.{item}": f"{decision} by {record['role']}"},
                          tracking_uri(paths.root))
    except Exception as exc:  # noqa: BLE001 - the log is the record; MLflow tags are a convenience
        log.warning("Sign-off recorded but the MLflow tag was not set: %s", type(exc).__name__)
    return entry


def ledger_files(params: Params, paths: ProjectPaths) -> list[Path]:
    """The hash-chained logs riskpipe keeps: ``score.audit_log`` and ``govern.signoff_log``."""
    return [paths.root / params.score.audit_log, paths.root / params.govern.signoff_log]


def verify_ledger_files(files: list[Path]) -> list[tuple[Path, ChainVerification | None]]:
    """Each log's chain check, or None for a log not written yet."""
    return [(path, verify_chain(read_lines(path)) if path.exists() else None) for path in files]
