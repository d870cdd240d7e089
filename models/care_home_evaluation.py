"""The ``competing_risks`` block of ``care_home_admission``'s metrics.json: a care home or death first (issue #18).

Beside LightGBM and the logistic regression, two cause-specific Cox models (``models.competing_risks``) are
fitted on the same training rows and inputs: one for a move into a care home (deaths censored), one for death
(care homes censored). They are fitted here, at evaluation, because they are a yardstick for the released
model and a way to read its list, not a model that is released (on at most
``models.competing_risks.MAX_FIT_ROWS`` training rows, a seeded simple random sample in a larger county:
sksurv's Cox fit loops over rows). Then, on the test year:

- **cumulative incidence by risk band** of the released model's list (LightGBM's ranking; bands
  ``CIF_BANDS``: the top 1%, 1-5%, 5-20% and the rest), of a care home and of death first, at 12 and 24
  months, with 95% pointwise log-log intervals (``sksurv``'s own, Aalen variance), beside the Cox models'
  mean predicted incidence of a care home in each band (calibration by band);
- **discrimination**: Harrell's and Uno's C of the care-home model, its AUROC for the 12-month label
  (ranked by its predicted incidence, death competing) beside LightGBM's and the logistic's on the same rows;
- **the 24-month horizon** on the same rows, only where the 24 months have ended by the extract date;
  otherwise ``status: not matured`` and the date they will have, and the same figures for the latest index
  year whose 24 months have ended (the validation year, which tuned the released model's stopping and
  calibration on its 12-month labels: read its figures as optimistic).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.adult_metrics import auroc, risk_rank
from models.competing_risks import (
    CARE_HOME,
    CIF_BANDS,
    DEATH,
    concordance,
    cumulative_incidence,
    design,
    fit_cause_specific,
    fitting_rows,
    follow_up,
    harrell_c,
    horizon_days,
    predicted_incidence,
)
from models.evaluation import MODEL_SCORES
from models.preprocess import categorical_columns
from pipeline.core.io import parquet_columns, read_parquet
from pipeline.core.paths import ProjectPaths

KEYS = ["person_id", "index_date"]
FOLLOW_UP_COLUMNS = ("followup_days", "followup_event", "outcome_24m", "matured_24m")
RELEASED = "lightgbm"  # the list is LightGBM's ranking; bands are read off it
COMPARED = ("lightgbm", "logistic")
HORIZONS = (12, 24)
NOT_ESTIMABLE = "not estimable"


def _incidence_at(time: np.ndarray, event: np.ndarray, days: dict[int, int], matured: dict[int, bool]) -> dict:
    """Aalen-Johansen figures per horizon in months: the dict of ``cumulative_incidence``, or not matured."""
    figures = cumulative_incidence(time, event, [days[m] for m in HORIZONS])
    return {f"{m}m": figures[i] if matured[m] else {"day": days[m], "status": "not matured"}
            for i, m in enumerate(HORIZONS)}


def incidence_by_band(rows: pd.DataFrame, ranking: str, predicted: np.ndarray, days: dict[int, int],
                      matured: dict[int, bool], *, seed: int, bands=CIF_BANDS) -> list[dict]:
    """Per band of the list (``ranking``, highest first, ties seeded as the list breaks them): people, care-home
    entries and deaths seen in the follow-up, the cumulative incidence at each horizon, and the Cox models'
    mean predicted 12-month incidence of a care home (``predicted``, aligned with ``rows``)."""
    share = risk_rank(rows[ranking], seed).to_numpy() / max(len(rows), 1)
    time, event = follow_up(rows)
    out = []
    for low, high, label in bands:
        inside = (share >= low) & (share < high)
        band: dict = {"band": label, "people": int(inside.sum()),
                      "care_home_entries": int((event[inside] == CARE_HOME).sum()),
                      "deaths_first": int((event[inside] == DEATH).sum())}
        if inside.any():
            band.update(_incidence_at(time[inside], event[inside], days, matured))
            band["cox_predicted_care_home_12m"] = float(predicted[inside].mean())
        out.append(band)
    return out


def horizon_figures(rows: pd.DataFrame, predicted_24m: np.ndarray, time: np.ndarray, event: np.ndarray,
                    day: int) -> dict:
    """The 24-month outcome on rows whose 24 months have ended: AUROC of each model's ranking and of the Cox
    models' predicted incidence, and calibration of that prediction against the Aalen-Johansen estimate."""
    observed = cumulative_incidence(time, event, [day])[0]["care_home"]
    expected = float(predicted_24m.mean())
    ranks = {name: auroc(rows["outcome_24m"], rows[MODEL_SCORES[name][0]]) for name in COMPARED}
    ranks["cause_specific_cox"] = auroc(rows["outcome_24m"], pd.Series(predicted_24m, index=rows.index))
    return {"rows": int(len(rows)), "care_home_rate": float(rows["outcome_24m"].astype("float64").mean()),
            "auroc": ranks, "calibration": {"mean_predicted": expected, "observed_cumulative_incidence": observed,
                                            "observed_to_expected": observed / expected if expected > 0 else None}}


