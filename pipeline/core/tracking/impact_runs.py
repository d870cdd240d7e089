"""The impact stage's MLflow run: experiment ``riskpipe-impact``, estimates as metrics, cards as artifacts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.core.tracking.registry import TrackingError
from pipeline.core.tracking.runs import _flatten_params, _use_tracking_uri, flatten_metrics

IMPACT_EXPERIMENT = "riskpipe-impact"


def log_impact_run(*, uri: str, metrics: Mapping, params: Mapping, artifacts: list[Path],
                   run_name: str = "impact") -> str:
    """Log one impact run (numeric leaves of ``metrics`` as ``a.b.c``; ``params`` flattened; files under
    ``impact/``) and return its run id. Nothing logged holds a person's record: estimates and cards are
    aggregates with small cells suppressed.

    Raises:
        TrackingError: MLflow could not log the run.
    """
    import mlflow

    try:
        _use_tracking_uri(uri)
        mlflow.set_experiment(IMPACT_EXPERIMENT)
        with mlflow.start_run(run_name=run_name) as run:
            mlflow.log_params(_flatten_params(params))
            flat = flatten_metrics(metrics)
            if flat:
                mlflow.log_metrics(flat)
            for artifact in artifacts:
                mlflow.log_artifact(str(artifact), artifact_path="impact")
            return run.info.run_id
    except Exception as exc:  # noqa: BLE001 - any MLflow failure is reported as one error type
        raise TrackingError(f"could not log the impact run to MLflow ({type(exc).__name__}: {exc})") from exc
