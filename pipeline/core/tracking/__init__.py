"""The only package that imports MLflow: experiments, runs, lineage, models and the registry.

The tracking URI is always set explicitly: ``$MLFLOW_TRACKING_URI`` when set (so a real
``mlflow server`` works unchanged), else a SQLite file ``mlflow.db`` in the project root. One
experiment per model spec (``riskpipe-<model>``); the calibrated model is logged as a scikit-learn
model whose pyfunc ``predict`` returns ``predict_proba`` (column 1 = P(outcome)), registered as
``riskpipe-<model>`` with alias ``candidate``. Nothing logged here may hold identifiers: the input
example is one synthetic "typical" row, and datasets are logged by schema and digest only.
(``runs``: runs and the logged model; ``registry``: the registry, aliases and governance records,
failing closed; ``ledger_anchors``: the ledgers' anchors.) Callers import from ``pipeline.core.tracking``.
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
