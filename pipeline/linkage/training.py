"""Training the linkage model: prior, u by random sampling, m by EM and from known matches.

EM on blocked pairs is the usual way to learn m-probabilities without labels, but its blocks are
contaminated by close non-matches: the ``forename + surname`` block holds siblings who share both
names (small name pools, one surname per household), so EM learns that a wholly different date of
birth is common among matches (m ~ 1e-2 rather than ~ 1e-4) and then merges those siblings. Where
the deterministic passes found identifier matches (NHS number, UPN), those pairs are known matches
and give the m-probabilities of every other comparison directly
(``estimate_m_from_pairwise_labels``); the identifier comparisons keep their EM estimates, since
the labels were chosen by agreement on those very identifiers.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import pandas as pd
from splink import Linker, block_on
from splink.internals.exceptions import SplinkException

from pipeline.linkage.comparisons import FIELD_COLUMNS
from pipeline.linkage.engine import LinkageEngine, make_linker, model_as_dict, release_linker
from pipeline.linkage.memory import log_memory
from pipeline.linkage.model import DETERMINISTIC_PRIOR_RULES, TRAINING_BLOCKING_RULES
from pipeline.linkage.timing import phase

log = logging.getLogger(__name__)
M_FLOOR = 1e-3  # smallest m-probability kept after training (see repair_trained_parameters)
LABEL_DEFINING_COMPARISONS = ("nhs_number", "upn")  # known matches are chosen by these
MIN_KNOWN_MATCHES = 200  # fewer labelled pairs than this: EM's m-probabilities are kept


def _available_columns(linker: Linker) -> set[str]:
    return {c.unquote().name for c in linker._input_columns()}


def estimate_prior_match_probability(linker: Linker, recall: float, fallback: float) -> None:
    """Estimate the prior that two random records match from near-certain rules.

    Falls back to ``fallback`` when no rule's columns are present or no pair is found.
    """
    available = _available_columns(linker)
    rules = [block_on(*rule) for rule in DETERMINISTIC_PRIOR_RULES if set(rule) <= available]
    try:
        if not rules:
            raise ValueError("no deterministic rule available")
        linker.training.estimate_probability_two_random_records_match(rules, recall=recall)
        prior = linker._settings_obj._probability_two_random_records_match
        if not 0 < prior < 1:
            raise ValueError("degenerate prior")
    except (ValueError, SplinkException) as exc:
        log.info("prior match probability: using fallback %.3g (%s)", fallback, exc)
        linker._settings_obj._probability_two_random_records_match = fallback


def drop_intermediate_tables(linker: Linker) -> None:
    """Drop the tables Splink made for a training step (sampled records, blocked pairs, comparison
    vectors): it keeps them all, so each EM session's millions of pairs would stay in the
    database's memory through the sessions after it. Later steps rebuild what they need."""
    linker.table_management.invalidate_cache()


