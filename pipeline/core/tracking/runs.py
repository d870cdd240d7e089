"""Runs and models: the tracking URI, experiments, training and evaluation runs, the logged model.

The tracking URI is always set explicitly: ``$MLFLOW_TRACKING_URI`` when set (so a real
``mlflow server`` works unchanged), else a SQLite file ``mlflow.db`` in the project root. One
experiment per model spec (``riskpipe-<model>``); the calibrated model is logged as a scikit-learn
model whose pyfunc ``predict`` returns ``predict_proba`` (column 1 = P(outcome)), registered as
``riskpipe-<model>`` with alias ``candidate``. Nothing logged here may hold identifiers: the input
example is one synthetic "typical" row, and datasets are logged by schema and digest only.

A training run never stays RUNNING after its process: an exception, Ctrl-C, ``kill`` (SIGTERM) or a
closed terminal (SIGHUP) ends it FAILED; a run whose process was killed outright (``kill -9``, a lost
machine) is ended FAILED by the next ``train`` of the same model, which finds it tagged with a process
that no longer exists (:mod:`pipeline.core.tracking.interrupted_runs`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.tracking.interrupted_runs import PROCESS_TAG, end_orphaned_runs, failing_on_signals, this_process

log = logging.getLogger(__name__)

DEFAULT_DB = "mlflow.db"
CANDIDATE_ALIAS = "candidate"
PIP_REQUIREMENTS = ["scikit-learn", "lightgbm", "pandas", "numpy", "skops"]
# types a logged model may contain; anything else stops logging rather than being trusted blindly
TRUSTED_TYPE_PREFIXES = ("sklearn.", "lightgbm.", "models.", "numpy.", "scipy.", "collections.OrderedDict")


def _use_tracking_uri(uri: str) -> None:
    """Point MLflow at ``uri`` without changing ``$MLFLOW_TRACKING_URI``.

    ``mlflow.set_tracking_uri`` also exports the URI to the environment "so subprocesses inherit it";
    riskpipe reads that variable as the user's choice, so a second project run in the same process (or
    a subprocess started later, such as `dvc repro`) would silently use the first project's store.
    """
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


def tracking_uri(root: Path | str = ".") -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<root>/mlflow.db`` (absolute)."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{(Path(root) / DEFAULT_DB).resolve()}"


def experiment_name(model: str) -> str:
    return f"riskpipe-{model}"


def registered_model_name(model: str) -> str:
    return f"riskpipe-{model}"


def flatten_metrics(tree: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested metrics dict as ``a.b.c`` keys; ``[low, high]`` CIs as ``_low``/``_high``."""
    flat: dict[str, float] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, f"{name}."))
        elif isinstance(value, list | tuple) and len(value) == 2:
            for suffix, item in zip(("low", "high"), value, strict=True):
                if isinstance(item, int | float) and math.isfinite(item):
                    flat[f"{name}_{suffix}"] = float(item)
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            flat[name] = float(value)
    return flat


def _flatten_params(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten_params(value, f"{name}."))
        else:
            flat[name] = str(value)[:500]
    return flat


def typical_feature_row(X: pd.DataFrame) -> pd.DataFrame:
    """One row of median numbers and modal categories, typed as ``X``: an input example that is nobody's record.

    Each column keeps ``X``'s dtype (integer medians rounded), so the example passes the same schema
    check as the features file it stands for.
    """
    row = {}
    for column in X.columns:
        values = X[column].dropna()
        if pd.api.types.is_numeric_dtype(X[column]) and not pd.api.types.is_bool_dtype(X[column]):
            median = float(values.median()) if len(values) else float("nan")
            row[column] = round(median) if pd.api.types.is_integer_dtype(X[column]) and len(values) else median
        elif pd.api.types.is_bool_dtype(X[column]):
            row[column] = bool(values.mode().iloc[0]) if len(values) else None
        else:
            row[column] = str(values.mode().iloc[0]) if len(values) else None
    return pd.DataFrame([row]).astype(X.dtypes.to_dict())


def _is_nullable_integer(dtype) -> bool:
    return isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype)


def model_input_schema(X: pd.DataFrame):
    """The MLflow input schema of a model fitted on ``X``, typed exactly as the features file types ``X``.

    Inferred from :func:`schema_rows`, so a column may be missing wherever the training rows had a gap.
    MLflow cannot check a pandas nullable integer column (``Int64``: ``age_months``, blank when the month
    of birth is unknown): declared ``long`` it casts to numpy ``int64`` and fails on a blank, declared
    ``double`` it refuses ``Int64`` outright. Such columns are declared ``any`` (optional); the model's
    own ``FeatureFrameCaster`` turns them into numbers.

    Returns:
        ``mlflow.types.Schema`` with one named column per column of ``X``, in order.
    """
    from mlflow.models import infer_signature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    inferred = infer_signature(schema_rows(X)).inputs
    return Schema([
        ColSpec(AnyType(), spec.name, required=False) if _is_nullable_integer(X[spec.name].dtype) else spec
        for spec in inferred.inputs
    ])


