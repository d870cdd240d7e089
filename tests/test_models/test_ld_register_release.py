"""The older-carer register releases its penalised model (issue #18): the evaluation block and the card section
say which learner orders the register and why, and no row repeats it under LightGBM's name."""

from __future__ import annotations

from ethics.card.ld_register import RELEASED_MARK, describe_register, register_table
from features.ld_older_carer import FEATURE_COLUMNS
from models.ld_register_evaluation import register_block
from models.spec import load_model_spec

from .test_ld_register_evaluation import _register

WHY = "named by the model's spec, release: penalised"


def test_the_register_spec_releases_the_penalised_model():
    assert load_model_spec("ld_older_carer").release == "penalised"


def test_the_released_learner_leads_the_card_table_and_is_not_repeated():
    rows, scores = _register(400, 0.08)
    block = register_block(rows, scores, list(FEATURE_COLUMNS), list(range(2014, 2025)), 2025, 40,
                           released={"learner": "penalised", "requested": "penalised", "why": WHY})
    # score_released holds the released learner's scores: no "LightGBM" row beside the penalised model
    assert set(block["scores"]) == {"rule", "model", "logistic"}
    assert block["released"] == {"learner": "penalised", "score": "model", "why": WHY}
    table = register_table(block)
    assert table.rows[0][0].endswith(RELEASED_MARK) and "penalised" in table.rows[0][0]
    assert sum(RELEASED_MARK in row[0] for row in table.rows) == 1
    text = describe_register(block)
    assert f"ordered by the penalised logistic regression ({WHY})" in text and "LightGBM is not used" in text


def test_below_the_event_minimum_the_card_says_the_rule_orders_the_register():
    rows, scores = _register(40, 0.004, seed=3)
    why = "the penalised model needs at least 10 events: the rule is released instead"
    block = register_block(rows, scores, list(FEATURE_COLUMNS), list(range(2014, 2025)), 2025, 5,
                           released={"learner": "rule", "requested": "penalised", "why": why})
    assert block["released"]["score"] == "rule" and not block["model_fitted"]
    first = register_table(block).rows[0][0]
    assert first.startswith("points rule") and RELEASED_MARK in first
    text = describe_register(block)
    assert "ordered by the points rule" in text and why in text
    assert "were fitted" not in text  # the penalised model was not fitted: the text must not say it was
