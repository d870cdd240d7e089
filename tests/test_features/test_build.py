"""Features and outcomes on a tiny county, checked against hand computation; leakage properties."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import registry
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
    # the features of the spec's population (an adults' model's are built for adults only)
    assert set(cols[4:]) == set(registry.spec_features(_tiny_spec("neet18", 2020)))
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


def _with_nccis(tables, rows):
    """``tables`` with NCCIS activities added: ``(ccis token, activity code, start)``."""
    extra = pd.DataFrame([{"ccis_id_tok": tok, "birth_year": 2005 if tok == "n1" else 2006,
                           "birth_month": 11 if tok == "n1" else 3, "sex": "M" if tok == "n1" else "F",
                           "activity_code": code, "activity_start": D(start)} for tok, code, start in rows])
    tables["nccis_activity"] = pd.concat([tables["nccis_activity"], extra], ignore_index=True)
    return tables


def test_young_person_with_no_nccis_record_stays_a_negative():
    """No NCCIS record is not evidence of moving away: still on roll in Year 11, P2 is a negative."""
    pi = tiny_person_index()
    pi = pi[pi["record_key_tok"] != "n2"]
    build = build_features(tiny_tables(), pi, _tiny_spec("neet18", 2020), EXTRACT)
    assert _row(build, "P2")["outcome"] == 0
    assert "no_nccis_record" not in build.report["exclusions"]


def test_left_before_window_excludes_a_positive_row():
    """The moved-away rule reads other sources only: P1 is NEET (540) but seen nowhere else in the year
    before academic age 16, so P1 is excluded - the rule does not key on the label."""
    tables = tiny_tables()
    pupils = tables["school_pupil"]
    tables["school_pupil"] = pupils[pupils["pupil_record_id_tok"] != "r1b"]
    build = build_features(tables, tiny_person_index(), _tiny_spec("neet18", 2020), EXTRACT)
    assert list(build.frame.loc[build.frame["index_year"] == 2020, "person_id"]) == ["P2"]
    reason = build.report["exclusions"]["left_before_window"]
    assert reason["by_index_year"] == {"2020": 1} and reason["by_group"]["fair_sex"]["M"]["n"] == 1
    assert "left_before_window" in build.report["exclusion_rules"]
    # switched off, the same positive row is kept
    spec = spec_with("neet18", index_dates={"first_year": 2018, "last_year": 2020},
                     split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None},
                     exclusions={"left_before_window": False})
    assert _row(build_features(tables, tiny_person_index(), spec, EXTRACT), "P1")["outcome"] == 1


def test_custody_leaves_the_denominator_whatever_the_outcome():
    """710 is out of the NEET denominator: P1 (NEET, then custody) and P2 (custody only) both leave."""
    tables = _with_nccis(tiny_tables(), [("n1", "710", "2023-01-10"), ("n2", "710", "2022-12-01")])
    build = build_features(tables, tiny_person_index(), _tiny_spec("neet18", 2020), EXTRACT)
    assert build.frame[build.frame["index_year"] == 2020].empty
    assert build.report["exclusions"]["custody_in_window"]["by_index_year"] == {"2020": 2}
    counts = build.report["row_reconciliation"]
    assert counts["reconciled"] and counts["excluded"] + counts["kept"] == counts["cohort_rows"]


def test_neet_spell_started_before_the_window_counts_while_in_force():
    """P2's window opens 1 Sep 2022; a 540 from July is still in force then (the next activity starts
    in October), so P2 is NEET. Ended by a 210 in August, it is not."""
    tables = _with_nccis(tiny_tables(), [("n2", "540", "2022-07-01")])
    assert _row(build_features(tables, tiny_person_index(), _tiny_spec("neet18", 2020), EXTRACT), "P2")["outcome"] == 1
    tables = _with_nccis(tiny_tables(), [("n2", "540", "2022-07-01"), ("n2", "210", "2022-08-15")])
    assert _row(build_features(tables, tiny_person_index(), _tiny_spec("neet18", 2020), EXTRACT), "P2")["outcome"] == 0


def _care_spec(**exclusions):
    return spec_with("care_entry", index_dates={"first_year": 2018, "last_year": 2020},
                     split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None},
                     exclusions={"open_to_social_care_on_index": False, **exclusions})


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
    assert build.report["censoring"]["left_all_sources"]["by_index_year"]["2020"] == 1  # P2 is on roll in 2022
    # the same child entering (and leaving) care before the index date: history, not outcome
    tables = _with_care(tiny_tables(), [{**base, "start_date": "2019-01-01", "end_date": "2019-06-01"}])
    build = build_features(tables, tiny_person_index(), _care_spec(), EXTRACT)
    p1 = _row(build, "P1")
    assert p1["outcome"] == 0 and p1["care_ever"] == 1 and p1["months_since_care_ended"] == 9  # June 2019 to March 2020


def test_change_of_placement_within_a_period_of_care_is_not_an_entry():
    """A period that ends on the index date and continues the same day with a new placement (RNE P) is
    not an entry; with RNE missing, the episode ending that day marks it as continuing too."""
    base = {"collection_year": 2021, "la_child_id_tok": "c1"}
    first = {**base, "rne": "S", "start_date": "2019-09-01", "end_date": "2020-03-31"}
    for rne in ("P", "L", None):
        tables = _with_care(tiny_tables(), [first, {**base, "rne": rne, "start_date": "2020-03-31", "end_date": None}])
        assert _row(build_features(tables, tiny_person_index(), _care_spec(), EXTRACT), "P1")["outcome"] == 0, rne
    # a new period (S), or an episode with no RNE that continues nothing, is an entry
    for rne in ("S", None):
        tables = _with_care(tiny_tables(), [{**base, "rne": rne, "start_date": "2020-06-01", "end_date": None}])
        assert _row(build_features(tables, tiny_person_index(), _care_spec(), EXTRACT), "P1")["outcome"] == 1, rne


def test_left_all_sources_censors_a_positive_row():
    """Censoring judges only records other than the SSDA903 episodes: P1 enters care in 2023 but no other
    source holds P1 after the index date, so the positive row is censored like a negative one."""
    spec = spec_with("care_entry", index_dates={"first_year": 2021, "last_year": 2023},
                     split={"train_years": [2021], "validation_year": 2022, "test_year": 2023, "score_year": None})
    tables = _with_care(tiny_tables(), [{"collection_year": 2024, "la_child_id_tok": "c1", "rne": "S",
                                         "start_date": "2023-06-01", "end_date": None}])
    build = build_features(tables, tiny_person_index(), spec, EXTRACT)
    assert "P1" not in set(build.frame.loc[build.frame["index_year"] == 2023, "person_id"])
    assert build.report["censoring"]["left_all_sources"]["by_index_year"]["2023"] >= 1
    assert "left_all_sources" in build.report["censoring_rules"]


def test_children_open_to_social_care_are_not_scored():
    """P1's CIN episode (referred June 2018, closed May 2020) is open on 31 March 2019 and 2020, not 2018."""
    build = build_features(tiny_tables(), tiny_person_index(), _care_spec(open_to_social_care_on_index=True), EXTRACT)
    reason = build.report["exclusions"]["open_to_social_care_on_index"]
    assert reason["by_index_year"] == {"2019": 1, "2020": 1}
    assert reason["by_group"]["fair_sex"]["M"]["n"] == 2
    assert "they have a social worker" in build.report["exclusion_rules"]["open_to_social_care_on_index"]
    assert not ((build.frame["person_id"] == "P1") & (build.frame["index_year"] >= 2019)).any()
    # a child protection plan open on the index date excludes as well; one ended before it does not
    tables = tiny_tables()
    tables["cin_episode"] = tables["cin_episode"].iloc[0:0]
    plan = {"collection_year": 2020, "la_child_id_tok": "c1", "initial_category": "NEG"}
    tables["cin_cp_plan"] = pd.DataFrame([{**plan, "cpp_start": D("2019-05-01"), "cpp_end": D("2020-06-01")},
                                          {**plan, "cpp_start": D("2017-01-01"), "cpp_end": D("2017-06-01")}])
    build = build_features(tables, tiny_person_index(), _care_spec(open_to_social_care_on_index=True), EXTRACT)
    assert build.report["exclusions"]["open_to_social_care_on_index"]["by_index_year"] == {"2020": 1}


