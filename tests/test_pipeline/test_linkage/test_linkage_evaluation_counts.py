"""Pairwise linkage quality counted on integer labels (pipeline/linkage/evaluation.py) equals the plain count by
string keys it replaced (#17: at a million people the by-group counts grouped millions of strings ~80 times)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.linkage.evaluation import GROUP_COLUMNS, evaluate_linkage, pairwise_counts, precision_recall


def _plain_counts(predicted: pd.Series, true: pd.Series) -> dict[str, int]:
    """The count by string keys, as before (``groupby`` leaves missing labels out)."""
    both = pd.DataFrame({"p": predicted.to_numpy(), "t": true.to_numpy()})
    pairs = lambda sizes: int((sizes * (sizes - 1) // 2).sum())  # noqa: E731
    return {"predicted_pairs": pairs(both.groupby("p").size()), "true_pairs": pairs(both.groupby("t").size()),
            "correct_pairs": pairs(both.groupby(["p", "t"]).size())}


def _records(n: int = 4000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, n // 3, n)
    predicted = np.where(rng.random(n) < 0.1, rng.integers(0, n // 3, n), true)  # some merges and splits
    records = pd.DataFrame({
        "source": rng.choice(["school", "health", "social_care", "gp"], n),
        "record_key_tok": [f"k{i:05d}" for i in range(n)],
        "person_id": pd.Series([f"P{i:06d}" for i in predicted], dtype="string"),
        "true_person_id": pd.Series([f"T{i:06d}" for i in true], dtype="string"),
        "ethnicity_group": rng.choice(["White", "Asian", "Black", "Unknown"], n),
        "sex": rng.choice(["F", "M", "Unknown"], n),
        "imd_quintile": rng.choice(["1", "2", "3", "4", "5", "Unknown"], n),
        "age_band": rng.choice(["0-4", "5-10", "25-64", "Unknown"], n),
    })
    return records


def test_pairwise_counts_equal_the_count_by_string_keys_missing_labels_included():
    records = _records()
    p = records["person_id"].mask(np.arange(len(records)) % 97 == 0)  # missing labels count in no cluster
    t = records["true_person_id"].mask(np.arange(len(records)) % 89 == 0)
    for predicted, true in [(records["person_id"], records["true_person_id"]), (p, t), (p.head(0), t.head(0))]:
        assert pairwise_counts(predicted, true) == _plain_counts(predicted, true)
    assert pairwise_counts(p, t)["correct_pairs"] > 0


def test_evaluate_linkage_by_group_equals_the_plain_count():
    records = _records()
    got = evaluate_linkage(records)
    expected = precision_recall(_plain_counts(records["person_id"], records["true_person_id"]))
    assert {k: got[k] for k in expected} == expected
    from pipeline.linkage.evaluation import _cluster_group, _in_source_order

    ordered = _in_source_order(records)
    for column in GROUP_COLUMNS:
        true_group = _cluster_group(records, ordered, "true_person_id", column)
        pred_group = _cluster_group(records, ordered, "person_id", column)
        values = sorted(set(true_group.unique()) | set(pred_group.unique()))
        assert list(got["by_group"][column]) == values
        for value in values:
            in_true, in_pred = records[true_group == value], records[pred_group == value]
            recall = precision_recall(_plain_counts(in_true["person_id"], in_true["true_person_id"]))
            precision = precision_recall(_plain_counts(in_pred["person_id"], in_pred["true_person_id"]))
            assert got["by_group"][column][value] == {"recall": recall["recall"], "precision": precision["precision"],
                                                      "true_pairs": recall["true_pairs"],
                                                      "predicted_pairs": precision["predicted_pairs"]}
    assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1
