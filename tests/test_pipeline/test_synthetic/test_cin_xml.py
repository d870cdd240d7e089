"""CIN census XML writer (pipeline/synthetic/cin_xml/), checked against the DfE XSDs with lxml."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from pipeline.synthetic.cin_xml import cin_census_xml, validate_cin_xml, xsd_path

NaT = pd.NaT
D = pd.Timestamp

OPTIONAL_ELEMENTS = [
    "UPN", "FormerUPN", "UPNunknown", "PersonBirthDate", "ExpectedPersonBirthDate", "PersonDeathDate",
    "Disabilities", "PrimaryNeedCode", "CINclosureDate", "ReasonForClosure", "CINdetails/DateOfInitialCPC",
    "Assessments", "AssessmentInternalReviewDate", "AssessmentAuthorisationDate",
    "FactorsIdentifiedAtAssessment", "CINPlanDates", "CINPlanEndDate", "Section47", "InitialCPCtarget",
    "Section47/DateOfInitialCPC", "ChildProtectionPlans", "CPPendDate", "Reviews",
]


def frames() -> dict[str, pd.DataFrame]:
    """Five children covering every optional block; one (C4) has no episode."""
    children = pd.DataFrame({
        "la_child_id": ["C1", "C2", "C3", "C4", "C&<5>"],
        "upn": ["A885200512001", None, None, "B885200512002", "C885200512003"],
        "former_upn": ["X88520051200A", None, None, None, None],
        "upn_unknown": [None, "UN2", "UN1", None, None],
        "dob": [D("2012-05-01"), D("2019-07-30"), NaT, D("2015-01-01"), D("2010-02-02")],
        "expected_dob": [NaT, NaT, D("2023-06-01"), NaT, NaT],
        "sex": ["F", "M", "U", "F", "M"],
        "ethnicity": ["WBRI", "APKN", "NOBT", "BAFR", "MWBC"],
        "disabilities": ["AUT;LD", "", None, "", "MOB"],
        "death_date": [NaT, NaT, NaT, NaT, D("2023-02-01")],
    })
    episodes = pd.DataFrame({
        "la_child_id": ["C1", "C1", "C2", "C3", "C&<5>"],
        "episode_id": [12, 11, 21, 31, 51],
        "referral_date": [D("2022-11-01"), D("2021-01-10"), D("2022-09-09"), D("2023-01-15"),
                          D("2022-06-01")],
        "referral_source": ["2A", "6", "1A", "3A", "10"],
        "primary_need": ["N1", "N4", None, "N0", "N2"],
        "closure_date": [NaT, D("2022-07-01"), D("2022-09-10"), NaT, D("2023-02-01")],
        "closure_reason": [None, "RC7", "RC8", None, "RC2"],
        "referral_nfa": [False, False, True, False, False],
    })
    assessments = pd.DataFrame({
        "episode_id": [11, 11, 12, 51],
        "start_date": [D("2021-03-01"), D("2021-01-12"), D("2022-11-03"), D("2022-06-02")],
        "authorisation_date": [NaT, D("2021-02-20"), D("2022-12-01"), D("2022-07-01")],
        "internal_review_date": [NaT, D("2021-02-01"), NaT, NaT],
        "factors": ["3B;4B;2B", "21", "", "6A"],
    })
    section47 = pd.DataFrame({
        "episode_id": [11, 12], "start_date": [D("2021-01-15"), D("2022-11-05")],
        "icpc_date": [D("2021-02-01"), NaT], "icpc_not_required": [False, True],
    })
    cp_plans = pd.DataFrame({
        "episode_id": [11], "start_date": [D("2021-02-01")], "end_date": [D("2022-06-01")],
        "initial_category": ["NEG"], "latest_category": ["EMO"], "number_previous": [1],
    })
    cin_plans = pd.DataFrame({"episode_id": [11, 12], "start_date": [D("2021-02-20"), D("2022-12-01")],
                              "end_date": [D("2021-06-01"), NaT]})
    return {"children": children, "episodes": episodes, "assessments": assessments,
            "section47": section47, "cp_plans": cp_plans, "cin_plans": cin_plans}


def write(year: int = 2023, **changes) -> bytes:
    f = frames() | changes
    return cin_census_xml(year, "885", f["children"], f["episodes"], f["assessments"], f["section47"],
                          f["cp_plans"], cin_plans=f["cin_plans"])


def child(doc: etree._Element, la_child_id: str) -> etree._Element:
    return doc.xpath(f"/Message/Children/Child[ChildIdentifiers/LAchildID='{la_child_id}']")[0]


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026])
def test_full_return_validates_and_uses_every_optional_block(year):
    xml = write(year)
    assert validate_cin_xml(xml, year) == []
    doc = etree.fromstring(xml)
    for path in OPTIONAL_ELEMENTS:
        assert doc.xpath(f"//{path}"), f"{path} missing: the test would not cover it"
    assert doc.findtext("Header/CollectionDetails/ReferenceDate") == f"{year}-03-31"
    assert doc.findtext("Header/Source/LEA") == "885"


def test_sex_codes_follow_the_collection_year():
    old, new = etree.fromstring(write(2024)), etree.fromstring(write(2025))
    three = ("C1", "C2", "C3")
    assert [child(old, c).findtext("ChildIdentifiers/GenderCurrent") for c in three] == ["2", "1", "0"]
    assert [child(new, c).findtext("ChildIdentifiers/Sex") for c in three] == ["F", "M", "U"]
    assert not old.xpath("//Sex") and not new.xpath("//GenderCurrent")
    assert xsd_path(2024).name == "CIN_schema_2024.xsd" and xsd_path(2025).name == "CIN_schema_2026.xsd"
    assert validate_cin_xml(write(2024), 2025), "a 2024-style return must not pass the 2026 schema"


def test_content_round_trips_in_schema_order():
    doc = etree.fromstring(write(2023))
    c1 = child(doc, "C1")
    assert [e.findtext("CINreferralDate") for e in c1.findall("CINdetails")] == ["2021-01-10", "2022-11-01"]
    first = c1.find("CINdetails")
    assert [a.findtext("AssessmentActualStartDate") for a in first.findall("Assessments")] == [
        "2021-01-12", "2021-03-01"]
    factors = first.xpath("Assessments[AssessmentActualStartDate='2021-03-01']//AssessmentFactors/text()")
    assert factors == ["3B", "4B", "2B"]
    assert first.findtext("DateOfInitialCPC") == "2021-02-01"
    assert first.findtext("ReferralNFA") == "0"
    assert first.findtext("Section47/InitialCPCtarget") == "2021-02-05"  # 15 working days after 15 Jan 2021
    assert [e.tag for e in first][-3:] == ["Section47", "ReferralNFA", "ChildProtectionPlans"]
    assert c1.xpath("ChildCharacteristics/Disabilities/Disability/text()") == ["AUT", "LD"]
    assert child(doc, "C2").findtext("CINdetails/ReferralNFA") == "1"
    assert child(doc, "C2").find("CINdetails/PrimaryNeedCode") is None
    assert child(doc, "C&<5>").findtext("ChildIdentifiers/PersonDeathDate") == "2023-02-01"


def test_cp_reviews_derived_every_six_months_until_the_plan_ends():
    doc = etree.fromstring(write(2023))
    reviews = doc.xpath("//ChildProtectionPlans/Reviews/CPPreviewDate/text()")
    start = np.datetime64("2021-02-01")
    expected = [str(start + 91 + 182 * k) for k in range(3)]  # 3 months, then every 6, before 2022-06-01
    assert reviews == expected
    given = frames()["cp_plans"].assign(review_dates="2021-04-01;2021-10-01")
    doc = etree.fromstring(write(2023, cp_plans=given))
    assert doc.xpath("//CPPreviewDate/text()") == ["2021-04-01", "2021-10-01"]


def test_child_without_episode_is_left_out_and_text_is_escaped():
    xml = write(2023)
    doc = etree.fromstring(xml)
    ids = doc.xpath("//LAchildID/text()")
    assert ids == ["C1", "C2", "C3", "C&<5>"]
    assert b"C&amp;&lt;5&gt;" in xml


def test_invalid_code_is_reported_with_its_line():
    f = frames()
    bad = f["episodes"].assign(primary_need=["N1", "N99", None, "N0", "N2"])
    xml = write(2025, episodes=bad)
    errors = validate_cin_xml(xml, 2025)
    assert len(errors) == 1 and "PrimaryNeedCode" in errors[0]
    line = next(i for i, text in enumerate(xml.decode().splitlines(), 1) if "N99" in text)
    assert errors[0].startswith(f"line {line}:")


def test_identifier_values_are_redacted_from_errors():
    bad = frames()["children"].assign(upn=["NOTAUPN123456", None, None, None, None])
    errors = validate_cin_xml(write(2023, children=bad), 2023)
    assert errors and all("NOTAUPN" not in e for e in errors)
    assert any("UPN" in e for e in errors)


def test_not_well_formed_xml_is_an_error_not_an_exception():
    errors = validate_cin_xml(b"<Message><Children></Message>", 2023)
    assert len(errors) == 1 and errors[0].startswith("line 1:")


def test_bad_inputs_raise_clear_errors():
    f = frames()
    with pytest.raises(ValueError, match="episodes: row 1, column 'referral_source'"):
        write(episodes=f["episodes"].assign(referral_source=["2A", None, "1A", "3A", "10"]))
    with pytest.raises(ValueError, match="missing column"):
        write(cp_plans=f["cp_plans"].drop(columns="latest_category"))
    with pytest.raises(ValueError, match="not in the parent table"):
        write(assessments=pd.concat([f["assessments"], f["assessments"].assign(episode_id=999)]))
    with pytest.raises(ValueError, match="column 'sex'"):
        write(children=f["children"].assign(sex=["F", "M", "X", "F", "M"]))
    with pytest.raises(ValueError, match="at least one"):
        write(episodes=f["episodes"].iloc[:0], assessments=f["assessments"].iloc[:0],
              section47=f["section47"].iloc[:0], cp_plans=f["cp_plans"].iloc[:0],
              cin_plans=f["cin_plans"].iloc[:0])


def test_output_is_deterministic():
    assert write(2025) == write(2025)


def test_minimal_inputs_without_optional_tables_validate():
    f = frames()
    empty = {k: f[k].iloc[:0] for k in ("assessments", "section47", "cp_plans")}
    xml = cin_census_xml(2022, "885", f["children"].drop(columns="expected_dob"), f["episodes"], **empty)
    assert validate_cin_xml(xml, 2022) == []


def test_a_county_sized_return_is_fast_and_valid():
    rng = np.random.default_rng(0)
    n, n_ep = 15_000, 25_000
    ids = np.char.add("LA", np.arange(n).astype(str))
    children = pd.DataFrame({
        "la_child_id": ids, "upn": "A885200512001", "former_upn": None, "upn_unknown": None,
        "dob": pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 4000, n), "D"),
        "sex": rng.choice(["M", "F"], n), "ethnicity": "WBRI",
        "disabilities": rng.choice(["", "AUT;LD"], n), "death_date": NaT,
    })
    who = np.r_[np.arange(n), rng.integers(0, n, n_ep - n)]
    ref = pd.Timestamp("2022-04-01") + pd.to_timedelta(rng.integers(0, 360, n_ep), "D")
    episodes = pd.DataFrame({"la_child_id": ids[who], "episode_id": np.arange(n_ep), "referral_date": ref,
                             "referral_source": "2A", "primary_need": "N1", "closure_date": NaT,
                             "closure_reason": None, "referral_nfa": False})
    a = np.arange(0, n_ep, 1)
    assessments = pd.DataFrame({"episode_id": a, "start_date": ref[a] + pd.Timedelta(days=3),
                                "authorisation_date": ref[a] + pd.Timedelta(days=30), "factors": "3B;4B"})
    s = np.arange(0, n_ep, 5)
    section47 = pd.DataFrame({"episode_id": s, "start_date": ref[s],
                              "icpc_date": ref[s] + pd.Timedelta(days=14), "icpc_not_required": False})
    cp = pd.DataFrame({"episode_id": s[::2], "start_date": ref[s[::2]] + pd.Timedelta(days=15),
                       "end_date": NaT, "initial_category": "NEG", "latest_category": "NEG",
                       "number_previous": 0})
    # speed is measured by benchmarks/, never asserted here
    xml = cin_census_xml(2023, "885", children, episodes, assessments, section47, cp)
    assert validate_cin_xml(xml, 2023) == []