def test_open_on_index_means_started_before_and_not_ended_by_it():
    from features.cohorts import STATUTORY_DOMAINS, open_on_index

    index = D("2020-03-31")
    referral = pd.DataFrame({"person_id": ["A", "B", "C", "D"],
                             "event_date": [D("2019-01-01"), D("2019-01-01"), index, D("2019-01-01")],
                             "closure_date": [pd.NaT, index, pd.NaT, D("2020-04-01")]})
    empty = pd.DataFrame({"person_id": pd.Series(dtype="str"), "event_date": pd.Series(dtype="datetime64[ns]"),
                          "cpp_end": pd.Series(dtype="datetime64[ns]"), "end_date": pd.Series(dtype="datetime64[ns]")})
    cohort = pd.DataFrame({"person_id": ["A", "B", "C", "D", "E"], "index_date": [index] * 5})
    events = {"referral": referral, "cp_plan": empty, "care": empty}
    # A open (no closure), B closed on the index date, C referred on it, D closed after it, E unknown
    assert open_on_index(events, cohort, STATUTORY_DOMAINS).tolist() == [True, False, False, True, False]


def test_capacity_share_of_the_cohort_is_reported():
    spec = spec_with("care_entry", index_dates={"first_year": 2018, "last_year": 2020},
                     split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None},
                     capacity_per_year=2, capacity_by_year={2020: 1})
    build = build_features(tiny_tables(), tiny_person_index(), spec, EXTRACT)
    test = build.report["capacity"]["test_year"]
    rows = build.report["rows_by_index_year"]["2020"]["rows"]
    assert test["capacity"] == 1 and test["cohort_rows"] == rows and test["share"] == round(1 / rows, 5)


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

    # children: every group they declare, in registry order, and none of the adults'
    children = populations.CHILDREN.feature_groups
    assert list(population_features("children")) == [n for n, f in FEATURES.items() if f.group in children]
    assert not any(g.startswith("adult_") for g in children)
    adults = replace(populations.CHILDREN, name="adults", feature_groups=("health", "demographics", "coverage"))
    monkeypatch.setitem(populations.POPULATIONS, "adults", adults)
    built = population_features("adults")
    assert built and {f.group for f in built.values()} == {"health", "demographics", "coverage"}
    assert not any(name.startswith(("attendance", "ks2_", "suspensions")) for name in built)
