"""Features and outcomes on a tiny county, checked against hand computation; leakage properties."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.build import build_events, build_features, compute_features
from features.registry import FEATURES
from features.window import connect_duckdb

from .conftest import D, spec_with, tiny_person_index, tiny_tables

EXTRACT = date(2026, 3, 31)


@pytest.fixture(scope="module")
def neet():
    spec = _tiny_spec("neet18", 2020)
    return build_features(tiny_tables(), tiny_person_index(), spec, EXTRACT)


def _tiny_spec(name, year):
    """``name`` with index years ``year - 2``..``year`` and the split on them."""
    return spec_with(name, index_dates={"first_year": year - 2, "last_year": year},
                     split={"train_years": [year - 2], "validation_year": year - 1, "test_year": year,
                            "score_year": None})


def _row(build, person, year=2020):
    frame = build.frame
    rows = frame[(frame["person_id"] == person) & (frame["index_year"] == year)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_output_columns_follow_the_contract(neet):
    cols = list(neet.frame.columns)
    assert cols[:4] == ["person_id", "index_date", "index_year", "outcome"]
    assert set(cols[4:]) == set(FEATURES)
    assert str(neet.frame["outcome"].dtype) == "Int8"
    assert neet.report["leakage_check_passed"]


def test_school_features_by_hand(neet):
    p1 = _row(neet, "P1")
    # Year 9 census 2020: autumn 2019 term, 150 possible, 6 authorised + 12 unauthorised (X not counted)
    assert p1["attendance_rate_12m"] == pytest.approx(1 - 18 / 150)
    assert p1["unauthorised_absence_rate_12m"] == pytest.approx(12 / 150)
    assert p1["attendance_rate_36m"] == pytest.approx(1 - (18 + 40) / (150 + 140))
    assert p1["persistent_absence_12m"] == 1 and p1["persistent_absence_terms_ever"] == 2
    assert (p1["suspensions_12m"], p1["suspensions_ever"], p1["suspension_sessions_36m"]) == (1, 2, 6)
    # SEN support seen at the Year 8 census; the Year 9 census is on the index date, so not yet used
    assert p1["sen_status"] == "support" and p1["sen_support_ever"] == 1
    assert p1["fsm_now"] == 0 and p1["fsm_6y"] == 1
    assert p1["ks2_reading_score"] == 98 and p1["ks2_maths_missing"] == 1
    assert p1["fair_sex"] == "M" and p1["age_months"] == (2020 - 2005) * 12 + (1 - 11)


def test_social_care_and_health_by_hand(neet):
    p1 = _row(neet, "P1")
    assert p1["referrals_ever"] == 2 and p1["referrals_12m"] == 1
    assert p1["referral_source_latest"] == "10"
    assert p1["cin_open_now"] == 1  # referred 2018, closed after the index date
    assert p1["toxic_trio_factors_ever"] == 2 and p1["factor_domestic_violence_parent_ever"] == 1
    assert p1["emergency_admissions_12m"] == 1 and p1["admissions_self_harm_ever"] == 1  # X78: self-harm
    assert p1["admissions_assault_maltreatment_ever"] == 0
    assert p1["admissions_adverse_social_ever"] == 1 and p1["ae_attendances_12m"] == 1
    p2 = _row(neet, "P2")
    assert p2["in_social_care_ever"] == 0 and pd.isna(p2["months_since_social_care_record"])
    assert p2["in_health_ever"] == 0 and p2["referrals_ever"] == 0


def test_neet_outcome_both_ways(neet):
    assert _row(neet, "P1")["outcome"] == 1  # 540 at academic age 16
    assert _row(neet, "P2")["outcome"] == 0  # 810 is "not known", not NEET by default
    year = neet.report["rows_by_index_year"]["2020"]
    assert year["outcome_neet_prevalence"] == 0.5 and year["outcome_neet_or_not_known_prevalence"] == 1.0


def test_no_nccis_record_is_excluded_and_counted():
    pi = tiny_person_index()
    pi = pi[pi["record_key_tok"] != "n2"]
    spec = _tiny_spec("neet18", 2020)
    build = build_features(tiny_tables(), pi, spec, EXTRACT)
    assert list(build.frame["person_id"]) == ["P1"]
    reason = build.report["exclusions"]["no_nccis_record"]
    assert reason["total"] == 1 and reason["by_group"]["fair_sex"]["F"] == {"n": 1, "of": 1, "rate": 1.0}


def _care_spec():
    return _tiny_spec("care_entry", 2020)


def _with_care(tables, rows):
    tables["cla_episode"] = pd.DataFrame(rows).astype({"start_date": "datetime64[us]", "end_date": "datetime64[us]"})
    return tables


def test_care_outcome_counts_only_entries_in_the_window():
    base = {"collection_year": 2021, "la_child_id_tok": "c1", "rne": "S"}
    tables = _with_care(tiny_tables(), [{**base, "start_date": "2020-09-01", "end_date": None}])
    build = build_features(tables, tiny_person_index(), _care_spec(), EXTRACT)
    assert _row(build, "P1")["outcome"] == 1
    # the baby has no record after the index date: censored as having left, not counted as 0
    assert "P3" not in set(build.frame["person_id"])
    assert build.report["censoring"]["left_all_sources"]["by_index_year"]["2020"] == 2
    # the same child entering (and leaving) care before the index date: history, not outcome
    tables = _with_care(tiny_tables(), [{**base, "start_date": "2019-01-01", "end_date": "2019-06-01"}])
    build = build_features(tables, tiny_person_index(), _care_spec(), EXTRACT)
    p1 = _row(build, "P1")
    assert p1["outcome"] == 0 and p1["care_ever"] == 1 and p1["months_since_care_ended"] == 9  # June 2019 to March 2020


def test_looked_after_on_index_is_excluded():
    base = {"collection_year": 2020, "la_child_id_tok": "c1", "rne": "S"}
    tables = _with_care(tiny_tables(), [{**base, "start_date": "2019-01-01", "end_date": None}])
    build = build_features(tables, tiny_person_index(), _care_spec(), EXTRACT)
    assert "P1" not in set(build.frame["person_id"])
    assert build.report["exclusions"]["looked_after_on_index"]["by_index_year"] == {"2019": 1, "2020": 1}


def test_immature_outcome_is_missing():
    build = build_features(tiny_tables(), tiny_person_index(), _tiny_spec("care_entry", 2026), EXTRACT)
    p3 = build.frame[build.frame["person_id"] == "P3"]
    assert p3.empty or p3["outcome"].isna().all()
    assert build.report["rows_by_index_year"].get("2026", {"labelled": 0})["labelled"] == 0


@pytest.fixture(scope="module")
def tiny_events():
    return build_events(tiny_tables(), tiny_person_index())


EVENT_DOMAINS = sorted({f.domain for f in FEATURES.values() if f.domain})


def _as_person(rows, person, events):
    """``rows`` moved onto ``person`` (both the text id and the integer join key)."""
    key = events["person"].set_index("person_id").loc[person, "person_key"]
    return rows.assign(person_id=person, person_key=key)


@pytest.fixture(scope="module")
def features_before(tiny_events):
    cohort = pd.DataFrame({"row_id": [0, 1, 2], "person_id": ["P1", "P2", "P3"], "index_date": [INDEX] * 3})
    con = connect_duckdb(threads=1)
    return con, cohort, compute_features(con, cohort, tiny_events)[0]


INDEX = D("2020-03-31")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(domain=st.sampled_from(EVENT_DOMAINS), days=st.integers(0, 4000), person=st.sampled_from(["P1", "P2", "P3"]),
       source_row=st.integers(0, 50))
def test_future_events_change_no_feature(tiny_events, features_before, domain, days, person, source_row):
    con, cohort, before = features_before
    index_date = INDEX
    ev = tiny_events[domain]
    template = ev.iloc[[source_row % len(ev)]].copy() if len(ev) else None
    if template is None:
        return
    template = _as_person(template, person, tiny_events)
    template["event_date"] = index_date + pd.Timedelta(days=days)
    changed = {**tiny_events, domain: pd.concat([ev, template], ignore_index=True)}
    after, _ = compute_features(con, cohort, changed)
    pd.testing.assert_frame_equal(before, after)


def test_an_event_before_the_index_date_does_change_features(tiny_events):
    """The property above can fail: the same append one day earlier is seen."""
    index_date = D("2020-03-31")
    cohort = pd.DataFrame({"row_id": [0], "person_id": ["P3"], "index_date": [index_date]})
    con = connect_duckdb()
    before, _ = compute_features(con, cohort, tiny_events)
    ae = _as_person(tiny_events["ae"].iloc[[0]], "P3", tiny_events).assign(
        event_date=index_date - pd.Timedelta(days=1))
    after, _ = compute_features(con, cohort, {**tiny_events, "ae": pd.concat([tiny_events["ae"], ae])})
    assert after.loc[0, "ae_attendances_12m"] == before.loc[0, "ae_attendances_12m"] + 1


def test_outcome_ignores_nccis_before_the_index_date():
    tables = tiny_tables()
    early = tables["nccis_activity"].iloc[[1]].assign(activity_code="540", activity_start=D("2019-06-01"))
    tables["nccis_activity"] = pd.concat([tables["nccis_activity"], early], ignore_index=True)
    spec = _tiny_spec("neet18", 2020)
    build = build_features(tables, tiny_person_index(), spec, EXTRACT)
    assert _row(build, "P2")["outcome"] == 0


def test_a_population_builds_only_the_feature_groups_it_declares(monkeypatch):
    from dataclasses import replace

    from features import populations
    from features.registry import FEATURES, population_features

    assert list(population_features("children")) == list(FEATURES)  # children: every group, in registry order
    adults = replace(populations.CHILDREN, name="adults", feature_groups=("health", "demographics", "coverage"))
    monkeypatch.setitem(populations.POPULATIONS, "adults", adults)
    built = population_features("adults")
    assert built and {f.group for f in built.values()} == {"health", "demographics", "coverage"}
    assert not any(name.startswith(("attendance", "ks2_", "suspensions")) for name in built)
