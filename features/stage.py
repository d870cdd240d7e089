"""The features stage's IO: pseudonymised tables and the person index in, one features file per model out.

Called by ``riskpipe features``. Reads ``data/pseudo/*.parquet`` and ``data/linked/person_index.parquet``
(never ``data/truth``) through ``pipeline.core.io``, builds the event frames once, then calls
``features.build.build_features`` for each model spec and writes ``data/features/<model>.parquet`` and
``reports/<model>/features.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from features.as_of import with_full_outcome
from features.build import FeatureBuild, build_events, build_features
from features.events import empty_table, source_columns
from features.family_inputs import add_family_events
from features.offers import with_offer_exposure
from features.spec_checks import check_spec_kinds
from features.window import connect_duckdb
from models.spec import ModelSpec, load_model_spec
from pipeline.core.config import FeaturesParams
from pipeline.core.io import file_sha256, read_parquet, write_json, write_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.memory import log_memory, release_unused_memory
from pipeline.sources.registry import table_spec

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
    ``data/pseudo``, other than extracts declared optional (``TableSpec.optional``: GP, deaths, ECDS …)."""
    return [t for t in columns if not paths.pseudo_table(t).exists() and not table_spec(t).optional]


def read_pseudo_tables(paths: ProjectPaths, columns: Mapping[str, list[str]]) -> dict[str, pd.DataFrame]:
    """The ``columns`` of each pseudonymised table that features use; an optional table that is not there
    is an empty frame (``empty_table``)."""
    return {t: read_parquet(paths.pseudo_table(t), columns=cols) if paths.pseudo_table(t).exists()
            else empty_table(t, cols) for t, cols in columns.items()}


class PseudoTablesOnDemand(Mapping[str, pd.DataFrame]):
    """The ``columns`` of each pseudonymised table that features use, each read when looked up and not kept.

    ``features.events_link.build_source_events`` looks each table up once and keeps only its linked copy, so at most one
    unlinked table is held at a time instead of all of them beside their linked copies (the peak of the
    events build, issue #17). An optional table that is not there is an empty frame, as in
    ``read_pseudo_tables``.
    """

    def __init__(self, paths: ProjectPaths, columns: Mapping[str, list[str]]) -> None:
        self._paths, self._columns = paths, dict(columns)

    def __getitem__(self, name: str) -> pd.DataFrame:
        cols = self._columns[name]
        path = self._paths.pseudo_table(name)
        return read_parquet(path, columns=cols) if path.exists() else empty_table(name, cols)

    def __contains__(self, name: object) -> bool:
        return name in self._columns  # Mapping's own would read the table

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def read_feature_inputs(paths: ProjectPaths, columns: Mapping[str, list[str]]
                        ) -> tuple[Mapping[str, pd.DataFrame], pd.DataFrame]:
    """The ``columns`` of each pseudonymised table that features use (read when looked up:
    ``PseudoTablesOnDemand``), and ``table, record_key_tok, person_id``."""
    return PseudoTablesOnDemand(paths, columns), read_parquet(paths.person_index, columns=PERSON_INDEX_COLUMNS)


def write_model_features(spec: ModelSpec, person_index: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                         params: FeaturesParams, paths: ProjectPaths, con: duckdb.DuckDBPyConnection,
                         offers: pd.DataFrame | None = None) -> FeaturesWritten:
    """Build one model's features from shared event frames and write its frame and report.

    ``offers`` (``person_id, date`` of each early help offer made): each row's offer exposure is added
    (``features.offers``; never a model input).
    """
    result = build_features({}, person_index, spec, params.extract_date, con=con, events=events,
                            leakage_sample_rows=params.leakage_sample_rows)
    if offers is not None and spec.outcome.horizon_months:
        result = FeatureBuild(with_offer_exposure(result.frame, offers, spec.outcome.horizon_months), result.report)
    changed = result.report["leakage_perturbation"]["differing_features"]
    if changed:
        log.warning("%s: features changed when events on or after the index date were removed: %s; the gate's "
                    "leakage_guard will block release", spec.name, changed)
    frame_file = write_parquet(result.frame, paths.features_table(spec.name))
    report_file = write_json(result.report, paths.model_reports(spec.name) / "features.json")
    labelled = result.frame["outcome"].dropna()
    return FeaturesWritten(spec.name, frame_file, report_file, len(result.frame), len(labelled), labelled.mean(),
                           bool(result.report["leakage_check_passed"]), tuple(changed))


