"""The features stage: cohort, point-in-time features and outcome for one model spec.

``build_features`` is pure (tables in, frame and report out); ``features.stage`` reads and writes the files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from features import registry
from features.adult_household import with_household
from features.adult_population import OUTCOME_COLUMNS
from features.cohorts import build_cohort
from features.context import add_context_features, build_address_events, build_record_spans
from features.coverage import coverage_report
from features.events_link import build_source_events
from features.family import with_family
from features.feature import Feature
from features.leakage import leakage_perturbation
from features.outcomes import attach_outcome
from features.person_lookup import id_set, positions_in
from features.populations import get_population
from features.report import summarise_features
from features.row_features import add_row_features
from features.window import aggregate_before_index, connect_duckdb
from models.spec import ModelSpec

log = logging.getLogger(__name__)

KEY_COLUMNS = ["person_id", "index_date", "index_year", "outcome"]


@dataclass(frozen=True)
class FeatureBuild:
    """Output of the features stage: ``frame`` (data/features/<model>.parquet) and ``report``."""

    frame: pd.DataFrame
    report: dict[str, Any]


def build_events(tables: Mapping[str, pd.DataFrame], person_index: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every event domain features use, including the cross-source ``record`` and ``address`` frames, and an
    empty ``family`` frame (``features.family_inputs.add_family_events`` fills it for specs that opt in), and the
    adults' ``adult_household`` frame (``features.adult_household``: others' registrations at the same address,
    keyed by the person, so the leakage perturbation cuts them like the person's own)."""
    return with_household(with_family(with_cross_source(build_source_events(tables, person_index)), None))


