"""The older-carer register's own evaluation (``ld_older_carer``, issue #18), beside the general one: the points
rule and the penalised logistic regression of ``models.ld_register``, with the uncertainty of few events.

The spec releases the penalised model (``release: penalised``, ``models.few_events``), or the rule below its
event minimum; this block judges it beside the rule with the uncertainty of few events. It fits the rule (never
learnt; its points mapped to a probability on the training years only to judge calibration) and the L2-penalised
logistic regression whose penalty is chosen by cross-validated log loss (``fit_penalised``), on the training and
validation years, and judges both on the test year, beside the pipeline's logistic regression. Below
``MIN_EVENTS`` events a figure says "too few events to estimate" instead of a number (``evaluate_scores``).
Called by ``models.evaluate_stage`` for the ``ld_register`` population only; written to metrics.json as ``ld_register``.
"""

from __future__ import annotations

import pandas as pd

from models.ld_register import MIN_EVENTS, TOO_FEW, calibrate_points, evaluate_scores, fit_penalised, rule_points
from pipeline.core.io import read_json, read_parquet
from pipeline.core.paths import ProjectPaths

KEYS = ["person_id", "index_date"]
PIPELINE_SCORES = {"lightgbm": "score_released", "logistic": "score_logistic"}
RELEASED_SCORE = {"penalised": "model"}  # the released learner's entry in the block's scores (else its own name)


def register_block(rows: pd.DataFrame, scores: pd.DataFrame, columns: list[str], train_years: list[int],
                   test_year: int, k: int, *, seed: int = 0, released: dict | None = None) -> dict:
    """The ``ld_register`` block.

    Args:
        rows: the features file (``person_id, index_date, index_year, outcome`` and the rule's and ``columns``).
        columns: the model's inputs (the train stage's ``feature_columns``).
        scores: scores.parquet (``person_id, index_date, score_released, score_logistic``).
        train_years: the years the rule's probability map and the penalised model are fitted on.
        k: the people the team can plan with in the test year (the spec's capacity).
        released: run.json ``released`` (``models.few_events``): which learner orders the register and why. When it
            is not LightGBM, ``score_released`` holds that learner's scores, so the pipeline's "lightgbm" entry is
            left out (it would repeat ``model`` or ``rule``).

    Returns:
        ``evaluate_scores``' block (``rows, events, scores``) for ``rule``, ``model`` (the penalised logistic
        regression, absent when not fitted) and the pipeline's ``lightgbm``/``logistic``, plus ``test_year``,
        ``k``, ``train_rows``, ``train_events``, ``model_fitted``, ``note`` (why a figure is missing) and ``released``
        (``{"learner", "score", "why"}``: ``score`` names its entry in ``scores``; None = LightGBM, as before).
    """
    labelled = rows.dropna(subset=["outcome"])
    train = labelled[labelled["index_year"].isin(train_years)]
    test = labelled[labelled["index_year"] == test_year].reset_index(drop=True)
    y_train, y_test = train["outcome"].astype(int).to_numpy(), test["outcome"].astype(int).to_numpy()
    points = {"rule": rule_points(test)}
    probabilities = {}
    mapping = calibrate_points(rule_points(train), y_train)
    if mapping is not None:
        probabilities["rule"] = mapping.predict_proba(points["rule"].reshape(-1, 1))[:, 1]
    model = fit_penalised(train, y_train, columns, seed=seed)
    if model is not None:
        points["model"] = probabilities["model"] = model.predict_proba(test[list(columns)].astype("float64"))[:, 1]
    joined = test[KEYS].merge(scores[[*KEYS, *PIPELINE_SCORES.values()]], on=KEYS, how="left",
                              validate="one_to_one")
    learner = (released or {}).get("learner", "lightgbm")
    for name, column in PIPELINE_SCORES.items():
        if name == "lightgbm" and learner != "lightgbm":
            continue
        if joined[column].notna().all():
            points[name] = probabilities[name] = joined[column].to_numpy(dtype="float64")
    block = evaluate_scores(y_test, points, probabilities, k, seed=seed) if len(test) else {
        "rows": 0, "events": 0, "scores": {}}
    enough = int(y_train.sum()) >= MIN_EVENTS and len(y_train) - int(y_train.sum()) >= MIN_EVENTS
    block.update(test_year=test_year, k=k, train_rows=len(train), train_events=int(y_train.sum()),
                 model_fitted=model is not None,
                 note=None if enough and block["events"] >= MIN_EVENTS else TOO_FEW,
                 released=None if learner == "lightgbm" else {
                     "learner": learner, "score": RELEASED_SCORE.get(learner, learner), "why": released.get("why")})
    return block


def register_metrics(model: str, scores: pd.DataFrame, paths: ProjectPaths, spec, columns: list[str]) -> dict:
    """The block for the spec's test year, from the features file and ``scores`` (scores.parquet); ``columns``:
    the model's inputs as the train stage recorded them (run.json ``feature_columns``)."""
    rows = read_parquet(paths.features_table(model))
    run_file = paths.model_artifacts(model) / "run.json"
    released = read_json(run_file).get("released") if run_file.exists() else None
    train_years = [*spec.split.train_years, spec.split.validation_year]
    return register_block(rows, scores, list(columns), train_years, spec.split.test_year,
                          spec.capacity_in(spec.split.test_year), seed=spec.seed, released=released)