def run_features(model_names: list[str], params: FeaturesParams, paths: ProjectPaths,
                 read_offers: Callable[[], pd.DataFrame | None] | None = None) -> Iterator[FeaturesWritten]:
    """Build and write the features of each named model, one after another.

    Specs and inputs are checked when this is called, before anything is read; the models are built as
    the returned iterator is consumed, so a caller sees each model as soon as it is written. The event
    frames are built once and shared. Building stops after a model whose leakage check failed: its
    outputs are written (for inspection) and the next models are not built. ``read_offers`` returns the
    early help offers made (``person_id, date``) or None (no offer records); passed in because the interventions
    events (``pipeline.impact``) build on features, not the other way round.

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
    return _build_each(specs, params, paths, columns, read_offers)


def _build_each(specs: list[ModelSpec], params: FeaturesParams, paths: ProjectPaths,
                columns: Mapping[str, list[str]], read_offers: Callable[[], pd.DataFrame | None] | None = None
                ) -> Iterator[FeaturesWritten]:
    tables, person_index = read_feature_inputs(paths, columns)
    events = build_events(tables, person_index)
    del tables  # the event frames hold what features need; the raw tables can go before the first model
    # Arrow keeps the freed tables' blocks for reuse (about half the resident memory after the events are
    # built, issue #17); the feature frames are numpy, which cannot reuse them, so hand them back now
    release_unused_memory()
    log_memory("event frames")
    events = add_family_events(paths, person_index, events, sorted({r for s in specs for r in s.features.family}))
    con = connect_duckdb(params.duckdb_threads, params.duckdb_memory_limit)
    offers = read_offers() if read_offers is not None else None
    for spec in specs:
        written = write_model_features(spec, person_index, events, params, paths, con, offers)
        release_unused_memory()  # one model's frames are gone before the next model's grow
        log_memory(f"{spec.name} features")
        yield written
        if not written.leakage_check_passed:
            return


def build_over_index(spec: ModelSpec, person_index: pd.DataFrame, params: FeaturesParams, paths: ProjectPaths,
                     years: Sequence[int] | None, *, outcome_rules: bool = True) -> FeatureBuild:
    """``build_features`` for one spec over any person index (the full one or an as-of one), ``years`` only.

    The same builder as the features stage: events attributed to persons through ``person_index``, the
    leakage perturbation and the row reconciliation (within ``years``) included.
    """
    columns = source_columns()
    missing = missing_pseudo_tables(paths, columns)
    if missing:
        raise FeatureInputsMissing(str(missing))
    tables = PseudoTablesOnDemand(paths, columns)
    events = add_family_events(paths, person_index, build_events(tables, person_index), spec.features.family)
    del tables
    release_unused_memory()  # as in _build_each: the tables' Arrow blocks, before the feature frames grow
    con = connect_duckdb(params.duckdb_threads, params.duckdb_memory_limit)
    return build_features({}, person_index, spec, params.extract_date, con=con, events=events,
                          leakage_sample_rows=params.leakage_sample_rows, years=years, outcome_rules=outcome_rules)


def run_features_over_index(model: str, params: FeaturesParams, paths: ProjectPaths, *, person_index_file: Path,
                            years: Sequence[int] | None, out: Path) -> FeaturesWritten:
    """One model's features built over another person index (e.g. ``data/linked_as_of/<date>/``), written to
    ``out`` and its report beside it (``<out>.json``). The outcome is the one that index's records give.

    Raises:
        ModelSpecError: the spec does not exist or is invalid.
        FeatureInputsMissing: ``data/pseudo`` tables or ``person_index_file`` are missing.
    """
    spec = check_spec_kinds(load_model_spec(model))
    if not person_index_file.exists():
        raise FeatureInputsMissing(str(person_index_file))
    result = build_over_index(spec, read_parquet(person_index_file, columns=PERSON_INDEX_COLUMNS), params, paths,
                              years)
    changed = result.report["leakage_perturbation"]["differing_features"]
    frame_file = write_parquet(result.frame, out)
    report_file = write_json({**result.report, "person_index": str(person_index_file),
                              "person_index_sha256": file_sha256(person_index_file)}, out.with_suffix(".json"))
    labelled = result.frame["outcome"].dropna()
    return FeaturesWritten(spec.name, frame_file, report_file, len(result.frame), len(labelled), labelled.mean(),
                           bool(result.report["leakage_check_passed"]), tuple(changed))


def index_dates_of_year(frame: pd.DataFrame, year: int) -> list[date]:
    """The index dates of ``year``'s rows in a features frame (``index_date, index_year``): the spring census
    day for a census cohort, 31 March for an annual one."""
    dates = pd.to_datetime(frame.loc[frame["index_year"] == year, "index_date"]).drop_duplicates().sort_values()
    return [d.date() for d in dates]


def run_features_as_of(model: str, params: FeaturesParams, paths: ProjectPaths,
                       link_as_of: Callable[[date], Path]) -> FeaturesWritten:
    """The test year's rows built over the person index as it stood on each of its index dates.

    For each index date of the spec's test year in ``data/features/<model>.parquet``, ``link_as_of(date)``
    builds the person index of the records dated before ``date`` (the day after the index date: the records
    of the index date itself included) and returns its file (``riskpipe link --as-of``); the features are built
    over it for that year (one builder: :func:`build_over_index`) and the rows on that date kept. Each row's
    label is the full build's for the same child (:func:`features.as_of.with_full_outcome`): the records
    defining the outcome mostly did not exist on the index date; so are the exclusions and censoring decided
    after the index date (a row the full build excluded has no label), while the cohort's own index-date
    exclusions (open to social care, looked after) are the as-of build's, as the live list would make them. Writes
    ``data/features_as_of/<model>.parquet`` (``person_id`` of the as-of index, ``person_id_full``) and
    ``reports/<model>/features_as_of.json``.

    Raises:
        ModelSpecError: the spec does not exist or is invalid.
        FeatureInputsMissing: no full features file, person index or pseudonymised tables, or no rows in
            the test year.
    """
    spec = check_spec_kinds(load_model_spec(model))
    full_file = paths.features_table(model)
    if not full_file.exists() or not paths.person_index.exists():
        raise FeatureInputsMissing(str(full_file if not full_file.exists() else paths.person_index))
    full_frame = read_parquet(full_file, columns=["person_id", "index_date", "index_year", "outcome"])
    year = spec.split.test_year
    dates = index_dates_of_year(full_frame, year)
    if not dates:
        raise FeatureInputsMissing(f"{full_file} has no rows in the test year {year}")
    full_index = read_parquet(paths.person_index, columns=PERSON_INDEX_COLUMNS)
    parts, reports = [], []
    for day in dates:
        # records up to and including the index date: the cohort is read from that day's census, so the list
        # made from it has that census's records (features still read only events strictly before the date)
        linked_on = day + timedelta(days=1)
        index_file = link_as_of(linked_on)
        as_of_index = read_parquet(index_file, columns=PERSON_INDEX_COLUMNS)
        # exclusions and censoring read records after the index date, which the as-of index lacks: the full
        # build's decide who is labelled (with_full_outcome); the cohort's index-date exclusions still hold
        result = build_over_index(spec, as_of_index, params, paths, [year], outcome_rules=False)
        rows = result.frame[result.frame["index_date"] == pd.Timestamp(day)]
        labelled, counts = with_full_outcome(rows, as_of_index, full_index, full_frame)
        parts.append(labelled)
        reports.append({"index_date": day.isoformat(), "records_before": linked_on.isoformat(),
                        "person_index": str(index_file.relative_to(paths.root)),
                        "person_index_sha256": file_sha256(index_file), **counts,
                        "leakage_check_passed": result.report["leakage_check_passed"],
                        "leakage_perturbation": result.report["leakage_perturbation"],
                        "row_reconciliation": result.report["row_reconciliation"]})
    frame = pd.concat(parts, ignore_index=True)
    report = {"model": spec.name, "test_year": year, "labels": "the full build's outcome of the same child, "
              "matched through the records both person indexes hold (majority of the as-of person's records)",
              "index_dates": reports}
    frame_file = write_parquet(frame, paths.features_as_of_table(spec.name))
    report_file = write_json(report, paths.model_reports(spec.name) / "features_as_of.json")
    changed = sorted({f for r in reports for f in r["leakage_perturbation"]["differing_features"]})
    labelled = frame["outcome"].dropna()
    return FeaturesWritten(spec.name, frame_file, report_file, len(frame), len(labelled),
                           labelled.mean() if len(labelled) else float("nan"),
                           all(r["leakage_check_passed"] for r in reports), tuple(changed))
