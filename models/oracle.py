"""Synthetic truth's outcome probabilities on the linked persons (evaluation only, never training).

Truth is keyed by the TRUE person; the pipeline knows only linked persons. Each linked person takes
the true person most of its records belong to (ties: the smallest id), so linkage errors show up
as a generator-probability baseline that is slightly worse than perfect, as they would in a real county.
The generator's probability is of the true outcome; :func:`recorded_label_probability` turns it into the
probability of the label as recorded, which is what the models predict and evaluation judges.
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
    """``scores`` with ``p_true`` and, where truth has them, ``p_state`` and ``true_outcome`` (NaN where the
    row's person or index year is not in truth).

    Rows are matched on the index YEAR: each spec has one index date a year, and the simulation's
    own index dates can sit a few days from the census dates the features use.

    Args:
        scores: ``person_id, index_date`` and anything else.
        person_map: ``linked_to_true_person`` output.
        truth_outcome: ``person_id`` (true), ``index_date``, ``p_true`` and optionally ``p_state`` (the
            generator's probability without what no record holds: ``models.generator_yardstick``) and
            ``outcome`` (the simulated true outcome, before any recording).
    """
    columns = ["p_true", *(c for c in ("p_state", "outcome") if c in truth_outcome.columns)]
    truth = truth_outcome[["person_id", "index_date", *columns]].rename(
        columns={"person_id": "true_person_id", "outcome": "true_outcome"})
    truth = truth.assign(_year=pd.to_datetime(truth["index_date"]).dt.year).drop(columns="index_date")
    truth = truth.drop_duplicates(["true_person_id", "_year"])
    keyed = scores[["person_id", "index_date"]].assign(
        person_id=scores["person_id"].astype(str), _year=pd.to_datetime(scores["index_date"]).dt.year,
    ).merge(person_map, on="person_id", how="left")
    keyed = keyed.merge(truth, on=["true_person_id", "_year"], how="left")
    keyed.index = scores.index
    attached = scores.assign(p_true=keyed["p_true"].to_numpy())
    if "p_state" in keyed.columns:
        attached["p_state"] = keyed["p_state"].to_numpy()
    if "true_outcome" in keyed.columns:
        attached["true_outcome"] = pd.to_numeric(keyed["true_outcome"].astype("float64"), errors="coerce").to_numpy()
    return attached


def recorded_label_probability(scores: pd.DataFrame, fit_split: str = "train") -> tuple[pd.Series, dict]:
    """The generator's probability of the RECORDED label, from its probability of the true outcome.

    The label the models learn and are judged on is what the services recorded (an NCCIS activity, a
    linked care episode), which can miss a true outcome or record one that did not happen. With
    sensitivity ``se = P(recorded | true)`` and false-positive rate ``fp = P(recorded | not true)``,
    ``P(recorded) = se * p_true + fp * (1 - p_true)``. Both rates are counted on the ``fit_split`` rows
    (the training years: never the test year) that have a matured label and a true outcome.

    Args:
        scores: ``split, outcome`` (recorded), ``p_true`` and ``true_outcome`` (``attach_true_probability``).

    Returns:
        ``(probability, recording)``: the probability per row (NaN where ``p_true`` is), and
        ``{"fitted_on", "rows", "sensitivity", "false_positive_rate"}`` (rates None when undefined;
        an undefined rate is taken as 1 for ``se`` and 0 for ``fp``: the label as recorded).
    """
    rows = scores[(scores["split"] == fit_split) & scores["outcome"].notna() & scores["true_outcome"].notna()]
    recorded, true = rows["outcome"].astype("float64"), rows["true_outcome"].astype("float64")
    se = float(recorded[true == 1].mean()) if (true == 1).any() else None
    fp = float(recorded[true == 0].mean()) if (true == 0).any() else None
    probability = scores["p_true"] * (1.0 if se is None else se) + (1 - scores["p_true"]) * (fp or 0.0)
    return probability, {"fitted_on": fit_split, "rows": int(len(rows)), "sensitivity": se,
                         "false_positive_rate": fp}
