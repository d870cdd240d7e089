"""The released learner's model-neutral score columns, and files written under the old LightGBM names."""

import pandas as pd
import pytest

from models.evaluate_stage import read_scores
from models.score_columns import RELEASED_MARGIN, RELEASED_SCORE, ScoresFromOlderRun, check_score_columns
from models.training import SCORE_COLUMNS
from pipeline.core.io import write_parquet


def _scores(score: str, margin: str) -> pd.DataFrame:
    return pd.DataFrame({"person_id": ["a", "b"], "index_date": pd.to_datetime(["2024-03-31"] * 2),
                         "split": ["test", "test"], "outcome": [1, 0], score: [0.7, 0.2], margin: [1.5, -0.3]})


def test_the_scores_contract_names_the_released_learner_not_lightgbm():
    assert RELEASED_SCORE in SCORE_COLUMNS and RELEASED_MARGIN in SCORE_COLUMNS
    assert not [c for c in SCORE_COLUMNS if "lightgbm" in c]


def test_a_file_with_the_old_names_is_refused_with_the_file_and_what_to_do(tmp_path):
    path = write_parquet(_scores("score_lightgbm", "margin_lightgbm"), tmp_path / "scores.parquet")
    with pytest.raises(ScoresFromOlderRun) as caught:
        read_scores(path)
    message = str(caught.value)
    assert str(path) in message
    assert "score_lightgbm (now score_released)" in message and "margin_lightgbm (now margin_released)" in message
    assert "train" in message


def test_a_file_with_the_new_names_reads_unchanged(tmp_path):
    frame = _scores(RELEASED_SCORE, RELEASED_MARGIN)
    read = read_scores(write_parquet(frame, tmp_path / "scores.parquet"))
    assert read[RELEASED_SCORE].tolist() == [0.7, 0.2]


def test_only_the_old_margin_is_refused_too():
    with pytest.raises(ScoresFromOlderRun, match="margin_lightgbm"):
        check_score_columns(["person_id", "margin_lightgbm"], "backtest_scores.parquet")
    check_score_columns(["person_id", RELEASED_SCORE, RELEASED_MARGIN, "score_logistic"], "scores.parquet")
