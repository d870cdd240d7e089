"""Pairwise linkage quality against synthetic truth (evaluation only, never used to link).

A pair is two source records (cross-source or within-source) in the same person. Precision is the
share of predicted pairs that are true, recall the share of true pairs predicted. Counting uses
cluster contingency sizes (sum of n*(n-1)/2), so a county of 100k records needs no pair listing.

Truth is the synthetic generator's ``data/truth/person_map.parquet``: one row per source record with
``source`` (a registry source name), ``record_key`` (the record's clear person key) and ``person_id``
(the true person).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.sources.registry import person_sources

GROUP_COLUMNS = ("ethnicity_group", "sex", "imd_quintile", "age_band")
# the truth file's columns (pipeline/synthetic writes them): source, clear record key, true person
TRUTH_SOURCE, TRUTH_RECORD_KEY, TRUTH_PERSON = "source", "record_key", "person_id"


def tokenise_truth_keys(person_map: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Tokenise truth's clear record keys exactly as pseudonymise did (same normalisers, domains).

    Each person source's key is tokenised under the privacy action its person table declares for the
    person key column (``upn``: UPN; ``la_child_id``, ``hes_id``, ``ccis_id``: record keys).

    Args:
        person_map: ``source``, ``record_key`` (clear), ``person_id`` (true person).

    Returns:
        ``source``, ``record_key_tok``, ``true_person_id``.
    """
    from pipeline.privacy.reidentify import tokenise_local_ids

    parts = []
    for source in person_sources():
        rows = person_map[person_map[TRUTH_SOURCE] == source.name]
        if rows.empty:
            continue
        tokens = tokenise_local_ids(rows[TRUTH_RECORD_KEY], source.person_key, source.person_key_privacy, key)
        parts.append(
            pd.DataFrame(
                {
                    "source": source.name,
                    "record_key_tok": tokens.to_numpy(),
                    "true_person_id": rows[TRUTH_PERSON].astype("string").to_numpy(),
                }
            )
        )
    truth = pd.concat(parts, ignore_index=True).dropna(subset=["record_key_tok"])
    return truth.drop_duplicates(["source", "record_key_tok"]).astype("string")


def _pairs(sizes: pd.Series | np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def _codes(labels: pd.Series) -> np.ndarray:
    """Cluster labels as integers (-1 where missing): the same partition, counted without string keys."""
    return pd.factorize(labels.to_numpy(), use_na_sentinel=True)[0].astype(np.int64)


def _pair_counts_of_codes(p: np.ndarray, t: np.ndarray) -> dict[str, int]:
    """``pairwise_counts`` of integer labels; a missing label (-1) puts its record in no cluster, as
    ``groupby`` leaves out a missing key."""
    pairs_in = lambda codes: _pairs(np.bincount(codes[codes >= 0])) if len(codes) else 0  # noqa: E731
    both = (p >= 0) & (t >= 0)
    joint = p[both] * (int(t.max(initial=0)) + 1) + t[both]
    return {
        "predicted_pairs": pairs_in(p),
        "true_pairs": pairs_in(t),
        "correct_pairs": _pairs(np.unique(joint, return_counts=True)[1]) if len(joint) else 0,
    }


def pairwise_counts(predicted: pd.Series, true: pd.Series) -> dict[str, int]:
    """Predicted, true and correctly predicted pair counts for aligned cluster labels."""
    return _pair_counts_of_codes(_codes(predicted), _codes(true))


def precision_recall(counts: dict[str, int]) -> dict[str, float | None]:
    """Precision, recall and F1 from ``pairwise_counts`` (None where undefined)."""
    p = counts["correct_pairs"] / counts["predicted_pairs"] if counts["predicted_pairs"] else None
    r = counts["correct_pairs"] / counts["true_pairs"] if counts["true_pairs"] else None
    f1 = 2 * p * r / (p + r) if p and r else None
    return {"precision": p, "recall": r, "f1": f1, **counts}


def _in_source_order(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` sorted by source (registry order), then ``record_key_tok``."""
    rank = records["source"].map({s.name: i for i, s in enumerate(person_sources())})
    return records.assign(_rank=rank).sort_values(["_rank", "record_key_tok"], kind="stable")


def _cluster_group(records: pd.DataFrame, ordered: pd.DataFrame, cluster: str, column: str) -> pd.Series:
    """Each cluster's group: the first known value over its records in source order.

    ``ordered`` is ``_in_source_order(records)``, sorted once for every column and clustering.
    """
    known = ordered[ordered[column] != "Unknown"]
    first = known.drop_duplicates(cluster).set_index(cluster)[column]
    return records[cluster].map(first).fillna("Unknown")


def evaluate_linkage(records: pd.DataFrame, predicted_column: str = "person_id") -> dict:
    """Pairwise precision/recall overall and by group.

    Args:
        records: one row per record with ``source``, ``record_key_tok``, ``true_person_id``,
            the predicted cluster column and ``GROUP_COLUMNS``.

    Returns:
        ``precision``, ``recall``, ``f1``, pair counts, and ``by_group`` -> column -> value ->
        {precision (clusters grouped by prediction), recall (grouped by truth), pair counts}.
    """
    # labels as integers once: every group's counts below are then numpy work on masks (a county's
    # millions of records were grouped by string keys four times for each of about twenty groups)
    p, t = _codes(records[predicted_column]), _codes(records["true_person_id"])
    result = precision_recall(_pair_counts_of_codes(p, t))
    by_group: dict[str, dict] = {}
    ordered = _in_source_order(records)
    for column in GROUP_COLUMNS:
        true_group = _cluster_group(records, ordered, "true_person_id", column).to_numpy()
        pred_group = _cluster_group(records, ordered, predicted_column, column).to_numpy()
        by_group[column] = {}
        for value in sorted(set(true_group) | set(pred_group)):
            in_true, in_pred = true_group == value, pred_group == value
            recall_counts = _pair_counts_of_codes(p[in_true], t[in_true])
            precision_counts = _pair_counts_of_codes(p[in_pred], t[in_pred])
            by_group[column][value] = {
                "recall": precision_recall(recall_counts)["recall"],
                "precision": precision_recall(precision_counts)["precision"],
                "true_pairs": recall_counts["true_pairs"],
                "predicted_pairs": precision_counts["predicted_pairs"],
            }
    result["by_group"] = by_group
    return result


def worst_group_recall(by_group: dict, column: str = "ethnicity_group", min_pairs: int = 20) -> dict | None:
    """The group of ``column`` (excluding Unknown, at least ``min_pairs`` true pairs) with lowest recall."""
    candidates = [
        (v["recall"], k)
        for k, v in by_group.get(column, {}).items()
        if k != "Unknown" and v["recall"] is not None and v["true_pairs"] >= min_pairs
    ]
    if not candidates:
        return None
    recall, group = min(candidates)
    return {"group": group, "recall": recall}

