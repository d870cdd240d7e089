"""Synthetic truth's outcome probabilities on the linked persons (evaluation only, never training).

Truth is keyed by the TRUE person; the pipeline knows only linked persons. Each linked person takes
the true person most of its records belong to (ties: the smallest id), so linkage errors show up
as a generator-probability baseline that is slightly worse than perfect, as they would in a real county.
The probability is the generator's for the true outcome; evaluation judges it against the recorded label,
as it judges the models.
"""

from __future__ import annotations

import pandas as pd


def linked_to_true_person(person_index: pd.DataFrame, truth_keys: pd.DataFrame) -> pd.DataFrame:
    """The majority true person of each linked person.

    Args:
        person_index: ``table, record_key_tok, person_id`` (data/linked/person_index.parquet).
        truth_keys: ``source, record_key_tok, true_person_id`` (``tokenise_truth_keys``).

    Returns:
        ``person_id`` (linked, str), ``true_person_id`` (int).
    """
    joined = person_index[["table", "record_key_tok", "person_id"]].merge(
        truth_keys.rename(columns={"source": "table"}), on=["table", "record_key_tok"], how="inner")
    joined["true_person_id"] = joined["true_person_id"].astype("int64")
    counts = joined.groupby(["person_id", "true_person_id"]).size().rename("records").reset_index()
    counts = counts.sort_values(["person_id", "records", "true_person_id"], ascending=[True, False, True])
    best = counts.drop_duplicates("person_id")[["person_id", "true_person_id"]]
    return best.assign(person_id=best["person_id"].astype(str)).reset_index(drop=True)


def attach_true_probability(scores: pd.DataFrame, person_map: pd.DataFrame, truth_outcome: pd.DataFrame
                            ) -> pd.DataFrame:
    """``scores`` with ``p_true`` (NaN where the row's person or index year is not in truth).

    Rows are matched on the index YEAR: each spec has one index date a year, and the simulation's
    own index dates can sit a few days from the census dates the features use.

    Args:
        scores: ``person_id, index_date`` and anything else.
        person_map: ``linked_to_true_person`` output.
        truth_outcome: ``person_id`` (true), ``index_date``, ``p_true``.
    """
    truth = truth_outcome[["person_id", "index_date", "p_true"]].rename(columns={"person_id": "true_person_id"})
    truth = truth.assign(_year=pd.to_datetime(truth["index_date"]).dt.year).drop(columns="index_date")
    truth = truth.drop_duplicates(["true_person_id", "_year"])
    keyed = scores[["person_id", "index_date"]].assign(
        person_id=scores["person_id"].astype(str), _year=pd.to_datetime(scores["index_date"]).dt.year,
    ).merge(person_map, on="person_id", how="left")
    keyed = keyed.merge(truth, on=["true_person_id", "_year"], how="left")
    keyed.index = scores.index
    return scores.assign(p_true=keyed["p_true"].to_numpy())
