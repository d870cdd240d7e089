"""The link stage: deterministic routes, clustering, common names, report, quality vs truth."""

from __future__ import annotations

from itertools import combinations

import pandas as pd
import pytest

from pipeline.core.config import LinkParams
from pipeline.linkage.clusters import build_person_index, select_edges_within_source_limits
from pipeline.linkage.deterministic import find_deterministic_links
from pipeline.linkage.evaluation import pairwise_counts
from pipeline.linkage.model import FIELD_COLUMNS, PREDICTION_BLOCKING_RULES, build_linkage_settings
from pipeline.linkage.persons import person_columns
from pipeline.linkage.probabilistic import dob_evidence_levels
from pipeline.linkage.stage import accept_probabilistic_pairs, link_person_records

PARAMS = LinkParams(u_max_pairs=2e5, review_sample_size=20)


def _persons(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in person_columns():
        if col not in frame:
            frame[col] = pd.NA
    return frame[list(person_columns())].astype("string")


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
    index = build_person_index(persons, links, no_pairs, 0.95)[0].set_index("record_key_tok")
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
    first, _ = build_person_index(persons, empty.drop(columns="match_probability"), empty, 0.95)
    again, _ = build_person_index(persons.iloc[::-1], empty.drop(columns="match_probability"), empty, 0.95)
    pd.testing.assert_frame_equal(first, again)
    assert first.set_index("record_key_tok")["person_id"].to_dict() == {
        "a": "P00000001",
        "b": "P00000002",
        "c": "P00000003",
    }


@pytest.fixture(scope="module")
def linked(person_tables, test_key):
    """The stage run on 300 noisy people plus two namesakes who are different people."""
    from pipeline.privacy.match_keys import identity_match_keys
    from pipeline.privacy.tokens import make_tokens

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
    # Siblings: same forename, surname, sex and postcode, different dob; each at school and in health.
    siblings = pd.DataFrame(
        {
            "forename": ["Kofi", "Kofi"],
            "surname": ["Mensah", "Mensah"],
            "dob": pd.to_datetime(["2010-02-11", "2013-07-25"]),
            "sex": ["M", "M"],
            "postcode": ["LS8 2QT", "LS8 2QT"],
        }
    )
    sib = identity_match_keys(siblings, test_key)
    sib_school = sib.assign(
        upn_tok=make_tokens(pd.Series(["A999000000002", "A999000000003"]), "upn", test_key).to_numpy(),
        census_date=pd.Timestamp("2025-01-16"),
        ethnicity_group="Black",
    )
    sib_health = sib.assign(
        hes_id_tok=make_tokens(pd.Series(["SIB1", "SIB2"]), "hes_id", test_key).to_numpy(),
        ethnicity_group="Black",
    )
    tables = dict(tables)
    tables["school_pupil"] = pd.concat([tables["school_pupil"], school_row, sib_school], ignore_index=True)
    tables["csc_person"] = pd.concat([tables["csc_person"], care_row], ignore_index=True)
    tables["nhs_patient"] = pd.concat([tables["nhs_patient"], sib_health], ignore_index=True)
    result = link_person_records(tables, PARAMS, truth)
    sibling_keys = [*sib_school["upn_tok"], *sib_health["hes_id_tok"]]
    return result, school_row["upn_tok"].iloc[0], care_row["la_child_id_tok"].iloc[0], sibling_keys


def test_namesakes_with_different_dob_and_postcode_stay_apart(linked):
    result, school_tok, care_tok, _ = linked
    ids = result.person_index.set_index("record_key_tok")["person_id"]
    assert ids[school_tok] != ids[care_tok]


def test_siblings_sharing_names_and_postcode_stay_two_people(linked):
    result, _, _, (school_1, school_2, health_1, health_2) = linked
    ids = result.person_index.set_index("record_key_tok")["person_id"]
    assert ids[school_1] == ids[health_1]
    assert ids[school_2] == ids[health_2]
    assert ids[school_1] != ids[school_2]


def _edges(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["node_id_l", "node_id_r", "strength"])


def test_source_limits_refuse_the_weakest_link_of_a_chain():
    # two people (h1+s1, h2+s2) chained by a weak h1-s2 link; health allows one record a person
    edges = _edges(
        [("health:h1", "school:s2", 2.0), ("health:h1", "school:s1", 9.0), ("health:h2", "school:s2", 7.0)]
    )
    kept = select_edges_within_source_limits(edges, {"health": 1})
    assert kept.tolist() == [False, True, True]
    assert select_edges_within_source_limits(edges, {}).all()  # no limit: plain components
    # order of rows does not change the choice
    assert select_edges_within_source_limits(edges.iloc[::-1], {"health": 1}).tolist() == [True, True, False]


def test_source_limits_allow_several_school_upns():
    edges = _edges([("school:a", "school:b", 5.0), ("school:b", "school:c", 4.0), ("school:c", "health:h", 3.0)])
    assert select_edges_within_source_limits(edges, {"school": 3, "health": 1}).all()
    assert select_edges_within_source_limits(edges, {"school": 2}).tolist() == [True, False, True]


def test_source_limits_count_each_source_of_two_merging_clusters_apart():
    # cluster A: 2 school + 1 health; cluster B: 1 school + 1 gp; C: 1 health. School allows 3, health 1, gp 1.
    edges = _edges([
        ("school:a1", "school:a2", 9.0), ("school:a2", "health:ha", 9.0),  # A
        ("school:b1", "gp:gb", 9.0),                                        # B
        ("school:a1", "school:b1", 5.0),   # A+B: school 3 (at the limit), health 1, gp 1: kept
        ("gp:gb", "health:hc", 4.0),       # (A+B)+C: health 2 over its limit: refused
        ("school:c1", "health:hc", 3.0),   # C+c1: kept
        ("school:c1", "school:a1", 2.0),   # would make school 4 and health 2: refused
    ])
    assert select_edges_within_source_limits(edges, {"school": 3, "health": 1, "gp": 1}).tolist() == [
        True, True, True, True, False, True, False]
    # a source the limits leave out counts nothing: with health unlimited (A+B)+C is kept, and c1 (a fourth
    # school record) is refused either way
    assert select_edges_within_source_limits(edges, {"school": 3, "gp": 1}).tolist() == [
        True, True, True, True, True, False, False]
    with pytest.raises(ValueError, match="school: a limit"):
        select_edges_within_source_limits(edges, {"school": 0})


def test_links_need_dob_evidence_or_an_identifier():
    model = build_linkage_settings(["forename", "surname", "dob", "nhs_number"])
    # a fitted model: u where a county's dob levels have it, so year-only and else count against
    u_dob = {"exact": 2e-4, "day/month swapped": 4e-5, "day+month (year differs)": 3e-3, "year+month": 4e-3,
             "year": 0.04, "else": 0.95}
    for comparison in model["comparisons"]:
        for lvl in comparison["comparison_levels"]:
            if comparison["output_column_name"] == "dob" and not lvl.get("is_null_level"):
                lvl["u_probability"] = u_dob[lvl["label_for_charts"]]
    # gamma values count down from the best level: dob 5 exact .. 1 year .. 0 else; nhs 1 exact
    pairs = pd.DataFrame(
        {
            "match_probability": [0.99, 0.99, 0.99, 0.99, 0.5],
            "gamma_dob": [5, 2, 0, 0, 5],
            "gamma_nhs_number": [-1, -1, -1, 1, -1],
        }
    )
    accepted = accept_probabilistic_pairs(pairs, 0.95, model)
    assert accepted.index.tolist() == [0, 1, 3]
    assert dob_evidence_levels(model) == {"exact", "day/month swapped", "day+month (year differs)", "year+month"}
    # where the fitted model finds year-only agreement common among matches, it becomes evidence
    next(lvl for c in model["comparisons"] if c["output_column_name"] == "dob"
         for lvl in c["comparison_levels"] if lvl.get("label_for_charts") == "year")["m_probability"] = 0.2
    year_only = pd.DataFrame({"match_probability": [0.99], "gamma_dob": [1], "gamma_nhs_number": [-1]})
    assert len(accept_probabilistic_pairs(year_only, 0.95, model)) == 1
    assert "year" in dob_evidence_levels(model)


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


def test_prediction_blocking_rules_pair_part_of_the_dob_with_another_key():
    """A link needs dob evidence, so each rule carries part of the dob; a dob part alone (fixed
    pool per county) would give blocks that grow with the county and pairs with its square."""
    dob_parts = set(FIELD_COLUMNS["dob"])
    identifiers = {FIELD_COLUMNS["nhs_number"], FIELD_COLUMNS["upn"]}
    for rule in PREDICTION_BLOCKING_RULES:
        if rule in identifiers:
            continue
        assert set(rule) & dob_parts, rule
        assert set(rule) - {"dob_year_tok", "dob_month_tok", "dob_day_tok"} - {"dob_tok"}, rule