def competing_risks_block(rows: pd.DataFrame, feature_columns: list[str], *, seed: int) -> dict:
    """The ``competing_risks`` block (see the module docstring).

    Args:
        rows: every split's rows (``split, outcome, margin_*``, the model inputs, ``index_date`` and
            ``FOLLOW_UP_COLUMNS``); the Cox models fit on ``split == "train"``, the figures are of ``test``.
        feature_columns: the model inputs (run.json).
        seed: the spec's seed (ties at a band's edge broken as the list breaks them).

    Returns:
        the block; ``{"status": "not estimable", "reason": ...}`` when the test year has no labelled row or no
        training row ends in a care home or in a death (a Cox model needs events of its cause).
    """
    labelled = rows[rows["outcome"].notna()]
    train = labelled[labelled["split"] == "train"].reset_index(drop=True)
    test = labelled[labelled["split"] == "test"].reset_index(drop=True)
    validation = labelled[labelled["split"] == "validation"].reset_index(drop=True)
    train_time, train_event = follow_up(train)
    missing = [name for name, code in (("a care home", CARE_HOME), ("a death", DEATH))
               if not (train_event == code).any()]
    if test.empty or missing:
        why = "no labelled test rows" if test.empty else "no training row ends in " + " or ".join(missing)
        return {"status": NOT_ESTIMABLE, "reason": why}
    fit = fitting_rows(len(train), seed)
    prep = design(train.iloc[fit], feature_columns, categorical_columns(train, feature_columns), seed)
    X_train = prep.matrix(train.iloc[fit])
    models = {cause: fit_cause_specific(X_train, train_time[fit], train_event[fit], code)
              for cause, code in (("care_home", CARE_HOME), ("death", DEATH))}
    first = test["index_date"].min()
    days = {m: horizon_days(first, m) for m in HORIZONS}
    matured = {12: True, 24: bool(test["matured_24m"].all())}
    X_test = prep.matrix(test)
    time, event = follow_up(test)
    predicted = {m: predicted_incidence(models["care_home"], models["death"], X_test, days[m]) for m in HORIZONS}
    risk = models["care_home"].predict(X_test)
    observed_12m = cumulative_incidence(time, event, [days[12]])[0]["care_home"]
    block: dict = {
        "test_year": int(first.year), "bands_ranked_by": RELEASED, "horizon_days": {f"{m}m": days[m] for m in HORIZONS},
        "interval": "the 95% pointwise log-log interval of the Aalen-Johansen estimate (sksurv, Aalen variance)",
        "training": {"rows": int(len(train)), "rows_fitted": int(len(fit)),
                     "care_home_entries": int((train_event == CARE_HOME).sum()),
                     "deaths_first": int((train_event == DEATH).sum()), "inputs": int(X_train.shape[1])},
        "test": {"rows": int(len(test)), "care_home_entries": int((event == CARE_HOME).sum()),
                 "deaths_first": int((event == DEATH).sum()), "censored_early": int(((event == 0)
                                                                                   & (time <= days[12])).sum())},
        "overall": _incidence_at(time, event, days, matured),
        "by_band": incidence_by_band(test, MODEL_SCORES[RELEASED][0], predicted[12], days, matured, seed=seed),
        "cause_specific_cox": {
            "care_home_concordance": concordance(train_time, train_event, time, event, risk, float(days[12])),
            "death_harrell_c": harrell_c(event == DEATH, time, models["death"].predict(X_test)),
            "auroc_12m": auroc(test["outcome"], pd.Series(predicted[12])),
            "calibration_12m": {"mean_predicted": float(predicted[12].mean()),
                                "observed_cumulative_incidence": observed_12m},
        },
        "auroc_12m": {name: auroc(test["outcome"], test[MODEL_SCORES[name][0]]) for name in COMPARED},
    }
    block["horizon_24m"] = {"status": "matured", **horizon_figures(test, predicted[24], time, event, days[24])} \
        if matured[24] else {"status": "not matured",
                             "matures_on": (first + pd.DateOffset(months=24)).date().isoformat()}
    if not matured[24] and len(validation) and validation["matured_24m"].all():
        v_first = validation["index_date"].min()
        v_day = horizon_days(v_first, 24)
        v_time, v_event = follow_up(validation)
        v_pred = predicted_incidence(models["care_home"], models["death"], prep.matrix(validation), v_day)
        block["horizon_24m_latest_matured"] = {
            "index_year": int(v_first.year), "split": "validation",
            "note": "this year's 12-month labels tuned the released model's stopping and calibration: optimistic",
            **horizon_figures(validation, v_pred, v_time, v_event, v_day),
            "overall": cumulative_incidence(v_time, v_event, [v_day])[0]}
    return block


def competing_risks_metrics(model: str, scores: pd.DataFrame, paths: ProjectPaths, feature_columns: list[str],
                            seed: int) -> dict | None:
    """The block for a model whose features file holds the follow-up columns, else None.

    Args:
        scores: scores.parquet (every split).
        feature_columns: run.json ``feature_columns``.
    """
    features_file = paths.features_table(model)
    available = parquet_columns(features_file)
    if not all(c in available for c in FOLLOW_UP_COLUMNS):
        return None
    features = read_parquet(features_file, columns=[*KEYS, *feature_columns, *FOLLOW_UP_COLUMNS])
    keep = [*KEYS, "split", "outcome", *(MODEL_SCORES[name][0] for name in COMPARED)]
    rows = scores[keep].merge(features, on=KEYS, how="left", validate="one_to_one")
    return competing_risks_block(rows, feature_columns, seed=seed)
