"""``riskpipe link``: one person index across school, social care, health and NCCIS records.

Works on pseudonymised tables only. Deterministic passes first (NHS number tokens between social
care and health; UPN and former-UPN tokens between school, social care and NCCIS), then a Splink
model over the match-key tokens (pipeline/linkage/model.py), trained on the data itself with
m-probabilities counted on the deterministic matches (pipeline/linkage/training.py). People are
the connected components of the deterministic links and of the probabilistic pairs at or above
``link.cluster_threshold_match_probability`` that carry date-of-birth evidence, taken strongest
first and refused where a person would hold more records of a source than
``link.max_records_per_person`` allows (pipeline/linkage/clusters.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.core.config import LinkParams
from pipeline.linkage.clusters import build_person_index, cluster_records, links_to_edges
from pipeline.linkage.deterministic import find_deterministic_links
from pipeline.linkage.engine import LinkageEngine, make_linker, predict_pair_table, release_linker
from pipeline.linkage.evaluation import (
    evaluate_linkage,
    pairwise_counts,
    precision_recall,
    worst_group_recall,
)
from pipeline.linkage.memory import log_memory, release_unused_memory
from pipeline.linkage.model import (
    DOB_EVIDENCE_LEVELS,
    FIELD_COLUMNS,
    IDENTIFIER_COMPARISONS,
    IDENTITY_FIELDS,
    build_linkage_settings,
)
from pipeline.linkage.persons import add_report_attributes, build_person_records, count_records_without_key
from pipeline.linkage.report import (
    cluster_sizes,
    format_review_sample,
    gamma_labels_from_model,
    link_rates,
    people_per_source_pair,
    summarise_sources,
)
from pipeline.linkage.scored_pairs import ScoredPairs, fetch_scored_pairs
from pipeline.linkage.training import repair_trained_parameters, train_linkage_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkageResult:
    """Outputs of the link stage (written by the CLI)."""

    person_index: pd.DataFrame
    model: dict[str, Any]
    report: dict[str, Any]
    review: pd.DataFrame


def linkage_engine(params: LinkParams) -> LinkageEngine:
    """The Splink backend with the configured DuckDB thread and memory limits."""
    return LinkageEngine(params.backend, params.duckdb_threads, params.duckdb_memory_limit)


def linkable_fields(persons: pd.DataFrame) -> list[str]:
    """Identity fields recorded (non-null) in at least two sources, or twice within one."""
    fields = []
    for field in IDENTITY_FIELDS:
        first = FIELD_COLUMNS[field][0]
        recorded = persons[persons[first].notna()]
        if recorded["source"].nunique() >= 2 or len(recorded) >= 2:
            fields.append(field)
    return fields


def splink_inputs(persons: pd.DataFrame, fields: list[str]) -> dict[str, pd.DataFrame]:
    """source -> frame of ``unique_id`` (= record_key_tok) and the fields' token columns."""
    columns = [c for f in fields for c in FIELD_COLUMNS[f]]
    frames = {}
    for source, rows in persons.groupby("source", sort=False):
        frame = rows[columns].astype("string").reset_index(drop=True)
        frame.insert(0, "unique_id", rows["record_key_tok"].astype("string").to_numpy())
        frames[str(source)] = frame
    return frames


def score_probabilistic_pairs(
    persons: pd.DataFrame, params: LinkParams, known_matches: pd.DataFrame | None = None
) -> tuple[ScoredPairs, dict[str, Any], list[str]]:
    """Train the Splink model on the person records and score blocked pairs.

    ``known_matches`` (the deterministic links) give the m-probabilities of the non-identifier
    comparisons (pipeline/linkage/training.py). The scored pairs stay in the backend; only the
    pairs at or above the cluster threshold, their count and the review sample are fetched
    (pipeline/linkage/scored_pairs.py).

    Returns:
        (scored pairs, trained model dict, notes on training and parameter repairs).
    """
    engine = linkage_engine(params)
    fields = linkable_fields(persons)
    inputs = splink_inputs(persons, fields)
    settings = build_linkage_settings(fields, link_type="link_and_dedupe")
    trained, notes = train_linkage_model(
        inputs,
        settings,
        engine=engine,
        n_records=len(persons),
        seed=params.seed,
        u_max_pairs=params.u_max_pairs,
        prior_recall=params.prior_recall,
        known_matches=known_matches,
        em_max_pairs=params.em_max_pairs,
    )
    release_unused_memory()
    log_memory("training")
    model, repairs = repair_trained_parameters(trained, settings, u_fallback=1.0 / params.u_max_pairs)
    linker = make_linker(inputs, model, engine)
    try:
        predictions = predict_pair_table(linker, params.threshold_match_probability)
        scored = fetch_scored_pairs(
            linker,
            predictions,
            only_source=next(iter(inputs)),
            cluster_threshold=params.cluster_threshold_match_probability,
            review_band=params.review_band,
            review_size=params.review_sample_size,
            seed=params.seed,
        )
    finally:
        release_linker(linker)
    release_unused_memory()
    log_memory("prediction")
    return scored, model, notes + repairs


def accept_probabilistic_pairs(pairs: pd.DataFrame, threshold: float, model: dict[str, Any]) -> pd.DataFrame:
    """Scored pairs that may join two records: at or above ``threshold``, with date-of-birth
    evidence (``DOB_EVIDENCE_LEVELS``) or an agreeing NHS number or UPN.

    Args:
        pairs: Splink predictions with ``match_probability`` and ``gamma_<comparison>`` columns.
        model: the trained model dict (gives each gamma value its level label).
    """
    labels = gamma_labels_from_model(model)
    evidence = pd.Series("dob" not in labels, index=pairs.index)
    if "dob" in labels:
        evidence |= pairs["gamma_dob"].map(labels["dob"]).isin(DOB_EVIDENCE_LEVELS)
    for name in IDENTIFIER_COMPARISONS:
        if name in labels:
            evidence |= pairs[f"gamma_{name}"].map(labels[name]).eq("exact")
    return pairs[(pairs["match_probability"] >= threshold) & evidence]


