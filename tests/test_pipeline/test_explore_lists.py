"""Notebook 3's count of the features behind listed reasons, from risk_list.parquet's ``reason_<i>_feature``."""

from __future__ import annotations

import pandas as pd

from pipeline.explore.lists import factor_counts, load_reason_features


def test_each_person_counts_once_per_feature_and_missing_reasons_count_for_nothing():
    reasons = pd.DataFrame({
        "rank": [1, 2, 3, 4],
        "reason_1_feature": ["absence", "absence", "referrals", None],
        "reason_2_feature": ["referrals", None, "referrals", None],
        "reason_1_text": ["missed 14% ...", "missed 9% ...", "2 referrals ...", "no single factor stands out"]})
    counts = factor_counts(reasons, {"absence": "Sessions missed without authorisation"})
    assert counts.to_dict("list") == {
        "factor": ["Sessions missed without authorisation", "referrals"], "feature": ["absence", "referrals"],
        "people": [2, 2], "share": [0.5, 0.5]}
    assert factor_counts(reasons.iloc[0:0]).empty


def test_the_reason_features_are_read_without_tokens_in_reason_order(tmp_path):
    folder = tmp_path / "outputs" / "risk_lists" / "m1"
    folder.mkdir(parents=True)
    pd.DataFrame({"rank": [1, 2], "person_token": ["T1", "T2"], "reason_10_feature": [None, None],
                  "reason_2_feature": ["b", None], "reason_1_feature": ["a", "a"],
                  "reason_1_text": ["x", "y"]}).to_parquet(folder / "risk_list.parquet")
    frame = load_reason_features(tmp_path, "m1")
    assert frame.columns.tolist() == ["rank", "reason_1_feature", "reason_2_feature", "reason_10_feature"]
    counts = factor_counts(frame, {})
    assert counts[["feature", "people"]].to_dict("list") == {"feature": ["a", "b"], "people": [2, 1]}