def train_linkage_model(
    tables: dict[str, pd.DataFrame],
    settings: dict[str, Any],
    *,
    engine: LinkageEngine,
    n_records: int,
    seed: int,
    u_max_pairs: float,
    prior_recall: float,
    known_matches: pd.DataFrame | None = None,
    em_max_pairs: float | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Estimate prior, u (random sampling, fixed seed) and m (EM, then known matches where given).

    An EM session that fails (too few pairs, or a level with no disagreement among matches, where
    m underflows) leaves Splink's linker half-updated, so the model is snapshotted before each
    session and restored from the snapshot on failure: the declared prior m-probabilities stay for
    the comparisons that session would have trained. ``n_records`` (all input records) sets the
    fallback prior ``1 / n_records`` (about one match per record).

    ``known_matches`` (``source_l``, ``record_key_tok_l``, ``source_r``, ``record_key_tok_r``: the
    deterministic identifier links, whose keys are the tables' ``unique_id``) then replace EM's
    m-probabilities for every comparison except the identifiers that chose them (module docstring).

    ``em_max_pairs`` caps the blocked pairs of each EM session (Splink samples by a hash of the
    record ids, so the sample is the same on every run); a training block such as one date of
    birth grows with the square of the county's size. None: every blocked pair.

    Returns:
        (trained model dict, notes naming each EM session's outcome, for the report).
    """
    # the ``finally`` closes whichever linker is current: a failed EM session replaces it
    with phase("splink: prior match probability"):
        linker = make_linker(tables, settings, engine)
    try:
        with phase("splink: prior match probability"):
            estimate_prior_match_probability(linker, prior_recall, 1.0 / max(n_records, 2))
        log_memory("prior match probability")
        with phase("splink: u by random sampling"):
            linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
            drop_intermediate_tables(linker)
        log_memory("u by random sampling")
        available = _available_columns(linker)
        notes = []
        for rule in TRAINING_BLOCKING_RULES:
            if not set(rule) <= available:
                continue
            with phase("splink: EM"):
                snapshot = model_as_dict(linker)
                try:
                    linker.training.estimate_parameters_using_expectation_maximisation(
                        block_on(*rule), estimate_without_term_frequencies=True, max_pairs=em_max_pairs
                    )
                    notes.append(f"EM trained on blocking rule {' AND '.join(rule)}")
                    drop_intermediate_tables(linker)
                    log_memory(f"EM on {'+'.join(rule)}")
                except (SplinkException, ValueError, ZeroDivisionError) as exc:
                    log.warning("EM on %s did not run (%s); keeping prior m-probabilities", "+".join(rule), exc)
                    notes.append(f"EM on blocking rule {' AND '.join(rule)} failed; prior m-probabilities kept")
                    release_linker(linker)
                    linker = make_linker(tables, snapshot, engine)
        if known_matches is not None and len(known_matches) >= MIN_KNOWN_MATCHES:
            with phase("splink: m from known matches"):
                trained = estimate_m_from_known_matches(linker, known_matches)
            return trained, [
                *notes,
                f"m-probabilities from {len(known_matches)} deterministic identifier matches "
                f"(except {', '.join(LABEL_DEFINING_COMPARISONS)})",
            ]
        return model_as_dict(linker), notes
    finally:
        release_linker(linker)


def estimate_m_from_known_matches(linker: Linker, known_matches: pd.DataFrame) -> dict[str, Any]:
    """The linker's model with m-probabilities counted on known matching pairs.

    Comparisons in ``LABEL_DEFINING_COMPARISONS`` keep the linker's current m-probabilities: the
    pairs were selected for agreeing on them, so counting them there would say they never disagree.

    Args:
        linker: a trained linker (prior, u and EM m already estimated).
        known_matches: ``source_l``, ``record_key_tok_l``, ``source_r``, ``record_key_tok_r``.

    Returns:
        The model dict (``model_as_dict``) with the new m-probabilities.
    """
    before = model_as_dict(linker)
    labels = pd.DataFrame(
        {
            "source_dataset_l": known_matches["source_l"].astype(str).to_numpy(),
            "unique_id_l": known_matches["record_key_tok_l"].astype(str).to_numpy(),
            "source_dataset_r": known_matches["source_r"].astype(str).to_numpy(),
            "unique_id_r": known_matches["record_key_tok_r"].astype(str).to_numpy(),
        }
    )
    linker.table_management.register_table(labels, "__riskpipe_known_matches", overwrite=True)
    linker.training.estimate_m_from_pairwise_labels("__riskpipe_known_matches")
    after = model_as_dict(linker)
    kept = {c["output_column_name"]: c for c in before["comparisons"]}
    after["comparisons"] = [
        kept[c["output_column_name"]] if c["output_column_name"] in LABEL_DEFINING_COMPARISONS else c
        for c in after["comparisons"]
    ]
    return after


def model_recall_of_prior_rules(model: dict[str, Any], tables: dict[str, pd.DataFrame]) -> float | None:
    """Share of true matches the deterministic prior rules find, as the trained model says.

    A rule such as ``forename + surname + dob exact`` finds a true match when every one of its
    fields is recorded on both records and agrees exactly: the product over its fields of the
    share recorded on both sides (from ``tables``) and the exact level's m-probability. Rules
    are taken as independent (the share any of them finds is one less the product of misses).

    Returns:
        The recall, or None when no rule's comparisons are in the model.
    """
    exact_m = {
        c["output_column_name"]: next(
            lvl["m_probability"] for lvl in c["comparison_levels"] if lvl.get("label_for_charts") == "exact"
        )
        for c in model["comparisons"]
        if any(lvl.get("label_for_charts") == "exact" for lvl in c["comparison_levels"])
    }
    field_of = {columns[0]: field for field, columns in FIELD_COLUMNS.items()}
    frames = list(tables.values())
    missed, any_rule = 1.0, False
    for rule in DETERMINISTIC_PRIOR_RULES:
        fields = [field_of.get(col) for col in rule]
        if not all(f in exact_m and all(col in df for df in frames) for f, col in zip(fields, rule, strict=True)):
            continue
        recall = 1.0
        for field, col in zip(fields, rule, strict=True):
            shares = [float(df[col].notna().mean()) for df in frames]
            both_recorded = shares[0] * shares[1] if len(shares) == 2 else float(np.mean(shares)) ** 2
            recall *= both_recorded * exact_m[field]
        missed *= 1.0 - recall
        any_rule = True
    return 1.0 - missed if any_rule else None


def rescale_prior_to_model(
    model: dict[str, Any], tables: dict[str, pd.DataFrame], assumed_recall: float
) -> tuple[dict[str, Any], list[str]]:
    """The model with its prior match probability re-estimated from the recall it implies itself.

    The prior was estimated as (pairs the deterministic rules find) / (``assumed_recall`` x all
    pairs); once m is trained, ``model_recall_of_prior_rules`` says what that recall really is
    on these data (FEBRL: under half of true pairs agree exactly on both names and the date of
    birth, where 0.7 was assumed), so the prior is scaled by ``assumed_recall / model recall``.
    """
    recall = model_recall_of_prior_rules(model, tables)
    if recall is None or recall <= 0:
        return model, []
    rescaled = copy.deepcopy(model)
    prior = model["probability_two_random_records_match"] * assumed_recall / recall
    rescaled["probability_two_random_records_match"] = min(prior, 0.5)
    return rescaled, [f"prior match probability re-estimated with the model's recall of the exact rules ({recall:.3f})"]


def repair_trained_parameters(
    model: dict[str, Any], priors: dict[str, Any], u_fallback: float
) -> tuple[dict[str, Any], list[str]]:
    """Fill parameters training could not estimate, and undo EM results that make no sense.

    - A level with no u-probability (never seen among random pairs) gets ``u_fallback``
      (about one in the number of pairs sampled), not Splink's 1e-6, which would make a rare
      level overwhelming evidence on a small table.
    - A comparison whose exact level ends up with m <= u (EM drifted to a degenerate solution,
      common on small or noise-free tables) gets the declared prior m-probabilities back.
    - No m is left below ``M_FLOOR``: EM on clean data drives the m of a disagreement level to
      ~0, which would let one miskeyed field veto an otherwise certain match.

    Args:
        model: trained model dict (``model_as_dict``).
        priors: the settings dict it was trained from (``build_linkage_settings``).
        u_fallback: u-probability for unobserved levels.

    Returns:
        (repaired model, human-readable list of repairs for the report).
    """
    repaired = copy.deepcopy(model)
    prior_m = {
        (c["output_column_name"], lvl.get("label_for_charts")): lvl.get("m_probability")
        for c in priors["comparisons"]
        for lvl in c["comparison_levels"]
    }
    repairs = []
    for comparison in repaired["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lvl for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")]
        for lvl in levels:
            if "u_probability" not in lvl:
                lvl["u_probability"] = u_fallback
                repairs.append(
                    f"{name}/{lvl.get('label_for_charts')}: u not observed, set to {u_fallback:.3g}"
                )
            if "m_probability" not in lvl:
                lvl["m_probability"] = prior_m[(name, lvl.get("label_for_charts"))]
                repairs.append(f"{name}/{lvl.get('label_for_charts')}: m not estimated, prior used")
        exact = levels[0]
        if exact["m_probability"] <= exact["u_probability"]:
            for lvl in levels:
                lvl["m_probability"] = prior_m[(name, lvl.get("label_for_charts"))]
            repairs.append(f"{name}: EM gave m <= u on the exact level, prior m-probabilities used")
        floored = [lvl for lvl in levels if lvl["m_probability"] < M_FLOOR]
        for lvl in floored:
            lvl["m_probability"] = M_FLOOR
        if floored:
            labels = ", ".join(str(lvl.get("label_for_charts")) for lvl in floored)
            repairs.append(f"{name}: m raised to the floor {M_FLOOR} on {labels}")
    for note in repairs:
        log.info("linkage model repair: %s", note)
    return repaired, repairs
