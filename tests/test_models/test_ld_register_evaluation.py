"""The older-carer register's own evaluation block, its card section and its checklist item (issue #18): the rule
and the penalised model judged with the uncertainty of few events, "too few events to estimate" said in words,
and the IG board asked about scoring a person on their carers' records only for models that do."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ethics.card.ld_register import TOO_FEW, describe_register, register_table
from ethics.checklist import CHECKLIST_FILE, THRESHOLDS_FILE, Checklist, parse_checklist
from ethics.gate import evaluate_gate
from ethics.gate_evidence import GateEvidence
from ethics.thresholds import model_thresholds
from features.ld_older_carer import FEATURE_COLUMNS
from models.ld_register_evaluation import register_block
from pipeline.core.io import read_yaml


def _register(n_per_year: int, rate: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Register rows 2014-2025 whose moves follow a sole, old and frail carer; and pipeline scores for them."""
    rng = np.random.default_rng(seed)
    years = np.repeat(np.arange(2014, 2026), n_per_year)
    n = years.size
    rows = pd.DataFrame({"person_id": [f"P{i:05d}" for i in range(n)],
                         "index_date": pd.to_datetime([f"{y}-03-31" for y in years]), "index_year": years,
                         "age": rng.uniform(20, 70, n), "sole_carer": rng.integers(0, 2, n),
                         "carer_age_min": rng.uniform(70, 95, n), "carer_efi_max": rng.integers(0, 12, n),
                         "carer_ltc_max": rng.integers(0, 6, n), "carer_dementia": rng.integers(0, 2, n),
                         "carer_emergency_12m": rng.poisson(0.3, n), "carer_assessed_ever": rng.integers(0, 2, n),
                         "carer_own_care_ever": rng.integers(0, 2, n), "person_care_12m": rng.poisson(0.1, n)})
    rows["carer_age_max"] = rows["carer_age_min"] + rng.uniform(0, 5, n) * (1 - rows["sole_carer"])
    logit = np.log(rate / (1 - rate)) + 1.2 * rows["sole_carer"] + 0.08 * (rows["carer_age_min"] - 80) \
        + 0.15 * (rows["carer_efi_max"] - 6)
    rows["outcome"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("Int8")
    scores = rows[["person_id", "index_date"]].assign(score_released=rng.random(n), score_logistic=rng.random(n))
    return rows, scores


def test_a_county_with_enough_moves_gets_intervals_for_the_rule_and_the_penalised_model():
    rows, scores = _register(400, 0.08)
    block = register_block(rows, scores, list(FEATURE_COLUMNS), list(range(2014, 2025)), 2025, 40)
    assert block["model_fitted"] and block["note"] is None and block["events"] >= 10
    assert set(block["scores"]) == {"rule", "model", "lightgbm", "logistic"}
    model, noise = block["scores"]["model"], block["scores"]["lightgbm"]
    assert model["auroc_ci"][0] < model["auroc"] < model["auroc_ci"][1]
    assert model["auroc"] > noise["auroc"]  # the pipeline's scores here are noise; the model is not
    assert model["top_k"]["k"] == 40 and model["observed_expected"]["low"] <= model["observed_expected"]["ratio"]
    table = register_table(block)
    assert len(table.rows) == 4 and TOO_FEW not in str(table.rows)


def test_too_few_moves_are_said_in_words_and_the_model_is_not_fitted():
    rows, scores = _register(40, 0.004, seed=3)
    block = register_block(rows, scores, list(FEATURE_COLUMNS), list(range(2014, 2025)), 2025, 5)
    assert block["train_events"] < 10 and not block["model_fitted"] and block["note"] == TOO_FEW
    assert "model" not in block["scores"] and block["scores"]["rule"]["auroc"] is None
    text = describe_register(block)
    assert "not fitted" in text and TOO_FEW in text
    assert all(row[1] == TOO_FEW for row in register_table(block).rows)
    assert describe_register(None) == "" and not register_table(None).rows


def _carer_item(feature_columns: list[str]) -> dict:
    checklist = parse_checklist(read_yaml(CHECKLIST_FILE))
    only = Checklist(items=[checklist.item("carer_records")])
    # a version of the register's population (the item is on no other population's checklist)
    evidence = GateEvidence(metrics={}, group_metrics=pd.DataFrame(),
                            run={"feature_columns": feature_columns, "population": "ld_register"},
                            thresholds_sha256="", split_years=pd.DataFrame())
    thresholds = model_thresholds(read_yaml(THRESHOLDS_FILE), "ld_older_carer")
    return evaluate_gate(only, thresholds, evidence, {}, model="ld_older_carer", version="1")["items"][0]


def test_the_ig_board_must_sign_scoring_a_person_on_their_carers_records():
    item = _carer_item(list(FEATURE_COLUMNS))
    assert item["status"] == "unsigned" and item["role"] == "SIRO"
    other = _carer_item(["referrals_12m"])
    assert other["status"] == "pass" and "not applicable" in other["evidence"]
