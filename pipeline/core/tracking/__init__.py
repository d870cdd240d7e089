"""The only package that imports MLflow; callers import from ``pipeline.core.tracking``.

``runs``: the tracking URI, experiments, training and evaluation runs, the logged model;
``registry``: the model registry, aliases and governance records, failing closed on the release path;
``ledger_anchors``: each ledger's entry count and head, kept in MLflow outside the log file.
"""

from pipeline.core.tracking.ledger_anchors import LEDGER_EXPERIMENT, ledger_anchor, record_ledger_anchor
from pipeline.core.tracking.registry import (
    APPROVED_ALIAS,
    TrackingError,
    approved_model_version,
    load_model_files,
    load_sklearn_model,
    log_run_artifacts,
    model_artifact_sha256,
    model_files_sha256,
    model_version_exists,
    model_version_run_id,
    record_governance,
    revoke_approval,
    tag_model_version,
)
from pipeline.core.tracking.runs import (
    CANDIDATE_ALIAS,
    DEFAULT_DB,
    PIP_REQUIREMENTS,
    TRUSTED_TYPE_PREFIXES,
    experiment_name,
    flatten_metrics,
    frame_digest,
    load_model,
    log,
    log_evaluation,
    log_training_run,
    model_input_schema,
    registered_model_name,
    schema_rows,
    tracking_uri,
    training_dataset,
    typical_feature_row,
)

__all__ = [
    "APPROVED_ALIAS",
    "CANDIDATE_ALIAS",
    "DEFAULT_DB",
    "LEDGER_EXPERIMENT",
    "PIP_REQUIREMENTS",
    "TRUSTED_TYPE_PREFIXES",
    "TrackingError",
    "approved_model_version",
    "experiment_name",
    "flatten_metrics",
    "frame_digest",
    "ledger_anchor",
    "load_model",
    "load_model_files",
    "load_sklearn_model",
    "log",
    "log_evaluation",
    "log_run_artifacts",
    "log_training_run",
    "model_artifact_sha256",
    "model_files_sha256",
    "model_input_schema",
    "model_version_exists",
    "model_version_run_id",
    "record_governance",
    "record_ledger_anchor",
    "registered_model_name",
    "revoke_approval",
    "schema_rows",
    "tag_model_version",
    "tracking_uri",
    "training_dataset",
    "typical_feature_row",
]
