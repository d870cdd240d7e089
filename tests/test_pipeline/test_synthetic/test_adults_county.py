"""The synthetic adults in the county: the AdultLives contract, and the children's extracts unchanged
byte for byte whether adults are simulated or not (issue #17)."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import SynthParams
from pipeline.synthetic import build_county
from pipeline.synthetic.adults import AdultLives

CHILDREN = 800
# the health files gain the adults' rows; every other extract must not change at all
SHARED = {"health/nhs_demographics.csv", "health/hes_apc.csv", "health/hes_ae.csv"}
COLUMNS = {
    "people": {"person_id", "household_id", "role", "dob", "sex", "ethnicity", "ethnicity_group", "forename",
               "surname", "nhs_number", "arrive_date", "leave_date", "death_date", "death_cause_icd10",
               "death_place", "learning_disability", "gp_practice", "lsoa_code", "imd_decile", "self_funder"},
    "addresses": {"person_id", "uprn", "postcode", "lsoa_code", "start", "end"},
    "gp_registrations": {"person_id", "gp_practice", "start", "end"},
    "gp_events": {"person_id", "date", "snomed", "value", "unit", "concept"},
    "medications": {"person_id", "date", "bnf_code", "quantity", "repeat"},
    "admissions": {"person_id", "spell_id", "admission_date", "discharge_date", "admission_method",
                   "admission_source", "discharge_method", "discharge_destination", "diagnoses", "n_episodes",
                   "via_ed_attendance_id"},
    "attendances": {"person_id", "attendance_id", "arrival_date", "department_type", "attendance_category",
                    "arrival_mode", "acuity", "chief_complaint", "injury_intent", "diagnosis_snomed",
                    "substance_involved", "discharge", "departure_date"},
    "outpatients": {"person_id", "appointment_date", "attended", "first_attendance", "specialty"},
    "care_home_entries": {"person_id", "entry_date", "setting", "funding", "permanent", "route"},
    "asc_events": {"person_id", "event_id", "event_type", "start", "end", "client_type", "primary_support_reason",
                   "route_of_access", "assessment_type", "service_type", "service_component", "delivery_mechanism",
                   "unit_cost", "planned_units_per_week", "outcome", "review_reason", "hours_caring",
                   "linked_person_id"},
    "caring": {"carer_id", "cared_for_id", "start", "end", "hours_per_week", "relationship"},
    "adversity": {"person_id", "kind", "start", "end"},
}


def _text(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def counties():
    off = build_county(SynthParams(children=CHILDREN))
    on = build_county(SynthParams(children=CHILDREN, adults={"enabled": True}))
    return off, on


def test_children_extracts_identical_with_adults_on_or_off(counties):
    off, on = counties
    for path, (frame, _) in off.csv.items():
        if path not in SHARED:
            assert _text(frame) == _text(on.csv[path][0]), path
    assert off.xml == on.xml
    for name, frame in off.truth.items():
        if name == "person_map":  # the adults' record keys follow the children's, which are unchanged
            pd.testing.assert_frame_equal(frame, on.truth[name].iloc[: len(frame)])
            assert set(on.truth[name]["source"]) >= {"health", "gp", "deaths", "adult_social_care"}
        else:
            pd.testing.assert_frame_equal(frame, on.truth[name])
    # in the shared health files the children's rows come first, exactly as before
    for path in SHARED:
        before, after = off.csv[path][0], on.csv[path][0]
        assert len(after) > len(before) or path == "health/hes_ae.csv", path
        head = after.iloc[: len(before)][list(before.columns)].reset_index(drop=True)
        assert _text(head) == _text(before), path


def test_adults_off_writes_nothing_of_theirs(counties):
    off, on = counties
    assert not any(k.startswith("adults_") for k in off.truth)
    assert {f"adults_{f.name}" for f in dataclasses.fields(AdultLives)} <= set(on.truth)


def test_adult_lives_follow_the_contract(counties):
    truth = counties[1].truth
    for name, cols in COLUMNS.items():
        assert set(truth[f"adults_{name}"].columns) == cols, name
    people = truth["adults_people"]
    county = truth["people"]
    assert people["person_id"].is_unique
    # children and parents keep the county's ids; the new adults come above them
    assert set(county["person_id"]) <= set(people["person_id"])
    assert people.loc[~people["person_id"].isin(county["person_id"]), "person_id"].min() > county["person_id"].max()
    assert people["nhs_number"].str.fullmatch(r"\d{10}").all() and people["nhs_number"].is_unique
    assert set(people["role"]) == {"mother", "father", "adult", "older", "child"}
    addr = truth["adults_addresses"]
    assert addr["uprn"].str.fullmatch(r"\d{12}").all()
    arrived = people.loc[people["arrive_date"] <= pd.Timestamp("2026-03-31"), "person_id"]
    assert set(arrived) == set(addr["person_id"])
    # a household shares its address: every household's members on one uprn on the reference date
    ref = pd.Timestamp("2026-03-31")
    now = addr[(addr["start"] <= ref) & (addr["end"].isna() | (addr["end"] > ref))]
    home = now.merge(people[["person_id", "household_id"]], on="person_id")
    home = home[~home["uprn"].isin(home.groupby("uprn")["household_id"].nunique().loc[lambda s: s > 1].index)]
    assert (home.groupby("household_id")["uprn"].nunique() == 1).all()
    ch = truth["adults_care_home_entries"]
    assert set(ch["setting"]) <= {"residential", "nursing"} and set(ch["funding"]) <= {"council", "self"}
    adm = truth["adults_admissions"]
    assert adm["spell_id"].is_unique and (adm["n_episodes"] >= 1).all()
    assert all(len(d) >= 1 for d in adm["diagnoses"])
    via = adm.loc[adm["via_ed_attendance_id"] >= 0, "via_ed_attendance_id"]
    assert via.isin(truth["adults_attendances"]["attendance_id"]).all()
    ev = truth["adults_asc_events"]
    assert ev["event_id"].is_unique
    assert set(ev["event_type"]) == {"Request", "Assessment", "Service", "Review"}
    carers = ev[ev["client_type"] == "Carer"]
    assert (carers["linked_person_id"] >= 0).all()
    assert ev.loc[ev["event_type"] != "Service", "end"].notna().all()


def test_same_seed_same_adults():
    from pipeline.synthetic.adults.county import adult_county  # noqa: F401  (the county's entry point)

    a = build_county(SynthParams(children=300, adults={"enabled": True})).truth["adults_admissions"]
    b = build_county(SynthParams(children=300, adults={"enabled": True})).truth["adults_admissions"]
    pd.testing.assert_frame_equal(a, b)
    assert np.issubdtype(a["spell_id"].dtype, np.integer)


def test_admission_rates_need_every_age_band():
    with pytest.raises(ValueError, match="emergency_per_1000"):
        SynthParams(adults={"emergency_per_1000": {"18-44": 60.0}})