def link_person_records(
    tables: dict[str, pd.DataFrame], params: LinkParams, truth: pd.DataFrame | None = None
) -> LinkageResult:
    """Build the person index from pseudonymised tables.

    Args:
        tables: pseudonymised tables by name (``school_pupil``, ``school_address``, ``csc_person``,
            ``nhs_patient``, ``nccis_activity``; any present).
        params: the ``link`` section of params.yaml.
        truth: optional tokenised truth (``source``, ``record_key_tok``, ``true_person_id``; see
            ``tokenise_truth_keys``), used for evaluation only.

    Returns:
        ``LinkageResult`` (see ``link_persons``).
    """
    return link_persons(build_person_records(tables), count_records_without_key(tables), params, truth)


def link_persons(
    persons: pd.DataFrame,
    records_without_key: dict[str, int],
    params: LinkParams,
    truth: pd.DataFrame | None = None,
) -> LinkageResult:
    """Build the person index from person records (``build_person_records``).

    Taking the records rather than the tables lets a caller drop the (much larger) source tables
    before the linkage's memory peaks.

    Args:
        persons: ``PERSON_COLUMNS`` (pipeline/linkage/persons.py).
        records_without_key: ``count_records_without_key`` of the source tables, for the report.
        params: the ``link`` section of params.yaml.
        truth: optional tokenised truth (``source``, ``record_key_tok``, ``true_person_id``), used
            for evaluation only.

    Returns:
        ``LinkageResult``: person index (``table``, ``record_key_tok``, ``person_id``,
        ``match_probability``, ``match_route``), trained model, report dict, review sample.
    """
    log.info("link: %d person records from %d sources", len(persons), persons["source"].nunique())
    log_memory("person records")
    det_links, ambiguous = find_deterministic_links(persons)
    log.info("link: %d deterministic links", len(det_links))
    scored, model, notes = score_probabilistic_pairs(persons, params, det_links)
    log.info("link: %d scored pairs >= %.2f", scored.scored, params.threshold_match_probability)
    over = scored.over_cluster_threshold
    accepted = accept_probabilistic_pairs(over, params.cluster_threshold_match_probability, model)
    index, refused = build_person_index(
        persons,
        det_links,
        accepted,
        params.cluster_threshold_match_probability,
        linkage_engine(params),
        max_records_per_person=params.max_records_per_person,
    )
    log.info("link: %d links refused to keep people within max_records_per_person", refused)
    release_unused_memory()
    log_memory("person index")

    attributes = add_report_attributes(persons, params.extract_date).rename(columns={"source": "table"})
    annotated = index.merge(
        attributes[["table", "record_key_tok", "ethnicity_group", "sex", "imd_quintile", "age_band"]],
        on=["table", "record_key_tok"],
        how="left",
    )
    del attributes
    report = {
        "sources": summarise_sources(index),
        "people": int(index["person_id"].nunique()),
        "records_without_key": records_without_key,
        "deterministic_links": {k: int(v) for k, v in det_links["rule"].value_counts().sort_index().items()},
        "ambiguous_deterministic_tokens": ambiguous,
        "scored_pairs": scored.scored,
        "accepted_probabilistic_pairs": int(len(accepted)),
        "pairs_over_threshold_without_dob_evidence": int(len(over) - len(accepted)),
        "links_refused_over_source_limits": refused,
        "people_per_source_pair": people_per_source_pair(index),
        "cluster_sizes": cluster_sizes(index, params.max_records_per_person),
        "link_rates": link_rates(annotated),
        "thresholds": {
            "scored": params.threshold_match_probability,
            "cluster": params.cluster_threshold_match_probability,
        },
        "training_notes": notes,
    }
    log_memory("report")
    if truth is not None:
        report.update(evaluate_against_truth(annotated, persons, det_links, truth, linkage_engine(params)))
    review = format_review_sample(scored.review, gamma_labels_from_model(model))
    log_memory("truth evaluation and review sample")
    return LinkageResult(index, model, report, review)


def evaluate_against_truth(
    annotated: pd.DataFrame,
    persons: pd.DataFrame,
    det_links: pd.DataFrame,
    truth: pd.DataFrame,
    engine: LinkageEngine,
) -> dict[str, Any]:
    """``truth`` (full linkage) and ``deterministic_only`` pairwise precision/recall."""
    records = annotated.rename(columns={"table": "source"}).merge(
        truth, on=["source", "record_key_tok"], how="inner"
    )
    full = evaluate_linkage(records)
    full["records_evaluated"] = int(len(records))
    full["records_not_in_truth"] = int(len(annotated) - len(records))
    full["worst_ethnic_group_recall"] = worst_group_recall(full["by_group"])
    det = cluster_records(persons, links_to_edges(det_links), engine).merge(
        truth, on=["source", "record_key_tok"]
    )
    det_only = precision_recall(pairwise_counts(det["person_id"], det["true_person_id"]))
    log.info(
        "link vs truth: precision %.4f recall %.4f (deterministic only: recall %.4f)",
        full["precision"] or 0,
        full["recall"] or 0,
        det_only["recall"] or 0,
    )
    return {"truth": full, "deterministic_only": {k: det_only[k] for k in ("precision", "recall", "f1")}}
