"""The only module that imports MLflow: experiments, runs, lineage, models and the registry.

The tracking URI is always set explicitly: ``$MLFLOW_TRACKING_URI`` when set (so a real
``mlflow server`` works unchanged), else a SQLite file ``mlflow.db`` in the project root. One
experiment per model spec (``riskpipe-<model>``); the calibrated model is logged as a scikit-learn
model whose pyfunc ``predict`` returns ``predict_proba`` (column 1 = P(outcome)), registered as
``riskpipe-<model>`` with alias ``candidate``. Nothing logged here may hold identifiers: the input
example is one synthetic "typical" row, and datasets are logged by schema and digest only.
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
    example = typical_feature_row(X_train)
    outputs = infer_signature(example, model.predict_proba(example)).outputs
    signature = ModelSignature(model_input_schema(X_train), outputs)
    registered = registered_model_name(model_name)
    with mlflow.start_run(run_name=f"train-{model_name}", tags=dict(tags or {})) as run:
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


def load_model(model_uri: str, uri: str):
    """The logged model as an MLflow pyfunc (``predict(df)`` -> probabilities, column 1 = P(outcome))."""
    import mlflow
    import mlflow.pyfunc

    _use_tracking_uri(uri)
    return mlflow.pyfunc.load_model(model_uri)


APPROVED_ALIAS = "approved"


class TrackingError(RuntimeError):
    """An MLflow call on the release path failed: the command stops (fail closed), never warns and goes on."""


def _fail_closed(what: str, exc: Exception) -> TrackingError:
    return TrackingError(f"MLflow could not {what}: {type(exc).__name__}: {exc}")


def _not_found(exc: Exception) -> bool:
    """Whether an MLflow error only says the model, version or alias does not exist (no other failure)."""
    from mlflow.exceptions import MlflowException

    code = getattr(exc, "error_code", "")
    return isinstance(exc, MlflowException) and code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") \
        and "not found" in str(exc)


def _client(uri: str | None = None):
    from mlflow.tracking import MlflowClient

    uri = uri or tracking_uri()
    _use_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


def load_sklearn_model(model_uri: str, uri: str | None = None):
    """The logged scikit-learn model itself (``predict_proba``, LightGBM inside for contributions).

    Raises:
        TrackingError: MLflow could not load it.
    """
    import mlflow.sklearn

    try:
        _client(uri)
        return mlflow.sklearn.load_model(model_uri)
    except Exception as exc:
        raise _fail_closed(f"load {model_uri}", exc) from exc


def model_version_exists(name: str, version: str | int, uri: str | None = None) -> bool:
    """Whether registered model ``name`` has version ``version`` (False for a missing model or version).

    Raises:
        TrackingError: MLflow failed for any other reason (it cannot say the version exists).
    """
    if not str(version).isdigit():
        return False
    try:
        _client(uri).get_model_version(name, str(int(version)))
    except Exception as exc:
        if _not_found(exc):
            return False
        raise _fail_closed(f"look up {name} version {version}", exc) from exc
    return True


def tag_model_version(name: str, version: str | int, tags: Mapping[str, str], uri: str | None = None) -> None:
    """Set tags on a registered model version (sign-offs, governance status).

    Raises:
        TrackingError: any tag could not be set.
    """
    try:
        client = _client(uri)
        for key, value in tags.items():
            client.set_model_version_tag(name, str(version), key, str(value))
    except Exception as exc:
        raise _fail_closed(f"tag {name} version {version}", exc) from exc


def approved_model_version(name: str, uri: str | None = None) -> dict | None:
    """``{"version", "approval_ref"}`` of the version holding alias ``approved``, or None when none holds it.

    Raises:
        TrackingError: MLflow failed for a reason other than "no such model or alias".
    """
    try:
        version = _client(uri).get_model_version_by_alias(name, APPROVED_ALIAS)
    except Exception as exc:
        if _not_found(exc):
            return None
        raise _fail_closed(f"read the `{APPROVED_ALIAS}` alias of {name}", exc) from exc
    return {"version": str(version.version), "approval_ref": (version.tags or {}).get("governance.approval_ref", "")}


def revoke_approval(name: str, version: str | int, reason: str, uri: str | None = None) -> bool:
    """Remove alias ``approved`` from ``version`` (if it holds it) and tag why; True when it was removed.

    Raises:
        TrackingError: the alias could not be read, removed or the version tagged.
    """
    holder = approved_model_version(name, uri)
    if holder is None or holder["version"] != str(version):
        return False
    try:
        _client(uri).delete_registered_model_alias(name, APPROVED_ALIAS)
    except Exception as exc:
        raise _fail_closed(f"remove the `{APPROVED_ALIAS}` alias from {name} version {version}", exc) from exc
    tag_model_version(name, version, {"governance.status": "revoked", "governance.revoked": reason[:500]}, uri)
    return True


def record_governance(name: str, version: str | int, run_id: str | None, result: Mapping[str, Any],
                      files: list[Path], uri: str | None = None) -> None:
    """Tag the version with the gate's decision; move alias ``approved`` only when it approved.

    A blocked version that held ``approved`` loses it, so a list can never be issued from it.

    Raises:
        TrackingError: any of it failed (a tag, the alias moved or removed, the artifact logged).
    """
    status = str(result.get("status"))
    tags = {"governance.status": status, "governance.decided_at": str(result.get("decided_at", ""))}
    if status == "approved":
        tags["governance.approval_ref"] = str(result.get("approval_ref", ""))
    tag_model_version(name, version, tags, uri)
    if status == "approved":
        try:
            _client(uri).set_registered_model_alias(name, APPROVED_ALIAS, str(version))
        except Exception as exc:
            raise _fail_closed(f"set the `{APPROVED_ALIAS}` alias on {name} version {version}", exc) from exc
    else:
        revoke_approval(name, version, "; ".join(result.get("reasons", [])) or status, uri)
    log_run_artifacts(run_id, files, "governance", uri)


def log_run_artifacts(run_id: str | None, files: list[Path], artifact_path: str, uri: str | None = None) -> None:
    """Attach files to an existing run (governance.json, model card).

    Raises:
        TrackingError: a file could not be logged.
    """
    if not run_id:
        return
    try:
        client = _client(uri)
        for file in files:
            client.log_artifact(run_id, str(file), artifact_path)
    except Exception as exc:
        raise _fail_closed(f"log {artifact_path} files to run {run_id}", exc) from exc


LEDGER_EXPERIMENT = "riskpipe-ledger"


def _ledger_tag(log_name: str) -> str:
    return f"ledger.{log_name}.anchor"


def record_ledger_anchor(log_name: str, anchor: Mapping[str, Any], uri: str | None = None) -> None:
    """Tag experiment ``riskpipe-ledger`` with a log's anchor (entry count, head hash, keyed MAC) as JSON.

    Raises:
        MlflowException: the tag could not be set (callers treat that as a ledger failure).
    """
    import json

    client = _client(uri)
    experiment = client.get_experiment_by_name(LEDGER_EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(LEDGER_EXPERIMENT)
    client.set_experiment_tag(experiment_id, _ledger_tag(log_name), json.dumps(dict(anchor), sort_keys=True))


def ledger_anchor(log_name: str, uri: str | None = None) -> dict | None:
    """The anchor last recorded by :func:`record_ledger_anchor` for ``log_name``, or None if there is none."""
    import json

    experiment = _client(uri).get_experiment_by_name(LEDGER_EXPERIMENT)
    tag = (experiment.tags or {}).get(_ledger_tag(log_name)) if experiment else None
    return json.loads(tag) if tag else None
