"""The train stage's IO: one model's features in; scores, a training summary and an MLflow run out.

Called by ``riskpipe train``. Reads ``data/features/<model>.parquet`` through ``pipeline.core.io``, calls
``models.training.train_models`` and writes ``data/models/<model>/scores.parquet``,
``train_summary.json`` and ``run.json``; the run, the calibrated LightGBM model and its registration
(alias ``candidate``) go to MLflow through ``pipeline.core.tracking``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.spec import ModelSpec, load_model_spec, spec_path
from models.training import TrainedModels, train_models
from pipeline.core.config import TrainParams
from pipeline.core.io import file_sha256, read_parquet, write_json, write_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.core.tracking import log_training_run, tracking_uri


class FeaturesMissing(FileNotFoundError):
    """``data/features/<model>.parquet`` is not there (the features stage has not run for the model)."""

    def __init__(self, path: Path):
        super().__init__(str(path))
        self.path = path


class TrainingStopped(ValueError):
    """The learners could not be trained on these features (e.g. a split year without both outcomes)."""


@dataclass(frozen=True)
class TrainRun:
    """What the train stage wrote: ``run`` is the content of run.json."""

    run: dict
    scores_file: Path
    run_file: Path


def training_rows(features: pd.DataFrame, scores: pd.DataFrame) -> pd.Series:
    """Rows the learners were fitted on: the train split with a matured outcome (as a boolean mask).

    Args:
        features: the features frame (``outcome``).
        scores: ``train_models``' scores of the same rows (``split``).
    """
    return pd.Series(scores["split"].eq("train").to_numpy() & features["outcome"].notna().to_numpy(),
                     index=features.index)


def lineage_digests(files: list[Path]) -> dict[str, str]:
    """SHA-256 of each input file that exists, keyed by its path as given."""
    return {str(p): file_sha256(p) for p in files if p.exists()}


def log_trained_models(trained: TrainedModels, features: pd.DataFrame, spec: ModelSpec, params: TrainParams,
                       lineage: dict[str, str], summary_file: Path, paths: ProjectPaths) -> dict:
    """Log the training run to MLflow and register the calibrated LightGBM model as ``candidate``.

    Returns:
        ``log_training_run``'s ``{"run_id", "model_uri", "model_version", "tracking_uri", "registered_model"}``.
    """
    columns = trained.feature_columns
    rows = training_rows(features, trained.scores).to_numpy()
    return log_training_run(
        uri=tracking_uri(paths.root), model_name=spec.name, model=trained.lightgbm,
        X_train=features.loc[rows, columns], y_train=features.loc[rows, "outcome"],
        spec=spec.model_dump(mode="json"),
        params={"train": params.model_dump(mode="json"), "feature_columns": ",".join(columns)},
        lineage=lineage,
        summary_metrics={"rows": trained.summary["rows"],
                         "lightgbm_best_iteration": trained.summary["lightgbm_best_iteration"]},
        artifacts=[summary_file], tags={"riskpipe.stage": "train", "riskpipe.model": spec.name},
    )


def run_train(model: str, params: TrainParams, paths: ProjectPaths, *, params_file: Path, thresholds_file: Path,
              choose_inputs: Callable[[ModelSpec], list[str]],
              preregister: Callable[[str], object] | None = None) -> TrainRun:
    """Train, calibrate and score one model spec; write its artefacts and log the run to MLflow.

    Args:
        model: the spec's name (``models/specs/<model>.yaml``).
        params: the ``train`` section of params.yaml.
        paths: the project's locations.
        params_file: params.yaml, hashed into the run's lineage.
        thresholds_file: the pre-registered thresholds file; its SHA-256 (of the bytes, as the gate
            compares it) is recorded in run.json, or null when the file does not exist.
        choose_inputs: the model-input columns of a spec (``features.registry.feature_columns``;
            passed in because models/ does not import features/, which imports ``models.spec``).
        preregister: called with the model's name before anything is trained, to register its thresholds
            and checklist before any evaluation (``ethics.release_store.preregister``, passed in because
            models/ does not import ethics/); its errors stop training.

    Returns:
        :class:`TrainRun`; ``run`` adds ``feature_columns``, ``calibration`` and ``thresholds_sha256`` to
        the MLflow run's ids.

    Raises:
        ModelSpecError: the spec does not exist or is invalid.
        FeaturesMissing: no features file for the model.
        TrainingStopped: the learners could not be trained (the message says why).
    """
    spec = load_model_spec(model)
    features_file = paths.features_table(model)
    if not features_file.exists():
        raise FeaturesMissing(features_file)
    if preregister is not None:
        preregister(model)
    features = read_parquet(features_file)
    columns = choose_inputs(spec)
    try:
        trained = train_models(features, spec, columns, lightgbm_threads=params.lightgbm_threads,
                               calibration_folds=params.calibration_folds)
    except (ValueError, KeyError) as exc:
        raise TrainingStopped(str(exc)) from exc
    model_dir = paths.model_artifacts(model)
    scores_file = write_parquet(trained.scores, model_dir / "scores.parquet")
    summary_file = write_json(trained.summary, model_dir / "train_summary.json")
    lineage = lineage_digests([features_file, paths.person_index, spec_path(model), params_file])
    run = log_trained_models(trained, features, spec, params, lineage, summary_file, paths)
    run.update({"feature_columns": columns, "calibration": trained.summary["calibration"],
                "thresholds_sha256": file_sha256(thresholds_file) if thresholds_file.exists() else None})
    run_file = write_json(run, model_dir / "run.json")
    return TrainRun(run, scores_file, run_file)
