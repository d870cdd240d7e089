"""The features stage's IO: pseudonymised tables and the person index in, one features file per model out.

Called by ``riskpipe features``. Reads ``data/pseudo/*.parquet`` and ``data/linked/person_index.parquet``
(never ``data/truth``) through ``pipeline.core.io``, builds the event frames once, then calls
``features.build.build_features`` for each model spec and writes ``data/features/<model>.parquet`` and
``reports/<model>/features.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from features.build import build_events, build_features
from features.events import source_columns
from features.spec_checks import check_spec_kinds
from features.window import connect_duckdb
from models.spec import ModelSpec, load_model_spec
from pipeline.core.config import FeaturesParams
from pipeline.core.io import read_parquet, write_json, write_parquet
from pipeline.core.paths import ProjectPaths

log = logging.getLogger(__name__)

PERSON_INDEX_COLUMNS = ["table", "record_key_tok", "person_id"]


class FeatureInputsMissing(FileNotFoundError):
    """Pseudonymised tables or the person index are not there (pseudonymise and link have not run).

    The message is the list of missing tables, or the person index path when only it is missing.
    """


@dataclass(frozen=True)
class FeaturesWritten:
    """What the features stage wrote for one model.

    Attributes:
        model: the spec's name.
        frame_file: data/features/<model>.parquet.
        report_file: reports/<model>/features.json.
        rows: rows written.
        labelled: rows whose outcome has matured.
        prevalence: mean outcome over labelled rows.
        leakage_check_passed: every feature saw only events strictly before its index date (the join's own proof).
        features_seeing_future: features that changed when the leakage perturbation deleted every event on
            or after the index date of a sample of rows (features.json ``leakage_perturbation``); the gate's
            ``leakage_guard`` blocks release when there is any. The stage goes on, so the gate can say which.
    """

    model: str
    frame_file: Path
    report_file: Path
    rows: int
    labelled: int
    prevalence: float
    leakage_check_passed: bool
    features_seeing_future: tuple[str, ...] = ()


def missing_pseudo_tables(paths: ProjectPaths, columns: Mapping[str, list[str]]) -> list[str]:
    """Pseudonymised tables that features read (``columns``: ``source_columns()``) and that are not under
    ``data/pseudo``."""
    return [t for t in columns if not paths.pseudo_table(t).exists()]


def read_feature_inputs(paths: ProjectPaths, columns: Mapping[str, list[str]]
                        ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The ``columns`` of each pseudonymised table that features use, and ``table, record_key_tok, person_id``."""
    tables = {t: read_parquet(paths.pseudo_table(t), columns=cols) for t, cols in columns.items()}
    return tables, read_parquet(paths.person_index, columns=PERSON_INDEX_COLUMNS)


def write_model_features(spec: ModelSpec, person_index: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                         params: FeaturesParams, paths: ProjectPaths, con: duckdb.DuckDBPyConnection
                         ) -> FeaturesWritten:
    """Build one model's features from shared event frames and write its frame and report."""
    result = build_features({}, person_index, spec, params.extract_date, con=con, events=events,
                            leakage_sample_rows=params.leakage_sample_rows)
    changed = result.report["leakage_perturbation"]["differing_features"]
    if changed:
        log.warning("%s: features changed when events on or after the index date were removed: %s; the gate's "
                    "leakage_guard will block release", spec.name, changed)
    frame_file = write_parquet(result.frame, paths.features_table(spec.name))
    report_file = write_json(result.report, paths.model_reports(spec.name) / "features.json")
    labelled = result.frame["outcome"].dropna()
    return FeaturesWritten(spec.name, frame_file, report_file, len(result.frame), len(labelled), labelled.mean(),
                           bool(result.report["leakage_check_passed"]), tuple(changed))


def run_features(model_names: list[str], params: FeaturesParams, paths: ProjectPaths) -> Iterator[FeaturesWritten]:
    """Build and write the features of each named model, one after another.

    Specs and inputs are checked when this is called, before anything is read; the models are built as
    the returned iterator is consumed, so a caller sees each model as soon as it is written. The event
    frames are built once and shared. Building stops after a model whose leakage check failed: its
    outputs are written (for inspection) and the next models are not built.

    Raises:
        ModelSpecError: a spec does not exist or is invalid, or names a kind, population or feature
            the features side does not have (``check_spec_kinds``).
        FeatureInputsMissing: ``data/pseudo`` tables or the person index are missing.
    """
    specs = [check_spec_kinds(load_model_spec(name)) for name in model_names]
    columns = source_columns()
    missing = missing_pseudo_tables(paths, columns)
    if missing or not paths.person_index.exists():
        raise FeatureInputsMissing(str(missing or paths.person_index))
    return _build_each(specs, params, paths, columns)


def _build_each(specs: list[ModelSpec], params: FeaturesParams, paths: ProjectPaths,
                columns: Mapping[str, list[str]]) -> Iterator[FeaturesWritten]:
    tables, person_index = read_feature_inputs(paths, columns)
    events = build_events(tables, person_index)
    del tables  # the event frames hold what features need; the raw tables can go before the first model
    con = connect_duckdb(params.duckdb_threads, params.duckdb_memory_limit)
    for spec in specs:
        written = write_model_features(spec, person_index, events, params, paths, con)
        yield written
        if not written.leakage_check_passed:
            return