def with_cross_source(events: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Source event frames and ``person`` plus the ``record`` and ``address`` frames built from them, each
    with ``person_key`` (the leakage perturbation rebuilds its cut-down world with this same function)."""
    events = dict(events)
    events["record"] = build_record_spans(events)
    events["address"] = build_address_events(events)
    return add_person_keys(events)


def add_person_keys(events: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Give every event frame an integer ``person_key`` (position in ``events['person']``): DuckDB joins on
    integers many times faster than on 32-character text ids."""
    keys = id_set(events["person"]["person_id"])  # converted once for every frame
    out = {}
    for name, frame in events.items():
        codes = positions_in(frame["person_id"], keys)
        keyed = frame.assign(person_key=codes.astype("int32"))
        # filtered only when some event has no person: a filter copies the frame even when it keeps every row
        out[name] = keyed if (codes >= 0).all() else keyed[codes >= 0]
    return out


def _by_row(agg: pd.DataFrame, row_ids: pd.Series) -> pd.DataFrame:
    """``agg`` (keyed by ``row_id``) aligned to the cohort's rows; rows with no events become missing."""
    aligned = agg.set_index("row_id").reindex(row_ids.to_numpy())
    aligned.index = row_ids.index
    return aligned


def _latest_by_index_date(agg: pd.DataFrame, index_dates: pd.Series, domain: str) -> pd.DataFrame:
    """``row_id, max_event_date, domain``: of the rows of ``agg`` (``row_id, _max_event_date``) with one index date
    (``index_dates``: by ``row_id``), the one shown the latest event. Its date is the index date's maximum and
    its gap to the index date the smallest, all the leakage proof (``features.report.leakage_proof``) reads;
    one row per cohort row and domain would be the stage's largest frame at scale (issue #17)."""
    seen = agg[["row_id", "_max_event_date"]].rename(columns={"_max_event_date": "max_event_date"})
    on = index_dates.reindex(seen["row_id"].to_numpy()).to_numpy()
    latest = seen["max_event_date"].groupby(on).idxmax() if len(seen) else pd.Series([], dtype="int64")
    return seen.loc[latest.to_numpy()].assign(domain=domain)


def compute_features(
    con: duckdb.DuckDBPyConnection,
    cohort: pd.DataFrame,
    events: Mapping[str, pd.DataFrame],
    features: Mapping[str, Feature] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every SQL-defined feature for every cohort row, from events strictly before its index date.

    Args:
        cohort: ``row_id, person_id, index_date`` (other columns are carried through).
        events: event frames by domain (``features.events``).
        features: the features to compute (default: the whole registry).

    Returns:
        ``(frame, latest)``: ``cohort`` with one column per feature (filled and typed per the
        registry), and ``row_id, max_event_date, domain`` — for each domain and index date, the row shown
        the latest event and that event's date (the proof that none is on or after its index date).
    """
    features = registry.FEATURES if features is None else features
    by_domain: dict[str, dict[str, str]] = {}
    for f in features.values():
        if f.sql is not None:
            by_domain.setdefault(f.domain, {})[f.name] = f.sql
    if "person_key" not in cohort.columns:
        keys = events["person"][["person_id", "person_key"]]
        cohort = cohort.merge(keys, on="person_id", how="inner")
    by_name = {f.name: f for f in features.values()}
    index_dates = cohort.set_index("row_id")["index_date"]
    parts = [cohort]
    latest = []
    for domain, expressions in by_domain.items():
        agg = aggregate_before_index(con, cohort, events[domain], expressions)
        latest.append(_latest_by_index_date(agg, index_dates, domain))
        aligned = _by_row(agg.drop(columns="_max_event_date"), cohort["row_id"])
        del agg
        # each domain's columns filled and typed before the one concat: the cohort-sized frame is built once,
        # not built and then rebuilt by an assign of every column (issue #17)
        parts.append(pd.DataFrame({name: type_feature(aligned[name], by_name[name].kind, by_name[name].fill)
                                   for name in aligned.columns}, index=aligned.index))
        del aligned
    frame = pd.concat(parts, axis=1)
    return frame, pd.concat(latest, ignore_index=True)


def type_feature(values: pd.Series, kind: str, fill: float | None) -> pd.Series:
    """Fill a feature where no event was seen and give it its column type (int8, float64 or str)."""
    if kind == "categorical":
        return values.astype("str").where(values.notna())
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    if fill is not None:
        numeric = numeric.fillna(fill)
        if kind == "binary":
            return numeric.astype("int8")
    return numeric


def features_with_context(con: duckdb.DuckDBPyConnection, cohort: pd.DataFrame, events: Mapping[str, pd.DataFrame],
                          features: Mapping[str, Feature], age_bands: Sequence[tuple[int, int, str]]
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``compute_features`` plus the person attributes, age and ``fair_*`` columns: every feature of a row.

    Args:
        cohort: ``row_id, person_id, index_date, index_year, birth_year, birth_month`` (others carried through).
        events: event frames with ``person_key`` (``build_events``).

    Returns:
        ``(frame, latest)`` as ``compute_features`` returns them, ``frame`` with ``sex, ethnicity_group,
        age_months`` and the ``fair_*`` columns added.
    """
    frame, latest = compute_features(con, cohort, events, features)
    frame = add_row_features(frame, events, features)  # groups built per row (features.row_features)
    person = events["person"].set_index("person_key")[["sex", "ethnicity_group"]]
    # the two columns looked up and added, not joined: a join copies every column of the cohort-sized frame
    attributes = person.reindex(frame["person_key"].to_numpy()).set_axis(frame.index)
    frame = frame.assign(sex=attributes["sex"], ethnicity_group=attributes["ethnicity_group"])
    return add_context_features(frame, age_bands), latest


def build_features(
    tables: Mapping[str, pd.DataFrame],
    person_index: pd.DataFrame,
    spec: ModelSpec,
    extract_date: date,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    events: Mapping[str, pd.DataFrame] | None = None,
    leakage_sample_rows: int = 300,
    years: Sequence[int] | None = None,
    outcome_rules: bool = True,
) -> FeatureBuild:
    """Cohort x index date rows with features, fairness attributes and outcome for one model spec.

    Args:
        tables: pseudonymised tables by name (data/pseudo).
        person_index: ``table, record_key_tok, person_id`` (data/linked).
        spec: the model spec.
        extract_date: the date the extracts were taken; outcome windows ending later are immature.
        con: DuckDB connection (a new in-memory one by default).
        events: pre-built event frames (``build_events``), to share between models.
        leakage_sample_rows: written rows the leakage perturbation rebuilds with their future deleted
            (``features.leakage``; sampled with the spec's seed; 0 = none, and the gate cannot pass).
        years: build only these index years (None = every year of the spec); the cohort is cut before any
            feature is computed, and rows reconcile within these years.
        outcome_rules: apply the exclusions and censoring decided from records after the index date (the
            outcome builder's). False keeps only the cohort's own (index-date) exclusions: for a build over an
            as-of person index, whose later records are missing, the full build decides who is labelled.

    Returns:
        ``FeatureBuild``: ``frame`` = ``person_id, index_date, index_year, outcome``, every feature of
        the population's groups and ``fair_*`` attribute, excluded and censored rows removed;
        ``report`` for features.json.
    """
    con = con or connect_duckdb()
    events = events if events is not None else build_events(tables, person_index)
    if spec.features.family and "family" not in events:  # no family links read: every family feature is 0
        events = with_family(events, None)
    cohort = build_cohort(events, spec)
    if years is not None:
        cohort = cohort[cohort["index_year"].isin(list(years))].reset_index(drop=True)
    log.info("%s: %d cohort rows over %d index dates", spec.name, len(cohort), cohort["index_date"].nunique())
    features = registry.spec_features(spec)  # family features only when the spec opts in (features.family)
    age_bands = get_population(spec.population).age_bands
    frame, latest = features_with_context(con, cohort, events, features, age_bands)
    cohort_exclusion = cohort.set_index("row_id")["exclusion"]
    frame = attach_outcome(con, frame, events, spec, extract_date)
    if not outcome_rules:
        frame = frame.assign(exclusion=frame["row_id"].map(cohort_exclusion),
                             censoring=pd.Series(pd.NA, index=frame.index, dtype="str"))
    report = summarise_features(frame, latest, spec, extract_date)
    # from when each input's source holds records: the train stage keeps it out of years before (issue #18)
    report["input_coverage"] = coverage_report(features, events)
    written = frame["exclusion"].isna() & frame["censoring"].isna()
    kept = frame if written.all() else frame[written]  # every row kept (adults' models): no copy of the frame
    feature_names = [f.name for f in features.values() if f.group != "fairness"]
    fair_columns = [f.name for f in features.values() if f.group == "fairness"]

    def rebuild(con_: duckdb.DuckDBPyConnection, cohort_: pd.DataFrame, events_: Mapping[str, pd.DataFrame]
                ) -> pd.DataFrame:
        return features_with_context(con_, cohort_, events_, features, age_bands)[0]

    report["leakage_perturbation"] = leakage_perturbation(kept, events, feature_names + fair_columns, rebuild,
                                                          with_cross_source, con, n=leakage_sample_rows, seed=spec.seed)
    # columns an outcome builder reports beside the outcome (an adults' model's deaths in the window)
    beside = [c for c in OUTCOME_COLUMNS if c in kept.columns]
    out = kept[KEY_COLUMNS + beside + feature_names + fair_columns].reset_index(drop=True)
    out["person_id"] = out["person_id"].astype("str")
    out["index_year"] = out["index_year"].astype("int64")
    out["outcome"] = out["outcome"].astype("Int8")
    report["rows_written"] = len(out)
    counts = report["row_reconciliation"]
    counts["reconciled"] = bool(counts["reconciled"] and counts["kept"] == len(out))
    if not counts["reconciled"]:
        raise ValueError(f"{spec.name}: cohort rows do not reconcile with excluded + censored + written: {counts}")
    report["missingness"] = {c: round(float(out[c].isna().mean()), 4) for c in feature_names + fair_columns}
    return FeatureBuild(out, report)
