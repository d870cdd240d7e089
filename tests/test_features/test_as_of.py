"""Features over the person index as it stood on the index date: a planted bridge, labels from the full build."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from features.as_of import full_person_of, with_full_outcome
from features.build import build_features
from models.as_of_evaluation import as_of_linkage_block, found_at_capacity, score_rows

from .conftest import spec_with, tiny_person_index, tiny_tables

EXTRACT = date(2026, 3, 31)
# on the 2020 census day the health record h1 was not yet joined to the pupil: the bridge came later
AS_OF_INDEX = pd.DataFrame([("school", "u1", "A1"), ("social_care", "c1", "A1"), ("health", "h1", "A2"),
                            ("school", "u2", "A3"), ("health", "h3", "A4")],
                           columns=["table", "record_key_tok", "person_id"])


def _spec():
    return spec_with("neet18", index_dates={"first_year": 2018, "last_year": 2020},
                     split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None})


@pytest.fixture(scope="module")
def builds():
    spec = _spec()
    full = build_features(tiny_tables(), tiny_person_index(), spec, EXTRACT)
    as_of = build_features(tiny_tables(), AS_OF_INDEX, spec, EXTRACT, years=[2020])
    return full, as_of


def test_a_bridge_made_later_changes_features_in_the_full_build_only(builds):
    full, as_of = builds
    assert set(as_of.frame["index_year"]) == {2020}  # only the years asked for, reconciled within them
    assert as_of.report["row_reconciliation"]["reconciled"] and as_of.report["leakage_check_passed"]
    p1 = full.frame[(full.frame["person_id"] == "P1") & (full.frame["index_year"] == 2020)].iloc[0]
    a1 = as_of.frame[as_of.frame["person_id"] == "A1"].iloc[0]
    assert p1["ae_attendances_12m"] == 1 and p1["emergency_admissions_12m"] == 1
    assert a1["ae_attendances_12m"] == 0 and a1["emergency_admissions_12m"] == 0 and a1["in_health_ever"] == 0
    assert a1["referrals_ever"] == p1["referrals_ever"] == 2  # what was linked then is still seen


def test_as_of_rows_carry_the_full_builds_label(builds):
    full, as_of = builds
    own = as_of.frame.set_index("person_id")["outcome"]
    assert own["A1"] == 0  # the NCCIS record defining the outcome did not exist on the index date
    labelled, counts = with_full_outcome(as_of.frame, AS_OF_INDEX, tiny_person_index(), full.frame)
    by = labelled.set_index("person_id")
    assert by.loc["A1", "person_id_full"] == "P1" and by.loc["A1", "outcome"] == 1
    assert by.loc["A3", "person_id_full"] == "P2" and by.loc["A3", "outcome"] == 0
    assert counts == {"rows": 2, "rows_matched": 2, "outcome_differs_as_of_records": 1, "rows_only_in_full": 0,
                      "fragments": 0}


def test_majority_of_records_decides_the_full_person_and_fragments_are_counted():
    full_index = pd.DataFrame([("s", "1", "F1"), ("h", "2", "F1"), ("c", "3", "F2"), ("s", "4", "F3"),
                               ("s", "5", "F4")], columns=["table", "record_key_tok", "person_id"])
    as_of_index = pd.DataFrame([("s", "1", "X"), ("h", "2", "X"), ("c", "3", "X"),  # F1 has 2 of X's 3 records
                                ("s", "4", "Y"), ("s", "9", "Y"),                 # a record the full index lacks
                                ("s", "5", "Z1"), ("s", "5b", "Z2")], columns=["table", "record_key_tok", "person_id"])
    mapping = full_person_of(as_of_index, full_index)
    assert mapping["X"] == "F1" and mapping["Y"] == "F3" and "Z2" not in mapping
    day = pd.Timestamp("2021-01-21")
    rows = pd.DataFrame({"person_id": ["X", "Y", "Z2"], "index_date": day, "outcome": pd.array([0, 0, 0], "Int8")})
    full_frame = pd.DataFrame({"person_id": ["F1", "F2", "F3"], "index_date": day,
                               "outcome": pd.array([1, 0, 1], "Int8")})
    labelled, counts = with_full_outcome(rows, as_of_index, full_index, full_frame)
    assert labelled["outcome"].tolist()[:2] == [1, 1] and pd.isna(labelled["outcome"].iloc[2])
    assert counts["rows_matched"] == 2 and counts["rows_only_in_full"] == 1  # F2: no as-of row became it
    assert counts["outcome_differs_as_of_records"] == 2


def test_the_block_compares_with_the_all_records_figures():
    n = 400
    outcome = pd.array([1 if i % 10 == 0 else 0 for i in range(n)], "Int8")
    margin = [float(i % 10 == 0) + i / 10_000 for i in range(n)]
    scored = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "outcome": outcome,
                           "margin_released": margin, "score_released": [0.1 + m / 2 for m in margin]})
    scored.loc[5, "outcome"] = pd.NA  # no full-build label: left out
    full_block = {"n": 420, "auc": 0.8, "precision_at_capacity": 0.5, "lift_at_capacity": 4.0}
    block = as_of_linkage_block(scored, full_block, 20, tie_seed=1, n_boot=50, seed=0, n_bins=5,
                                provenance={"index_date": "2021-01-21"})
    assert block["rows"] == n and block["rows_labelled"] == n - 1 and block["metrics"]["n"] == n - 1
    m = block["metrics"]
    assert m["precision_at_capacity"] == 1.0  # every outcome row has the higher margin
    for name in ("auc", "precision_at_capacity", "lift_at_capacity"):
        assert block["difference_from_full"][name] == pytest.approx(m[name] - full_block[name])
        assert len(m[f"{name}_ci"]) == 2
    assert block["found_at_capacity"] == 20 and block["found_at_capacity_full"] == 10
    assert found_at_capacity({"precision_at_capacity": None, "n": 3}, 20) is None


def test_scoring_needs_every_model_input():
    with pytest.raises(KeyError, match="lack model inputs"):
        score_rows(object(), pd.DataFrame({"a": [1]}), ["a", "b"])


def test_an_as_of_build_leaves_the_after_index_rules_to_the_full_build():
    """P1 is seen nowhere in the year before academic age 16 (left_before_window): the full build's rules
    exclude the row; without them the row stays, and the full build (which excluded it) gives no label."""
    tables = tiny_tables()
    tables["school_pupil"] = tables["school_pupil"][tables["school_pupil"]["pupil_record_id_tok"] != "r1b"]
    full = build_features(tables, tiny_person_index(), _spec(), EXTRACT)
    as_of = build_features(tables, AS_OF_INDEX, _spec(), EXTRACT, years=[2020], outcome_rules=False)
    assert "P1" not in set(full.frame.loc[full.frame["index_year"] == 2020, "person_id"])
    assert set(as_of.frame["person_id"]) == {"A1", "A3"} and as_of.report["row_reconciliation"]["reconciled"]
    labelled, counts = with_full_outcome(as_of.frame, AS_OF_INDEX, tiny_person_index(), full.frame)
    assert pd.isna(labelled.set_index("person_id").loc["A1", "outcome"]) and counts["rows_matched"] == 1
