"""Splink 5 on a pluggable backend: register tables, train, predict, cluster.

The settings dict (pipeline/linkage/model.py) is backend-independent; only the database API
differs. DuckDB is the default (one machine, a county); Spark is the path for national scale and
is only imported when asked for.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from splink import Linker, block_on
from splink.clustering import cluster_pairwise_predictions_at_threshold
from splink.internals.exceptions import SplinkException

from pipeline.linkage.model import DETERMINISTIC_PRIOR_RULES, TRAINING_BLOCKING_RULES

log = logging.getLogger(__name__)
BACKENDS = ("duckdb", "spark")
M_FLOOR = 1e-3  # smallest m-probability kept after training (see repair_trained_parameters)


class LinkageBackendError(RuntimeError):
    """The configured linkage backend cannot be used (unknown, or its library is missing)."""


def make_database_api(backend: str = "duckdb") -> Any:
    """A Splink database API for ``backend`` (``duckdb`` or ``spark``).

    Raises:
        LinkageBackendError: unknown backend, or pyspark not installed for ``spark``.
    """
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI()
    if backend == "spark":
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise LinkageBackendError(
                "link.backend is 'spark' but pyspark is not installed; install pyspark (and Java) "
                "or set link.backend: duckdb"
            ) from exc
        from splink import SparkAPI

        return SparkAPI(spark_session=SparkSession.builder.getOrCreate())
    raise LinkageBackendError(f"unknown link.backend {backend!r}; expected one of {BACKENDS}")


def make_linker(
    tables: dict[str, pd.DataFrame], settings: dict[str, Any] | str, backend: str = "duckdb"
) -> Linker:
    """Register each table under its source name and build a Splink ``Linker``.

    Args:
        tables: source name -> frame with ``unique_id`` and the settings' token columns (all
            frames must share the same columns).
        settings: settings dict or path to a saved model JSON.
        backend: ``duckdb`` or ``spark``.
    """
    db_api = make_database_api(backend)
    registered = [db_api.register(df, dataset_display_name=name) for name, df in tables.items()]
    return Linker(registered if len(registered) > 1 else registered[0], settings, log_level=logging.WARNING)


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


def train_linkage_model(
    tables: dict[str, pd.DataFrame],
    settings: dict[str, Any],
    *,
    backend: str,
    n_records: int,
    seed: int,
    u_max_pairs: float,
    prior_recall: float,
) -> tuple[dict[str, Any], list[str]]:
    """Estimate prior, u (random sampling, fixed seed) and m (EM on each training blocking rule).

    An EM session that fails (too few pairs, or a level with no disagreement among matches, where
    m underflows) leaves Splink's linker half-updated, so the model is snapshotted before each
    session and restored from the snapshot on failure: the declared prior m-probabilities stay for
    the comparisons that session would have trained. ``n_records`` (all input records) sets the
    fallback prior ``1 / n_records`` (about one match per record).

    Returns:
        (trained model dict, notes naming each EM session's outcome, for the report).
    """
    linker = make_linker(tables, settings, backend)
    estimate_prior_match_probability(linker, prior_recall, 1.0 / max(n_records, 2))
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    available = _available_columns(linker)
    notes = []
    for rule in TRAINING_BLOCKING_RULES:
        if not set(rule) <= available:
            continue
        snapshot = model_as_dict(linker)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*rule), estimate_without_term_frequencies=True
            )
            notes.append(f"EM trained on blocking rule {' AND '.join(rule)}")
        except (SplinkException, ValueError, ZeroDivisionError) as exc:
            log.warning("EM on %s did not run (%s); keeping prior m-probabilities", "+".join(rule), exc)
            notes.append(f"EM on blocking rule {' AND '.join(rule)} failed; prior m-probabilities kept")
            linker = make_linker(tables, snapshot, backend)
    return model_as_dict(linker), notes


def predict_pairs(linker: Linker, threshold_match_probability: float) -> pd.DataFrame:
    """Score blocked pairs; keep those at or above the threshold.

    Returns:
        Columns ``source_dataset_l/_r`` (when several inputs), ``unique_id_l/_r``,
        ``match_weight``, ``match_probability`` and ``gamma_<comparison>`` levels.
    """
    predictions = linker.inference.predict(
        threshold_match_probability=threshold_match_probability, warning_mode="never"
    )
    return predictions.as_pandas_dataframe()


def model_as_dict(linker: Linker) -> dict[str, Any]:
    """The trained model (settings + m/u parameters) as a JSON-able, backend-independent dict.

    Splink stamps its SQL dialect and a run id into the dict; both are dropped so the same JSON
    loads on DuckDB or Spark and two runs on the same data give the same file.
    """
    return _without_keys(linker.misc.save_model_to_json(), {"sql_dialect", "linker_uid"})


def _without_keys(obj: Any, keys: set[str]) -> Any:
    if isinstance(obj, dict):
        return {k: _without_keys(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [_without_keys(v, keys) for v in obj]
    return obj


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
    repaired = _without_keys(model, set())
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


def cluster_connected_components(
    nodes: pd.DataFrame, edges: pd.DataFrame, backend: str = "duckdb"
) -> pd.DataFrame:
    """Connected components of ``edges`` over ``nodes`` (every edge is a link).

    Args:
        nodes: column ``node_id`` (str), one row per record.
        edges: columns ``node_id_l``, ``node_id_r``.

    Returns:
        Columns ``node_id``, ``cluster_id``.
    """
    db_api = make_database_api(backend)
    cc = cluster_pairwise_predictions_at_threshold(
        nodes[["node_id"]], edges[["node_id_l", "node_id_r"]], db_api=db_api, node_id_column_name="node_id"
    )
    return cc.as_pandas_dataframe()[["node_id", "cluster_id"]]
