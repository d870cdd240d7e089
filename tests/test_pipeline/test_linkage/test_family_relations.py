"""Parent and sibling links from children's social care relationship records (issue #17), and their quality report.

The builders run on hand-made pseudonymised rows and person index (tokens are plain strings here: the
builders only compare them), the quality report on a hand-made truth whose answer is known, and the
synthetic exporter on a few hand-made families.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import SynthParams
from pipeline.linkage.family import FAMILY_COLUMNS
from pipeline.linkage.family_relations import (
    evaluate_relations,
    parent_links,
    person_by_nhs_token,
    recorded_parents,
    sibling_links,
)
from pipeline.synthetic.export_social_care.relationships import csc_relationships

INDEX = pd.DataFrame({
    "table": ["social_care"] * 6 + ["adult_social_care", "gp"],
    "record_key_tok": ["c1", "c2", "c3", "c5", "c6", "c7", "p1", "g2"],
    "person_id": ["K1", "K2", "K3", "K5", "K6", "K7", "P1", "P2"],
})
NHS = person_by_nhs_token(pd.DataFrame({"nhs_number_tok": ["n2", "n9", "n9"], "person_id": ["P2", "P8", "P9"]}))


def _rows(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["la_child_id_tok", "la_person_id_tok", "related_nhs_number_tok",
                                       "relationship", "start_date"]).astype({"start_date": "datetime64[ns]"})


RELATIONSHIPS = _rows(
    ("c1", "p1", None, "Mother", "2020-01-10"),       # the adult social care person ID: P1
    ("c2", "p1", None, "Mother", "2021-05-01"),       # the same mother: c1 and c2 are siblings
    ("c3", "x3", "n2", "Father", "2019-03-03"),       # unknown person ID, NHS number held by P2 alone
    ("c4", "p1", None, "Mother", "2019-01-01"),       # a child the index does not hold: left out
    ("c5", "zz", None, "Mother", "2018-02-02"),       # a parent linked to no one: no parent link...
    ("c6", "zz", None, "Parent", "2022-07-07"),       # ...but c5 and c6 name the same recorded person
    ("c7", "y7", "n9", "Father", "2020-01-01"),       # an NHS number two people hold: never a guess
    ("c1", "g1", None, "Grandparent", "2020-01-10"),  # not a parent
)


def _pairs(links: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(links["person_id_a"], links["person_id_b"], strict=True))


def test_planted_relationships_become_parent_links_and_an_unlinked_parent_none():
    parents = recorded_parents(RELATIONSHIPS, INDEX, NHS)
    links = parent_links(parents)
    assert tuple(links.columns) == FAMILY_COLUMNS
    assert _pairs(links) == {("P1", "K1"), ("P1", "K2"), ("P2", "K3")}
    assert set(links["relation"]) == {"parent_of"} and set(links["source"]) == {"social_care"}
    first = links.set_index("person_id_b")["first_seen"]
    assert first["K1"] == pd.Timestamp("2020-01-10") and first["K3"] == pd.Timestamp("2019-03-03")


def test_siblings_share_a_recorded_parent_from_when_both_were_recorded():
    links = sibling_links(recorded_parents(RELATIONSHIPS, INDEX, NHS))
    assert _pairs(links) == {("K1", "K2"), ("K5", "K6")}
    when = dict(zip(zip(links["person_id_a"], links["person_id_b"], strict=True), links["first_seen"], strict=True))
    assert when[("K1", "K2")] == pd.Timestamp("2021-05-01")  # the later of the two records
    assert when[("K5", "K6")] == pd.Timestamp("2022-07-07")


def test_an_nhs_number_on_one_row_finds_the_person_for_every_row_of_that_person_id():
    rows = _rows(("c1", "x3", "n2", "Mother", "2020-01-01"), ("c2", "x3", None, "Mother", "2020-02-01"))
    assert _pairs(parent_links(recorded_parents(rows, INDEX, NHS))) == {("P2", "K1"), ("P2", "K2")}


def test_no_relationship_rows_no_links():
    parents = recorded_parents(RELATIONSHIPS.iloc[0:0], INDEX, NHS)
    assert parent_links(parents).empty and sibling_links(parents).empty


def _truth_frames():
    """Two households: mother M1 and father F1 of children A, B (White); mother M2 of C (Black)."""
    people = pd.DataFrame({
        "person_id": [1, 2, 3, 10, 11, 20],
        "household_id": [100, 100, 200, 100, 100, 200],
        "role": ["child", "child", "child", "mother", "father", "mother"],
        "ethnicity_group": ["White", "White", "Black", "White", "White", "Black"],
    })
    # person ids of the index stand for true people through their records (one record each here)
    index = pd.DataFrame({"table": ["social_care"] * 3 + ["gp"] * 3,
                          "record_key_tok": ["a", "b", "c", "m1", "f1", "m2"],
                          "person_id": ["A", "B", "C", "M1", "F1", "M2"]})
    truth = pd.DataFrame({"source": index["table"], "record_key_tok": index["record_key_tok"],
                          "true_person_id": ["1", "2", "3", "10", "11", "20"]})
    return people, index, truth


def _link(a: str, b: str, relation: str) -> dict:
    return {"person_id_a": a, "person_id_b": b, "relation": relation, "source": "social_care",
            "first_seen": pd.NaT, "last_seen": pd.NaT}


def test_quality_report_counts_true_and_false_pairs_by_ethnic_group():
    people, index, truth = _truth_frames()
    links = pd.DataFrame([_link("M1", "A", "parent_of"), _link("M1", "B", "parent_of"),
                          _link("M2", "B", "parent_of"),  # wrong: M2 is C's mother
                          _link("M2", "C", "parent_of"), _link("A", "B", "sibling_of")])
    report = evaluate_relations(links, index, truth, people)
    parent = report["parent_of"]
    # true pairs: M1-A, M1-B, F1-A, F1-B, M2-C; predicted 4, 3 of them true
    assert (parent["predicted_pairs"], parent["true_pairs"], parent["true_positive_pairs"]) == (4, 5, 3)
    assert parent["precision"] == pytest.approx(3 / 4) and parent["recall"] == pytest.approx(3 / 5)
    groups = parent["by_ethnicity_group"]
    assert groups["Black"]["recall"] == 1.0 and groups["White"]["recall"] == pytest.approx(2 / 4)
    for key in ("predicted_pairs", "true_pairs", "true_positive_pairs"):
        assert sum(g[key] for g in groups.values()) == parent[key]
    assert report["sibling_of"]["precision"] == 1.0 and report["sibling_of"]["recall"] == 1.0


def test_exporter_records_only_household_parents_with_the_adult_ids_when_known():
    kids = pd.DataFrame({"person_id": np.arange(200), "household_id": np.arange(200) // 2,
                         "ethnicity_group": "White"})
    parents = pd.DataFrame({"person_id": np.arange(1000, 1200), "household_id": np.arange(200) % 100,
                            "role": ["mother"] * 100 + ["father"] * 100,
                            "nhs_number": [f"{9000000000 + i}" for i in range(200)]})
    ids = pd.DataFrame({"person_id": np.arange(200), "la_child_id": [f"LA{i:07d}" for i in range(200)]})
    contact = pd.Series(pd.Timestamp("2026-03-20"), index=np.arange(200))
    asc = pd.DataFrame({"source": "adult_social_care", "record_key": ["1234567"], "person_id": [1000]})
    cfg = SynthParams()
    rows = csc_relationships(np.random.default_rng(1), cfg, ids, contact, kids, parents, asc)
    assert list(rows.columns) == ["LAchildID", "RelatedPersonID", "RelatedNHSNumber", "RelationshipType", "StartDate"]
    mothers = rows["RelationshipType"].eq("Mother").sum()
    assert mothers > rows["RelationshipType"].isin(["Father", "Step-parent"]).sum() > 0
    child_household = dict(zip(ids["la_child_id"], kids["household_id"], strict=True))
    nhs_household = dict(zip(parents["nhs_number"], parents["household_id"], strict=True))
    recorded = rows[rows["RelatedNHSNumber"] != ""]
    assert all(nhs_household[n] == child_household[c] for c, n in zip(recorded["LAchildID"],
                                                                      recorded["RelatedNHSNumber"], strict=True))
    # household 0's mother is known to adult social care: her rows carry that ID (bar a duplicate record)
    assert (rows.loc[rows["LAchildID"].isin(["LA0000000", "LA0000001"]) & rows["RelationshipType"].isin(
        ["Mother", "Parent"]) & (rows["RelatedNHSNumber"].isin(["9000000000", ""])), "RelatedPersonID"]
        == "1234567").any()
    latest = pd.to_datetime(rows["StartDate"], format="%d/%m/%Y").max()
    assert latest <= pd.Timestamp(cfg.reference_date)
