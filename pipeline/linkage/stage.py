"""``riskpipe link``: one person index across the records of every person source in the registry.

Works on pseudonymised tables only. Deterministic passes first (records sharing a token under an
identifier rule the sources declare: NHS number between social care and health; UPN and former UPN
between school, social care and NCCIS), then a Splink model over the match-key tokens
(pipeline/linkage/probabilistic.py), trained on the data itself with m-probabilities counted on the
deterministic matches (pipeline/linkage/training.py). People are the connected components of the
deterministic links and of the probabilistic pairs at or above
``link.cluster_threshold_match_probability`` that carry date-of-birth evidence, taken strongest
first and refused where a person would hold more records of a source than it allows (the registry's
``max_records_per_person``, or ``link.max_records_per_person``; pipeline/linkage/clusters.py).

``run_link`` is the stage end to end: it reads through pipeline/linkage/read.py and writes through
``pipeline.core.io``; ``link_persons`` is the linkage itself, on frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.config import LinkParams
from pipeline.core.io import read_parquet, write_csv, write_json, write_parquet, write_text
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.as_of import compare_indexes
from pipeline.linkage.clusters import build_person_index, cluster_records, links_to_edges, record_limits
from pipeline.linkage.deterministic import find_deterministic_links
from pipeline.linkage.engine import LinkageEngine
from pipeline.linkage.evaluation import (
    evaluate_linkage,
    pairwise_counts,
    precision_recall,
    worst_group_recall,
)
from pipeline.linkage.family_stage import run_family_links
from pipeline.linkage.id_store import assign_lasting_ids, record_person_ids, summarise_change
from pipeline.linkage.markdown import render_linkage_markdown
from pipeline.linkage.memory import log_memory, release_unused_memory
from pipeline.linkage.persons import add_report_attributes, build_person_records, count_records_without_key
from pipeline.linkage.probabilistic import accept_probabilistic_pairs, linkage_engine, score_probabilistic_pairs
from pipeline.linkage.read import LinkInputError, read_person_records, read_truth
from pipeline.linkage.report import (
    cluster_sizes,
    format_review_sample,
    gamma_labels_from_model,
    link_rates,
    people_per_source_pair,
    summarise_sources,
)
from pipeline.linkage.review_pairs import review_population
from pipeline.linkage.timing import phase, record_phases
from pipeline.privacy.fingerprint import optional_key, record_linked_key, verify_pseudo_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkageResult:
    """Outputs of the link stage (``write_link_outputs`` writes them)."""

    person_index: pd.DataFrame
    model: dict[str, Any]
    report: dict[str, Any]
    review: pd.DataFrame
    scored_pairs: pd.DataFrame | None = None  # every scored pair, tokens only (review_pairs.review_population)


def link_person_records(
    tables: dict[str, pd.DataFrame], params: LinkParams, truth: pd.DataFrame | None = None
) -> LinkageResult:
    """Build the person index from pseudonymised tables.

    Args:
        tables: pseudonymised tables by name: each person source's person table (``school_pupil``,
            ``csc_person``, ``nhs_patient``, ``nccis_activity`` …) and address table (``school_address``), any present.
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
        persons: ``person_columns()`` (pipeline/linkage/persons.py).
        records_without_key: ``count_records_without_key`` of the source tables, for the report.
        params: the ``link`` section of params.yaml.
        truth: optional tokenised truth (``source``, ``record_key_tok``, ``true_person_id``), used
            for evaluation only.

    Returns:
        ``LinkageResult``: person index (``table``, ``record_key_tok``, ``person_id``,
        ``match_probability``, ``match_route``), trained model, report dict, review sample.
    """
    limits = record_limits(params.max_records_per_person)
    log.info("link: %d person records from %d sources", len(persons), persons["source"].nunique())
    log_memory("person records")
    with phase("deterministic links"):
        det_links, ambiguous = find_deterministic_links(persons)
    log.info("link: %d deterministic links", len(det_links))
    scored, model, notes = score_probabilistic_pairs(persons, params, det_links)
    log.info("link: %d scored pairs >= %.2f", scored.scored, params.threshold_match_probability)
    over = scored.over_cluster_threshold
    with phase("clustering"):
        accepted = accept_probabilistic_pairs(over, params.cluster_threshold_match_probability, model)
        index, refused = build_person_index(
            persons,
            det_links,
            accepted,
            params.cluster_threshold_match_probability,
            linkage_engine(params),
            max_records_per_person=limits,
        )
    log.info("link: %d links refused to keep people within max_records_per_person", refused)
    release_unused_memory()
    log_memory("person index")

    with phase("linkage report"):
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
            "cluster_sizes": cluster_sizes(index, limits),
            "link_rates": link_rates(annotated),
            "thresholds": {
                "scored": params.threshold_match_probability,
                "cluster": params.cluster_threshold_match_probability,
            },
            "training_notes": notes,
        }
    log_memory("report")
    if truth is not None:
        with phase("linkage quality against truth"):
            report.update(evaluate_against_truth(annotated, persons, det_links, truth, linkage_engine(params)))
    with phase("review sample and population"):
        review = format_review_sample(scored.review, gamma_labels_from_model(model))
        log_memory("truth evaluation and review sample")
        everything = review_population(scored.everything, index) if scored.everything is not None else None
    return LinkageResult(index, model, report, review, everything)


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


def run_link(paths: ProjectPaths, params: LinkParams, key_file: Path) -> LinkageResult:
    """The link stage end to end: read ``data/pseudo`` (and truth), link, write the outputs.

    Args:
        paths: the project's paths.
        params: the ``link`` section of params.yaml.
        key_file: the pseudonymisation key file, used only to tokenise ``data/truth/person_map.parquet``
            when it exists (synthetic county; evaluation only).

    Raises:
        LinkInputError: no pseudonymised person table.
        SourceRegistryError: ``link.max_records_per_person`` names a source that holds no people.
        PseudonymisationKeyError: truth exists but the key cannot be loaded.
        KeyFingerprintMismatch: data/pseudo was made with another key than the current one, or is incomplete.
        LinkageBackendError: the Splink backend is unavailable.
    """
    with record_phases() as times:
        record_limits(params.max_records_per_person)  # a misnamed source fails before hours of reading
        verify_pseudo_key(paths, optional_key(key_file))  # before any output: another key's tokens link to nothing
        with phase("reading person records"):
            persons, records_without_key = read_person_records(paths)
        log_memory("reading person records")
        with phase("reading truth"):
            truth = read_truth(paths, key_file)
        result = link_persons(persons, records_without_key, params, truth)
        log_memory("linkage")
        with phase("lasting person ids"):
            index, id_entry = assign_lasting_ids(result.person_index, paths)  # last run's IDs kept (persistent_ids.py)
        report = {**result.report, "person_ids": summarise_change(id_entry)}
        family = run_family_links(paths, index, truth, params.extract_date)  # data/linked/family_links.parquet
        if family is not None:
            report["family_links"] = family
        with phase("writing outputs"):
            write_link_outputs(replace(result, person_index=index, report=report), paths)
            record_person_ids(paths, index, id_entry)  # only once the index it describes is written
        # timed to here: writing the report is the one step left out (it holds these figures)
        report["timings"] = times.as_report()
        write_json(report, paths.reports / "linkage.json")
    return replace(result, person_index=index, report=report)


def as_of_outputs(paths: ProjectPaths, as_of: date) -> tuple[Path, Path]:
    """Where ``link --as-of`` writes: ``data/linked_as_of/<date>/person_index.parquet`` and its report."""
    return (paths.root / "data" / "linked_as_of" / as_of.isoformat() / "person_index.parquet",
            paths.reports / "linkage_as_of" / f"{as_of.isoformat()}.json")


def run_link_as_of(paths: ProjectPaths, params: LinkParams, key_file: Path, as_of: date) -> dict[str, Any]:
    """Link only the records that existed strictly before ``as_of``, and compare with the full index.

    Writes the as-of person index and ``reports/linkage_as_of/<date>.json``: the as-of linkage's own
    figures (people, truth precision and recall when truth exists) and :func:`pipeline.linkage.as_of.
    compare_indexes` against ``data/linked/person_index.parquet`` (run ``riskpipe link`` first).

    Raises:
        LinkInputError: no pseudonymised person table, or no full person index to compare with.
        KeyFingerprintMismatch: data/pseudo was made with another key than the current one.
    """
    if not paths.person_index.exists():
        raise LinkInputError(f"{paths.person_index.relative_to(paths.root)} is missing: run `riskpipe link` first")
    verify_pseudo_key(paths, optional_key(key_file), linked=True)  # the full index compared with, too
    persons, records_without_key = read_person_records(paths, as_of=as_of)
    result = link_persons(persons, records_without_key, params, read_truth(paths, key_file))
    index_file, report_file = as_of_outputs(paths, as_of)
    write_parquet(result.person_index, index_file)
    report = {"as_of": as_of.isoformat(), "people": result.report["people"], "records": int(len(result.person_index)),
              "truth": result.report.get("truth"),
              "compared_with_all_records": compare_indexes(read_parquet(paths.person_index), result.person_index)}
    write_json(report, report_file)
    return report


def write_link_outputs(result: LinkageResult, paths: ProjectPaths) -> None:
    """data/linked/person_index.parquet, splink_model.json and scored_pairs.parquet; reports/linkage.json, .md
    and _review.csv."""
    write_parquet(result.person_index, paths.person_index)
    write_json(result.model, paths.splink_model)
    write_json(result.report, paths.reports / "linkage.json")
    write_text(render_linkage_markdown(result.report), paths.reports / "linkage.md")
    write_csv(result.review, paths.reports / "linkage_review.csv")
    if result.scored_pairs is not None:  # what `riskpipe review-linkage` draws its sample from
        write_parquet(result.scored_pairs, paths.linked / "scored_pairs.parquet")
    record_linked_key(paths)  # the index's tokens are data/pseudo's: later stages check they still match


def summarise_link(result: LinkageResult) -> str:
    """One line for the console: people, records and, with truth, pairwise precision and recall."""
    summary = f"{result.report['people']:,} people from {len(result.person_index):,} records"
    if "truth" in result.report:
        truth = result.report["truth"]
        summary += f"; pairwise precision {truth['precision']:.4f}, recall {truth['recall']:.4f}"
    return summary
