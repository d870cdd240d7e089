"""The probabilistic pass: a Splink model over the match-key tokens, trained on the records themselves.

The model (pipeline/linkage/model.py) is trained with u by seeded random sampling and m by EM, then
m counted on the deterministic matches (pipeline/linkage/training.py). Pairs at or above
``link.cluster_threshold_match_probability`` may join two records only with date-of-birth evidence
or an agreeing identifier, where the evidence is whatever date-of-birth level the fitted model
weighs for a match (``dob_evidence_levels``), not a hand-set list.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.config import LinkParams
from pipeline.linkage.backends import engine_from_params
from pipeline.linkage.comparisons import FIELD_COLUMNS, IDENTIFIER_COMPARISONS, IDENTITY_FIELDS
from pipeline.linkage.engine import LinkageEngine, make_linker, predict_pair_table, release_linker
from pipeline.linkage.memory import log_memory, release_unused_memory
from pipeline.linkage.model import build_linkage_settings
from pipeline.linkage.report import gamma_labels_from_model
from pipeline.linkage.scored_pairs import ScoredPairs, fetch_scored_pairs
from pipeline.linkage.timing import phase
from pipeline.linkage.training import repair_trained_parameters, train_linkage_model


def linkage_engine(params: LinkParams) -> LinkageEngine:
    """The Splink backend ``params`` configure (pipeline/linkage/backends.py): DuckDB's limits, or Spark's session."""
    return engine_from_params(params)


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
    with phase("splink: inputs"):
        fields = linkable_fields(persons)
        inputs = splink_inputs(persons, fields)
    settings = build_linkage_settings(
        fields, link_type="link_and_dedupe", blocking_geography=params.blocking_geography
    )
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
    with phase("splink: predict"):
        linker = make_linker(inputs, model, engine)
    try:
        with phase("splink: predict"):
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


def dob_evidence_levels(model: dict[str, Any]) -> set[str]:
    """Date-of-birth levels the fitted model counts as evidence for a match: m above u.

    On the synthetic county the model learns what used to be a hand-set list (exact, day/month
    swapped, day and month with the year wrong, year and month); on data with other error
    patterns it learns theirs. A level whose u was never estimated is not evidence.
    """
    return {
        str(lvl.get("label_for_charts"))
        for c in model["comparisons"]
        if c["output_column_name"] == "dob"
        for lvl in c["comparison_levels"]
        if not lvl.get("is_null_level") and lvl.get("m_probability", 0) > lvl.get("u_probability", 1)
    }


def accept_probabilistic_pairs(pairs: pd.DataFrame, threshold: float, model: dict[str, Any]) -> pd.DataFrame:
    """Scored pairs that may join two records: at or above ``threshold``, with date-of-birth
    evidence (``dob_evidence_levels``) or an agreeing NHS number or UPN.

    Siblings share surname, postcode, parents and sometimes a forename; those agreements are not
    independent, so without date-of-birth evidence their weights can add up past any threshold.

    Args:
        pairs: Splink predictions with ``match_probability`` and ``gamma_<comparison>`` columns.
        model: the trained model dict (gives each gamma value its level label, and m and u).
    """
    labels = gamma_labels_from_model(model)
    evidence = pd.Series("dob" not in labels, index=pairs.index)
    if "dob" in labels:
        evidence |= pairs["gamma_dob"].map(labels["dob"]).isin(dob_evidence_levels(model))
    for name in IDENTIFIER_COMPARISONS:
        if name in labels:
            evidence |= pairs[f"gamma_{name}"].map(labels[name]).eq("exact")
    return pairs[(pairs["match_probability"] >= threshold) & evidence]


def threshold_from_model(probabilities: pd.Series) -> float:
    """The match-probability threshold with the best F1 the fitted model expects, from its own scores.

    Were the scores calibrated, the pairs at or above a threshold would hold (sum of their
    probabilities) true matches, out of (sum of all probabilities) true matches in all; keeping
    the best k pairs then has expected F1 ``2 * S_k / (k + S_all)``. The threshold is the score
    of the k-th pair at the best k, so it follows the model on each data set rather than a fixed
    number.

    Args:
        probabilities: ``match_probability`` of every scored pair (or every pair above a small floor).

    Returns:
        The chosen threshold (1.0 when nothing is scored).
    """
    scores = np.sort(probabilities.dropna().to_numpy(dtype=float))[::-1]
    if not len(scores) or scores.sum() <= 0:
        return 1.0
    found = np.cumsum(scores)
    expected_f1 = 2 * found / (np.arange(1, len(scores) + 1) + found[-1])
    return float(scores[int(np.argmax(expected_f1))])
