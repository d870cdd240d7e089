"""The rows a model's learners are fitted on when a county is very large (issue #17: 1,000,000 people).

At 300,000 people the emergency-admission model's training years hold 2.8 million person-years and its fit took
21 minutes; the learners' cost grows with the rows. Past ``train.max_training_rows`` the train stage
(``models.train_stage``) fits them on a seeded sample of whole people instead, and says so in run.json and on the
card (``training_sample``); the years the model is calibrated, judged and scored on are never sampled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def training_sample(features: pd.DataFrame, train_years: list[int], max_rows: int | None, seed: int
                    ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows the learners are fitted on: every row, or, when the training years hold more than ``max_rows``
    rows, a seeded sample of whole people (all their training-year rows) holding at most ``max_rows``.

    People, not rows: a person's index years are alike, so rows sampled apart would put the same person in the
    trees' early-stopping year and the years they were grown on. Not stratified by outcome: a simple sample keeps
    the outcome's rate, so the learners need no weights and their scores stay on the population's scale; a
    county large enough to be sampled has positives to spare. Rows of the validation, test and score years
    (and any other year) are all kept, so calibration and evaluation see every person.

    Args:
        features: the features frame (``person_id, index_year, outcome``).
        train_years: the spec's training years.
        max_rows: the cap (``train.max_training_rows``; None = no cap).
        seed: the spec's seed (the same county and spec give the same people).

    Returns:
        ``(rows, summary)``: ``rows`` is ``features`` or its sampled subset (index kept); ``summary`` is run.json's
        ``training_sample``: ``sampled, max_rows, rows, rows_fitted, people, people_fitted, positives,
        positives_fitted, seed, description``.
    """
    in_train = features["index_year"].astype("int64").isin([int(y) for y in train_years]).to_numpy()
    train = features.loc[in_train, ["person_id", "outcome"]]
    people = train["person_id"].astype("str")
    per_person = people.value_counts(sort=False).sort_index()
    summary: dict[str, Any] = {"sampled": False, "max_rows": max_rows, "rows": int(len(train)),
                               "rows_fitted": int(len(train)), "people": int(len(per_person)),
                               "people_fitted": int(len(per_person)), "positives": int(train["outcome"].sum()),
                               "positives_fitted": int(train["outcome"].sum()), "seed": int(seed)}
    if max_rows is None or len(train) <= max_rows:
        summary["description"] = f"every training row ({len(train):,} rows of {len(per_person):,} people)"
        return features, summary
    order = np.random.default_rng(seed).permutation(len(per_person))
    kept_people = per_person.index[order][np.cumsum(per_person.to_numpy()[order]) <= max_rows]
    chosen = people.isin(kept_people).to_numpy()
    keep = ~in_train
    keep[in_train] = chosen
    fitted = features.loc[keep]
    positives = int(train.loc[chosen, "outcome"].sum())
    summary |= {"sampled": True, "rows_fitted": int(in_train[keep].sum()), "people_fitted": int(len(kept_people)),
                "positives_fitted": positives}
    summary["description"] = (
        f"fitted on {summary['rows_fitted']:,} of the {len(train):,} training-year rows: a seeded random sample of "
        f"{len(kept_people):,} of {len(per_person):,} people with all their training years (seed {seed}; "
        f"train.max_training_rows {max_rows:,}), {positives:,} of {summary['positives']:,} positive outcomes; "
        "the validation, test and score years are not sampled")
    return fitted, summary
