"""The impact stage's MLflow run: experiment ``riskpipe-impact``, estimates as metrics, cards as artifacts.

Each estimate gets its own metric key (:func:`impact_metric_key`): MLflow keeps one value per key and run, so
two estimates under one key would silently leave only the last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from pipeline.core.tracking.registry import TrackingError
from pipeline.core.tracking.runs import _flatten_params, _use_tracking_uri, flatten_metrics

IMPACT_EXPERIMENT = "riskpipe-impact"
# what tells two estimates of one programme x outcome x horizon x design apart, in the order they enter the key
VARIANT_DIAGNOSTICS = ("ward_code", "code")
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-./ ]")  # MLflow keys allow letters, digits, _ - . / and spaces


def impact_metric_key(estimate: Mapping) -> str:
    """``programme.outcome.<h>m.design[.adjusted][.<ward>][.<code>]`` for one ``Estimate.to_dict()``.

    ``adjusted`` marks an estimate that puts a recorded recording change down to recording (its diagnostics say
    ``recording_break_covariate``); the face-value twin has the plain key. A ward or factor code in the
    diagnostics separates checks of different wards or codes.
    """
    parts = [str(estimate["programme"]), str(estimate["outcome"]), f"{int(estimate['horizon_months'])}m",
             str(estimate["design"])]
    diagnostics = estimate.get("diagnostics") or {}
    if diagnostics.get("recording_break_covariate"):
        parts.append("adjusted")
    parts += [str(diagnostics[k]) for k in VARIANT_DIAGNOSTICS if diagnostics.get(k) not in (None, "")]
    return ".".join(_UNSAFE.sub("_", p) for p in parts)


def impact_metrics(estimates: Iterable[Mapping]) -> dict[str, dict]:
    """``{key: {effect, ci: [low, high]}}``, one entry per estimate, in the estimates' order.

    Keys come from :func:`impact_metric_key`; estimates that still share one get ``.2``, ``.3``… in the order
    given (the stage's order is fixed), so no estimate overwrites another.
    """
    metrics: dict[str, dict] = {}
    for estimate in estimates:
        base = key = impact_metric_key(estimate)
        n = 1
        while key in metrics:
            n += 1
            key = f"{base}.{n}"
        metrics[key] = {"effect": estimate["effect"], "ci": [estimate["ci_low"], estimate["ci_high"]]}
    return metrics


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