def schema_rows(X: pd.DataFrame) -> pd.DataFrame:
    """The few rows of ``X`` from which MLflow infers the same schema as from all of it.

    MLflow reads every value to infer a column's type and whether it may be missing (minutes on a
    county's training rows); one present and one missing value per column decide both.
    """
    missing = X.isna().to_numpy()
    present_first, missing_first = (~missing).argmax(axis=0), missing.argmax(axis=0)
    rows = {0, *present_first.tolist(), *missing_first[missing.any(axis=0)].tolist()}
    return X.iloc[sorted(rows)]


def frame_digest(X: pd.DataFrame) -> str:
    """First 8 hex digits (as MLflow's own digests) of the MD5 of every row's pandas hash.

    Unlike MLflow's default digest (first 10,000 rows only, but a Python call per value of the
    whole frame), it changes when any value changes and costs one vectorised pass.
    """
    hashes = pd.util.hash_pandas_object(X, index=False).to_numpy()
    return hashlib.md5(hashes.tobytes(), usedforsecurity=False).hexdigest()[:8]


def training_dataset(X: pd.DataFrame, source: str | None, name: str):
    """``X`` as an MLflow pandas dataset (schema, digest and row count; never values), built quickly.

    The digest is :func:`frame_digest`; the schema is inferred from :func:`schema_rows` only.
    """
    import mlflow
    from mlflow.models import infer_signature

    dataset = mlflow.data.from_pandas(X, source=source, name=name, digest=frame_digest(X),
                                      targets="outcome" if "outcome" in X.columns else None)
    # ``schema`` is a functools.cached_property: filling its cache skips MLflow's per-value inference
    vars(dataset)["schema"] = infer_signature(schema_rows(X)).inputs
    return dataset


def _trusted_types(model) -> list[str]:
    import skops.io as sio

    types = sio.get_untrusted_types(data=sio.dumps(model))
    unexpected = [t for t in types if not t.startswith(TRUSTED_TYPE_PREFIXES)]
    if unexpected:
        raise TypeError(f"model holds types outside the trusted list: {unexpected}")
    return types


def log_training_run(
    *,
    uri: str,
    model_name: str,
    model,
    X_train: pd.DataFrame,
    y_train: pd.Series,
    spec: Mapping[str, Any],
    params: Mapping[str, Any],
    lineage: Mapping[str, str],
    summary_metrics: Mapping[str, Any],
    artifacts: list[Path] = (),
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Log one training run, log and register the calibrated model, set alias ``candidate``.

    Args:
        model: the calibrated classifier (``predict_proba`` on the raw features frame).
        X_train, y_train: the training rows' model inputs and outcome (logged as an MLflow dataset:
            schema, digest and row count, never values).
        spec: the model spec as a dict (logged as ``spec.json`` and flattened as params).
        params: other settings to log as params (training params section, feature columns...).
        lineage: input file -> SHA-256 (also logged as tags ``lineage.<file>``).
        summary_metrics: nested numbers logged as metrics (rows per split, best iteration...).

    Returns:
        ``{"run_id", "model_uri", "model_version", "tracking_uri", "registered_model"}``.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.tracking import MlflowClient

    _use_tracking_uri(uri)
    mlflow.set_experiment(experiment_name(model_name))
    end_orphaned_runs(experiment_name(model_name))
    example = typical_feature_row(X_train)
    outputs = infer_signature(example, model.predict_proba(example)).outputs
    signature = ModelSignature(model_input_schema(X_train), outputs)
    registered = registered_model_name(model_name)
    with failing_on_signals(), mlflow.start_run(run_name=f"train-{model_name}",
                                                tags={**dict(tags or {}), PROCESS_TAG: this_process()}) as run:
        mlflow.log_params({**_flatten_params(spec, "spec."), **_flatten_params(params)})
        mlflow.log_dict(dict(spec), "spec.json")
        mlflow.log_dict(dict(lineage), "lineage.json")
        mlflow.set_tags({f"lineage.{Path(k).name}": v for k, v in lineage.items()})
        source = next(iter(lineage), None)
        dataset = training_dataset(X_train.assign(outcome=pd.Series(y_train, index=X_train.index).astype("int64")),
                                   str(source) if source else None, f"{model_name}-train")
        mlflow.log_input(dataset, context="training")
        mlflow.log_metrics(flatten_metrics(summary_metrics))
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))
        info = mlflow.sklearn.log_model(
            model, name="model", signature=signature, input_example=example,
            pyfunc_predict_fn="predict_proba", pip_requirements=PIP_REQUIREMENTS,
            serialization_format="skops", skops_trusted_types=_trusted_types(model),
        )
        version = mlflow.register_model(info.model_uri, registered)
        MlflowClient().set_registered_model_alias(registered, CANDIDATE_ALIAS, version.version)
        log.info("MLflow run %s: registered %s version %s as %s", run.info.run_id, registered, version.version,
                 CANDIDATE_ALIAS)
        return {"run_id": run.info.run_id, "model_uri": info.model_uri, "model_version": int(version.version),
                "tracking_uri": uri, "registered_model": registered}


def log_evaluation(*, uri: str, run_id: str, metrics: Mapping[str, Any], artifacts: list[Path] = ()) -> int:
    """Log the evaluation's metrics tree (the same dict as metrics.json) and files to the training run.

    Returns:
        The number of metrics logged.
    """
    import mlflow

    _use_tracking_uri(uri)
    flat = flatten_metrics(metrics)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(flat)
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact), artifact_path="evaluation")
    return len(flat)

