"""The link stage: deterministic routes, clustering, common names, report, quality vs truth."""

from __future__ import annotations

from itertools import combinations

import pandas as pd
import pytest

from pipeline.config import LinkParams
from pipeline.link import link_person_records
from pipeline.linkage.clusters import build_person_index
from pipeline.linkage.deterministic import find_deterministic_links
from pipeline.linkage.evaluation import pairwise_counts
from pipeline.linkage.persons import PERSON_COLUMNS

PARAMS = LinkParams(u_max_pairs=2e5, review_sample_size=20)


def _persons(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in PERSON_COLUMNS:
        if col not in frame:
            frame[col] = pd.NA
    return frame[list(PERSON_COLUMNS)].astype("string")


def test_nhs_and_upn_routes_make_one_person():
    persons = _persons(
        [
            {"source": "school", "record_key_tok": "u1", "upn_tok": "u1", "former_upn_tok": "t1"},
            {"source": "school", "record_key_tok": "t1", "upn_tok": "t1"},  # temporary UPN, earlier census
            {"source": "social_care", "record_key_tok": "c1", "upn_tok": "t1", "nhs_number_tok": "n1"},
            {"source": "health", "record_key_tok": "h1", "nhs_number_tok": "n1"},
            {"source": "nccis", "record_key_tok": "k1", "upn_tok": "u1"},
            {"source": "health", "record_key_tok": "h2", "nhs_number_tok": "n2"},  # nobody else has n2
        ]
    )
    links, ambiguous = find_deterministic_links(persons)
    no_pairs = pd.DataFrame(
        columns=["source_l", "record_key_tok_l", "source_r", "record_key_tok_r", "match_probability"]
    )
    index = build_person_index(persons, links, no_pairs, 0.95).set_index("record_key_tok")
    assert index.loc[["u1", "t1", "c1", "h1", "k1"], "person_id"].nunique() == 1
    assert index.loc["h2", "person_id"] != index.loc["u1", "person_id"]
    assert set(index.loc[["u1", "t1", "c1", "h1", "k1"], "match_route"]) == {"deterministic"}
    assert index.loc["h2", "match_route"] == "singleton"
    assert ambiguous == {}


def test_ambiguous_tokens_link_nothing():
    persons = _persons(
        [
            {"source": "social_care", "record_key_tok": "c1", "nhs_number_tok": "n1"},
            {"source": "social_care", "record_key_tok": "c2", "nhs_number_tok": "n1"},  # keying error
            {"source": "health", "record_key_tok": "h1", "nhs_number_tok": "n1"},
        ]
    )
    links, ambiguous = find_deterministic_links(persons)
    assert links.empty
    assert ambiguous == {"nhs_number": 1}


def test_person_ids_are_stable_and_opaque():
    persons = _persons([{"source": "health", "record_key_tok": k} for k in ("b", "a", "c")])
    empty = pd.DataFrame(
        columns=["source_l", "record_key_tok_l", "source_r", "record_key_tok_r", "match_probability"]
    )
    first = build_person_index(persons, empty.drop(columns="match_probability"), empty, 0.95)
    again = build_person_index(persons.iloc[::-1], empty.drop(columns="match_probability"), empty, 0.95)
    pd.testing.assert_frame_equal(first, again)
    assert first.set_index("record_key_tok")["person_id"].to_dict() == {
        "a": "P00000001",
        "b": "P00000002",
        "c": "P00000003",
    }


@pytest.fixture(scope="module")
def linked(person_tables, test_key):
    """The stage run on 300 noisy people plus two namesakes who are different people."""
    from pipeline.pseudonymise import identity_match_keys, make_tokens

    tables, truth = person_tables
    namesakes = pd.DataFrame(
        {
            "forename": ["Oliver", "Oliver"],
            "surname": ["Smith", "Smith"],
            "dob": pd.to_datetime(["2012-03-04", "2015-10-21"]),
            "sex": ["M", "M"],
            "postcode": ["LS6 1AB", "BD7 4QT"],
        }
    )
    tok = identity_match_keys(namesakes, test_key)
    school_row = tok.iloc[[0]].assign(
        upn_tok=make_tokens(pd.Series(["A999000000001"]), "upn", test_key).to_numpy(),
        census_date=pd.Timestamp("2025-01-16"),
        ethnicity_group="White",
    )
    care_row = tok.iloc[[1]].assign(
        la_child_id_tok=make_tokens(pd.Series(["NS1"]), "la_child_id", test_key).to_numpy(),
        ethnicity_group="White",
    )
    tables = dict(tables)
    tables["school_pupil"] = pd.concat([tables["school_pupil"], school_row], ignore_index=True)
    tables["csc_person"] = pd.concat([tables["csc_person"], care_row], ignore_index=True)
    result = link_person_records(tables, PARAMS, truth)
    return result, school_row["upn_tok"].iloc[0], care_row["la_child_id_tok"].iloc[0]


def test_namesakes_with_different_dob_and_postcode_stay_apart(linked):
    result, school_tok, care_tok = linked
    ids = result.person_index.set_index("record_key_tok")["person_id"]
    assert ids[school_tok] != ids[care_tok]


def test_person_index_follows_the_contract(linked):
    index = linked[0].person_index
    assert list(index.columns) == ["table", "record_key_tok", "person_id", "match_probability", "match_route"]
    assert not index.duplicated(["table", "record_key_tok"]).any()
    assert set(index["match_route"]) <= {"deterministic", "probabilistic", "singleton"}
    assert index["person_id"].str.fullmatch(r"P\d{8}").all()
    assert (index.loc[index["match_route"] == "deterministic", "match_probability"] == 1.0).all()
    assert index.loc[index["match_route"] == "singleton", "match_probability"].isna().all()


def test_quality_against_truth_beats_deterministic_only(linked):
    report = linked[0].report
    assert report["truth"]["precision"] >= 0.99
    assert report["truth"]["recall"] >= 0.98
    assert report["truth"]["recall"] > report["deterministic_only"]["recall"] + 0.2
    assert report["truth"]["worst_ethnic_group_recall"]["recall"] <= report["truth"]["recall"]


def test_report_has_link_rates_by_group_and_review_sample_holds_tokens_only(linked):
    result = linked[0]
    rates = result.report["link_rates"]["social_care_to_school"]
    assert 0.9 <= rates["overall"] <= 1.0
    assert set(rates["by_group"]) == {"ethnicity_group", "sex", "imd_quintile", "age_band"}
    review = result.review
    assert len(review) <= PARAMS.review_sample_size
    assert review["match_probability"].between(*PARAMS.review_band).all()
    token_cols = [c for c in review.columns if "_tok" in c]
    values = pd.concat([review[c].dropna().astype("string") for c in token_cols], ignore_index=True)
    assert values.str.fullmatch(r"[0-9a-f]{32}").all()


def test_pairwise_counts_match_brute_force():
    predicted = pd.Series(["a", "a", "a", "b", "b", "c"])
    true = pd.Series(["x", "x", "y", "y", "y", "z"])
    pairs = list(combinations(range(6), 2))
    expected = {
        "predicted_pairs": sum(predicted[i] == predicted[j] for i, j in pairs),
        "true_pairs": sum(true[i] == true[j] for i, j in pairs),
        "correct_pairs": sum(predicted[i] == predicted[j] and true[i] == true[j] for i, j in pairs),
    }
    assert pairwise_counts(predicted, true) == expected
