"""The model registry and the release path: the `approved` alias, version tags, governance records.

Every call here is on the release path, so a failure raises :class:`TrackingError` (fail closed):
the command stops; it never warns and goes on.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.core.io import file_sha256
from pipeline.core.tracking.runs import _use_tracking_uri, tracking_uri

APPROVED_ALIAS = "approved"
# written by MLflow into a registered model's downloaded folder (its name and version), not part of the model
_REGISTRY_META_FILES = frozenset({"registered_model_meta"})


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


def model_files_sha256(folder: Path) -> str:
    """SHA-256 over a downloaded model's files: each file's relative path and SHA-256, sorted by path."""
    lines = []
    for file in sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name not in _REGISTRY_META_FILES):
        lines.append(f"{file.relative_to(folder).as_posix()}\t{file_sha256(file)}")
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def model_artifact_sha256(model_uri: str, uri: str | None = None) -> str:
    """SHA-256 of the logged model's files (:func:`model_files_sha256`), e.g. of ``models:/<name>/<version>``.

    Raises:
        TrackingError: MLflow could not download it.
    """
    return load_model_files(model_uri, uri, load=False)[1]


def load_model_files(model_uri: str, uri: str | None = None, *, load: bool = True) -> tuple[Any, str]:
    """Download a logged model once; return the scikit-learn model loaded from exactly those files and their SHA-256.

    So what is hashed (and compared with an approved release's ``model_sha256``) is what scores.

    Raises:
        TrackingError: MLflow could not download or load it.
    """
    import mlflow.artifacts
    import mlflow.sklearn

    try:
        _client(uri)
        with tempfile.TemporaryDirectory(prefix="riskpipe-model-") as tmp:
            folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
            digest = model_files_sha256(folder)
            return (mlflow.sklearn.load_model(str(folder)) if load else None), digest
    except Exception as exc:
        raise _fail_closed(f"download {model_uri}", exc) from exc


def model_version_run_id(name: str, version: str | int, uri: str | None = None) -> str:
    """The id of the run registered model ``name`` version ``version`` was logged from.

    Raises:
        TrackingError: MLflow could not say (a missing version included).
    """
    try:
        return str(_client(uri).get_model_version(name, str(version)).run_id)
    except Exception as exc:
        raise _fail_closed(f"look up the run of {name} version {version}", exc) from exc


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
    """``{"version", "approval_ref", "release_digest", "run_id"}`` of the version holding ``approved``, or None.

    ``release_digest`` is the tag ``governance.release_digest`` that ``govern`` set with the alias (empty
    when the alias was set some other way); ``run_id`` is the run MLflow says the version came from.

    Raises:
        TrackingError: MLflow failed for a reason other than "no such model or alias".
    """
    try:
        version = _client(uri).get_model_version_by_alias(name, APPROVED_ALIAS)
    except Exception as exc:
        if _not_found(exc):
            return None
        raise _fail_closed(f"read the `{APPROVED_ALIAS}` alias of {name}", exc) from exc
    tags = version.tags or {}
    return {"version": str(version.version), "approval_ref": tags.get("governance.approval_ref", ""),
            "release_digest": tags.get("governance.release_digest", ""), "run_id": str(version.run_id or "")}


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
        tags["governance.release_digest"] = str(result.get("release_digest", ""))
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
