"""GP household and carer links (issue #17) on hand-made frames: who is linked, who is not, and the quality
report's groups; plus the synthetic export's RALF column (the whole county runs in test_family_links.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.linkage.family import MAX_PEOPLE_AT_ADDRESS, one_row_per_link
from pipeline.linkage.family_gp import (
    care_needs,
    coded_carers,
    gp_carer_links,
    gp_family_links,
    gp_records,
    household_links,
)
from pipeline.linkage.family_quality import carer_quality, family_links_markdown, household_quality, person_groups
from pipeline.sources.gp import EFI_DEFICIT_CODES, MODERATE_FRAILTY_DEFICITS
from pipeline.synthetic.export_adult_health_gp import _ralf

LD, DEMENTIA, CARER, CARER_LD, CARER_DEMENTIA = "110359009", "52448006", "407542009", "413761004", "824401000000105"
DEFICITS = sorted(EFI_DEFICIT_CODES)


def _patients(rows: list[tuple]) -> pd.DataFrame:
    """(patient token, ralf token, registration_end, death_date) -> a pseudonymised ``gp_patient``."""
    frame = pd.DataFrame(rows, columns=["patient_id_tok", "ralf_tok", "registration_end", "death_date"])
    return frame.assign(registration_start=pd.Timestamp("2015-01-01"),
                        registration_end=pd.to_datetime(frame["registration_end"]),
                        death_date=pd.to_datetime(frame["death_date"]))


def _index(tokens) -> pd.DataFrame:
    return pd.DataFrame({"table": "gp", "record_key_tok": list(tokens),
                         "person_id": [f"P{t}" for t in tokens]}).astype("string")


def _events(rows: list[tuple[str, str]], when: str = "2024-01-01") -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["patient_id_tok", "snomed"]).assign(event_date=pd.Timestamp(when))


def _pairs(links: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(links["person_id_a"], links["person_id_b"], strict=True))


def test_households_are_current_registrations_sharing_a_ralf_at_a_private_address():
    communal = [(f"c{i}", "home", None, None) for i in range(MAX_PEOPLE_AT_ADDRESS + 1)]
    patients = _patients([("a", "h1", None, None), ("b", "h1", None, None), ("c", "h1", None, None),
                          ("d", "h1", "2023-05-01", "2023-05-01"),  # died there: no longer a member
                          ("e", "h1", "2022-01-01", None),  # left the practice, and the county
                          ("f", None, None, None),  # no UPRN matched: no household
                          ("g", "h2", None, None), *communal])
    records = gp_records(patients, _index(patients["patient_id_tok"]))
    links = household_links(records)
    assert _pairs(links) == {("Pa", "Pb"), ("Pa", "Pc"), ("Pb", "Pc")}
    assert set(links["relation"]) == {"same_household"} and set(links["source"]) == {"gp"}


def test_two_records_of_one_person_are_one_member_and_no_self_link():
    patients = _patients([("a1", "h1", None, None), ("a2", "h1", None, None), ("b", "h1", None, None)])
    index = _index(["a1", "a2", "b"]).assign(person_id=["PA", "PA", "PB"])
    assert _pairs(household_links(gp_records(patients, index))) == {("PA", "PB")}


def test_care_needs_count_distinct_frailty_deficits_learning_disability_and_dementia():
    frail = [("f", code) for code in DEFICITS[:MODERATE_FRAILTY_DEFICITS]]
    almost = [("n", code) for code in DEFICITS[:MODERATE_FRAILTY_DEFICITS - 1]] * 3  # recoded, still 8
    needs = care_needs(_events([*frail, *almost, ("l", LD), ("d", DEMENTIA)]), _index("fnld"))
    got = needs.set_index("person_id")
    assert set(got.index) == {"Pf", "Pl", "Pd"}
    assert got.loc["Pf", "frailty"] == 1 and got.loc["Pf", "dementia"] == 0
    assert got.loc["Pl", "learning_disability"] == 1 and got.loc["Pd", "dementia"] == 1


def _household_with_needs():
    """Carer c lives at h1 with a son s (LD), a frail partner p and a lodger o who needs nothing."""
    patients = _patients([("c", "h1", None, None), ("s", "h1", None, None), ("p", "h1", None, None),
                          ("o", "h1", None, None)])
    frail = [("p", code) for code in DEFICITS[:MODERATE_FRAILTY_DEFICITS]]
    return patients, [*frail, ("s", LD)]


@pytest.mark.parametrize(("code", "cared_for"), [
    (CARER_LD, {"Ps"}),  # names a person with LD: the son only
    (CARER, {"Ps", "Pp"}),  # names no one: everyone there who needs care
    (CARER_DEMENTIA, {"Ps", "Pp"}),  # names a need no one there has: falls back to everyone needing care
])
def test_a_carer_code_links_the_carer_to_the_household_members_needing_care(code, cared_for):
    patients, needs = _household_with_needs()
    events = pd.concat([_events(needs, "2020-01-01"), _events([("c", code)], "2023-02-01"),
                        _events([("c", code)], "2024-06-01")])
    links = gp_family_links(patients, events, _index("cspo"))
    carers = links[links["relation"] == "carer_of"]
    assert _pairs(carers) == {("Pc", who) for who in cared_for}
    assert set(carers["source"]) == {"gp_carer_code"}
    assert (carers["first_seen"] == pd.Timestamp("2023-02-01")).all()
    assert (carers["last_seen"] == pd.Timestamp("2024-06-01")).all()


def test_no_carer_link_to_an_earlier_occupant_a_communal_address_or_no_code():
    patients = _patients([("c", "h1", None, None), ("x", "h1", "2019-06-30", "2019-06-30"),
                          ("k", "care_home", None, None), *[(f"r{i}", "care_home", None, None) for i in range(12)],
                          ("q", "h3", None, None), ("m", "h3", None, None)])
    tokens = patients["patient_id_tok"]
    events = _events([("x", LD), ("r0", DEMENTIA), ("m", DEMENTIA), ("c", CARER), ("k", CARER)])
    index = _index(tokens)
    records = gp_records(patients, index)
    links = gp_carer_links(records, coded_carers(events, index), care_needs(events, index))
    assert links.empty  # x died before c was coded; k lives in a care home; q has no carer code


def test_a_person_cared_for_until_death_shares_the_carers_household_key():
    patients = _patients([("c", "h1", None, None), ("d", "h1", "2025-01-10", "2025-01-10")])
    events = _events([("d", DEMENTIA), ("c", CARER_DEMENTIA)], "2024-03-01")
    assert _pairs(gp_family_links(patients, events, _index("cd"))) == {("Pc", "Pd")}


def _truth():
    """True people 1-6: 1 and 2 live at u1 (household 10), 3 and 4 at u2 (household 20), 5 and 6 at u3."""
    people = pd.DataFrame({"person_id": [1, 2, 3, 4, 5, 6], "household_id": [10, 10, 20, 20, 30, 31],
                           "ethnicity_group": ["White", "White", "Black", "Black", "Asian", "Asian"],
                           "dob": pd.to_datetime(["1950-06-01", "1952-01-01", "1980-01-01", "2010-01-01",
                                                  "1990-01-01", "1991-01-01"]),
                           "death_date": pd.to_datetime([None, None, None, None, None, None])})
    addresses = pd.DataFrame({"person_id": [1, 2, 3, 4, 5, 6], "uprn": ["u1", "u1", "u2", "u2", "u3", "u3"],
                              "start": pd.Timestamp("2010-01-01"), "end": pd.NaT})
    truth = pd.DataFrame({"source": "gp", "record_key_tok": list("abcdef"),
                          "true_person_id": ["1", "2", "3", "4", "5", "6"]})
    index = _index("abcdef")
    true_of = pd.Series(truth["true_person_id"].to_numpy(), index=index["person_id"].to_numpy())
    return people, addresses, truth, true_of


def _links(pairs, relation, source):
    return pd.DataFrame({"person_id_a": [a for a, _ in pairs], "person_id_b": [b for _, b in pairs],
                         "relation": relation, "source": source})


def test_household_quality_by_group_with_small_groups_suppressed():
    people, addresses, truth, true_of = _truth()
    links = _links([("Pa", "Pb"), ("Pc", "Pe")], "same_household", "gp")  # the second is wrong
    groups = person_groups(people, pd.Timestamp("2026-03-31").date())
    q = household_quality(links, true_of, truth, addresses, people, groups, min_group=1)
    assert (q["predicted_pairs"], q["true_pairs"], q["true_positive_pairs"]) == (2, 3, 1)
    assert q["same_household_share"] == pytest.approx(1 / 2)  # 5 and 6 share an address, not a household
    assert q["by_ethnicity_group"]["White"]["recall"] == 1.0
    # the wrong pair counts against both people's groups
    assert q["by_ethnicity_group"]["Black"]["precision"] == 0.0
    assert q["by_ethnicity_group"]["Asian"]["predicted_pairs"] == 1
    assert list(q["by_age_band"]) == ["16-17", "25-64", "65-84"]  # youngest first
    small = household_quality(links, true_of, truth, addresses, people, groups, min_group=2)
    assert small["by_ethnicity_group"]["White"] == {"suppressed": True}
    assert small["precision"] == q["precision"]  # the overall figure is never suppressed


def test_carer_quality_counts_the_person_cared_for_and_within_household_recall():
    people, _, truth, true_of = _truth()
    caring = pd.DataFrame({"carer_id": [1, 3, 5], "cared_for_id": [2, 4, 6]})  # 5 and 6: different households
    links = _links([("Pa", "Pb"), ("Pd", "Pc")], "carer_of", "gp_carer_code")  # the second runs the wrong way
    groups = person_groups(people, None)
    q = carer_quality(links, true_of, truth, caring, people, groups, 1, {"gp"})
    assert (q["precision"], q["recall"], q["recall_within_household"]) == (0.5, pytest.approx(1 / 3), 0.5)
    assert q["by_ethnicity_group"]["White"]["recall"] == 1.0 and "by_age_band" not in q
    # the wrong link's person cared for is 3 (Black), whose true carer link to 4 was missed
    assert (q["by_ethnicity_group"]["Black"]["precision"], q["by_ethnicity_group"]["Black"]["recall"]) == (0.0, 0.0)
    report = {"links": {"carer_of": 2}, "links_by_source": {"carer_of": {"gp_carer_code": 2}},
              "min_group_pairs": 5, "truth": {"carer_of": {**q, "by_source": {"gp_carer_code": carer_quality(
                  links, true_of, truth, caring, people, groups, 5, {"gp"})}}}}
    text = "\n".join(family_links_markdown(report))
    assert "| carer_of | gp_carer_code | 2 | 50.0% | 33.3% | 3 |" in text
    assert "fewer than 5 true or linked pairs" in text and "| ethnicity group | White | 100.0%" in text


def test_the_export_gives_one_household_one_ralf_that_is_not_its_uprn():
    addresses = pd.DataFrame({"person_id": np.arange(400), "uprn": [f"{100000000000 + i // 4}" for i in range(400)],
                              "start": pd.Timestamp("2020-01-01")})
    ralf = _ralf(addresses, np.arange(400), np.full(400, np.datetime64("2026-03-31")))
    frame = pd.DataFrame({"uprn": addresses["uprn"], "ralf": ralf})
    found = frame[frame["ralf"] != ""]
    assert found.groupby("uprn")["ralf"].nunique().max() == 1 and found["ralf"].nunique() == found["uprn"].nunique()
    assert not set(found["ralf"]) & set(found["uprn"])
    assert 0.02 < (frame["ralf"] == "").mean() < 0.15  # about 8% of records match no UPRN
    before = _ralf(addresses, np.arange(400), np.full(400, np.datetime64("2019-01-01")))
    assert (before == "").all()  # no address held yet: no RALF


def test_a_carer_pair_both_cld_and_a_gp_code_give_is_one_link_from_both_sources():
    def link(source, first, last):
        return {"person_id_a": "P1", "person_id_b": "P2", "relation": "carer_of", "source": source,
                "first_seen": pd.Timestamp(first), "last_seen": pd.Timestamp(last)}
    links = pd.DataFrame([link("gp_carer_code", "2020-01-01", "2021-01-01"),
                          link("adult_social_care", "2022-03-31", "2024-03-31")])
    out = one_row_per_link(links)
    assert out[["source", "first_seen", "last_seen"]].values.tolist() == [
        ["adult_social_care+gp_carer_code", pd.Timestamp("2020-01-01"), pd.Timestamp("2024-03-31")]]
