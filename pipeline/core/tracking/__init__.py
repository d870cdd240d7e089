"""The only package that imports MLflow; callers import from ``pipeline.core.tracking``.

``runs``: the tracking URI, experiments, training and evaluation runs, the logged model;
``registry``: the model registry, aliases and governance records, failing closed on the release path;
``ledger_anchors``: each ledger's entry count and head, kept in MLflow outside the log file;
``impact_runs``: the impact stage's run (experiment ``riskpipe-impact``);
``interrupted_runs``: a killed ``train`` leaves no RUNNING run (signals end it FAILED; orphans are ended later).
"""

from pipeline.core.tracking.impact_runs import IMPACT_EXPERIMENT, log_impact_run
from pipeline.core.tracking.interrupted_runs import TrainingInterrupted, end_orphaned_runs
from pipeline.core.tracking.ledger_anchors import (
    ensure_ledger_experiment,
    ledger_anchor,
    ledger_experiment,
    record_ledger_anchor,
)
from pipeline.core.tracking.registry import (
    TrackingError,
    approved_model_version,
    load_model_files,
    load_sklearn_model,
    log_run_artifacts,
    model_artifact_sha256,
    model_version_exists,
    model_version_run_id,
    record_governance,
    revoke_approval,
    tag_model_version,
)
from pipeline.core.tracking.runs import (
    flatten_metrics,
    frame_digest,
    log_evaluation,
    log_training_run,
    registered_model_name,
    tracking_uri,
    training_dataset,
    typical_feature_row,
)

__all__ = [
    "IMPACT_EXPERIMENT",
    "TrackingError",
    "TrainingInterrupted",
    "approved_model_version",
    "end_orphaned_runs",
    "ensure_ledger_experiment",
    "flatten_metrics",
    "frame_digest",
    "ledger_anchor",
    "ledger_experiment",
    "load_model_files",
    "load_sklearn_model",
    "log_evaluation",
    "log_impact_run",
    "log_run_artifacts",
    "log_training_run",
    "model_artifact_sha256",
    "model_version_exists",
    "model_version_run_id",
    "record_governance",
    "record_ledger_anchor",
    "registered_model_name",
    "revoke_approval",
    "tag_model_version",
    "tracking_uri",
    "training_dataset",
    "typical_feature_row",
]
