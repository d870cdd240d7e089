"""The leakage perturbation: features that see the future change when it is deleted, and the gate says which.

Real feature code on the tiny county; the planted leaks are the two shapes the join condition cannot stop:
a SQL feature reading a span's end date (known only after the index date) and a feature computed in
Python from the outcome's own events (NCCIS activities, all after the Year 9 census).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from ethics.gate_evidence import GateEvidence
from ethics.integrity_checks import check_leakage_guard
from features import registry
from features.build import build_events, build_features, features_with_context, with_cross_source
from features.cohorts import build_cohort
from features.feature import Feature
from features.leakage import compare_features, cut_at_index, leakage_perturbation
from features.populations import get_population
from features.window import connect_duckdb

from .conftest import D, spec_with, tiny_person_index, tiny_tables

EXTRACT = date(2026, 3, 31)
SPEC = spec_with("neet18", index_dates={"first_year": 2018, "last_year": 2020},
                 split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None})

# a CIN episode's length read from its closure date: P1's referral of June 2018 closes in May 2020, after
# the 2020 census — on the index date nobody knew when (or whether) it would close
CIN_DAYS = Feature("cin_episode_days", "Days of the longest CIN episode (leaks its closure)", "CIN census", "ever",
                   "numeric", "model", "social_care", "referral",
                   "max(date_diff('day', e.event_date, e.closure_date))")


def _evidence(report: dict) -> GateEvidence:
    return GateEvidence(metrics={}, group_metrics=pd.DataFrame(), run={}, thresholds_sha256="",
                        split_years=pd.DataFrame(), features_report=report)


def test_the_shipped_features_do_not_change_and_the_gate_passes():
    build = build_features(tiny_tables(), tiny_person_index(), SPEC, EXTRACT, leakage_sample_rows=50)
    perturbation = build.report["leakage_perturbation"]
    assert perturbation["sampled"] == perturbation["rows_compared"] == len(build.frame) > 0
    assert perturbation["differing_rows"] == 0 and perturbation["differing_features"] == {}
    result = check_leakage_guard(_evidence(build.report), None)
    assert result.status == "pass", result.evidence


def test_a_feature_reading_a_closure_date_after_the_index_is_caught_and_blocks(monkeypatch):
    monkeypatch.setitem(registry.FEATURES, CIN_DAYS.name, CIN_DAYS)
    build = build_features(tiny_tables(), tiny_person_index(), SPEC, EXTRACT, leakage_sample_rows=50)
    p1_2020 = build.frame[(build.frame["person_id"] == "P1") & (build.frame["index_year"] == 2020)].iloc[0]
    assert p1_2020["cin_episode_days"] == (D("2020-05-01") - D("2018-06-01")).days  # the full build saw the future
    perturbation = build.report["leakage_perturbation"]
    assert perturbation["differing_features"] == {"cin_episode_days": 1}
    result = check_leakage_guard(_evidence(build.report), None)
    assert result.status == "fail"
    assert result.evidence.startswith("features changed when events on or after the index date were removed: "
                                      "cin_episode_days (1 row)")
    assert "they see the future" in result.evidence
    # the join condition's own proof still passes: it cannot see this leak
    assert build.report["leakage_check_passed"]


def _with_nccis_neet_ever(con, cohort, events):
    """The shipped features plus one computed in Python from every NCCIS activity, whatever its date."""
    frame = features_with_context(con, cohort, events, registry.population_features("children"),
                                  get_population("children").age_bands)[0]
    nccis = events["nccis"]
    neet = set(nccis.loc[nccis["activity_code"].astype("str").str.startswith("5"), "person_id"].astype("str"))
    return frame.assign(nccis_neet_ever=frame["person_id"].astype("str").isin(neet).astype("int8"))


def test_a_feature_computed_from_the_outcome_window_is_caught():
    con = connect_duckdb()
    events = build_events(tiny_tables(), tiny_person_index())
    cohort = build_cohort(events, SPEC)
    full = _with_nccis_neet_ever(con, cohort, events)
    assert full["nccis_neet_ever"].sum() > 0  # P1's NEET activity (540) of October 2022
    found = leakage_perturbation(full, events, ["attendance_rate_12m", "nccis_neet_ever"], _with_nccis_neet_ever,
                                 with_cross_source, con, n=100, seed=1)
    assert found["rows_compared"] == len(full)
    assert found["differing_features"] == {"nccis_neet_ever": int(full["nccis_neet_ever"].sum())}


def test_cutting_deletes_events_on_the_index_date_and_hides_later_ends():
    events = pd.DataFrame({"person_id": ["A", "A", "A", "B"],
                           "event_date": [D("2019-01-01"), D("2020-01-16"), D("2021-01-01"), D("2019-01-01")],
                           "closure_date": [D("2020-03-01"), pd.NaT, pd.NaT, D("2020-01-16")]})
    sample = pd.DataFrame({"person_id": ["A", "B"], "leak_id": ["leak1", "leak2"],
                           "index_date": [D("2020-01-16"), D("2020-01-16")]})
    cut = cut_at_index(events, sample)
    assert list(cut["person_id"]) == ["leak1", "leak2"]  # A's events on and after the index date are gone
    assert pd.isna(cut["closure_date"].iloc[0])  # closes after the index date: not known then
    assert cut["closure_date"].iloc[1] == D("2020-01-16")  # closed on the index date: known, as OPEN_AT_INDEX reads it


def test_one_child_sampled_at_two_index_dates_gets_two_histories():
    events = pd.DataFrame({"person_id": ["A", "A"], "event_date": [D("2018-05-01"), D("2019-05-01")]})
    sample = pd.DataFrame({"person_id": ["A", "A"], "leak_id": ["leak1", "leak2"],
                           "index_date": [D("2019-01-17"), D("2020-01-16")]})
    cut = cut_at_index(events, sample)
    assert cut.groupby("person_id").size().to_dict() == {"leak1": 1, "leak2": 2}


@pytest.mark.parametrize("left, right, differs", [
    ([1.0, None, "a"], [1.0, None, "a"], 0),
    ([1.0, None, "a"], [1.0, 0.0, "a"], 1),
    ([0.30000000000000004, 2.0, "a"], [0.3, 2.0, "b"], 2),
])
def test_comparison_is_exact_and_nan_aware(left, right, differs):
    full = pd.DataFrame({"row_id": [1], "x": [left[0]], "y": [left[1]], "z": [left[2]]})
    other = pd.DataFrame({"row_id": [1], "x": [right[0]], "y": [right[1]], "z": [right[2]]})
    assert len(compare_features(full, other, ["x", "y", "z"])["differing_features"]) == differs


def test_the_gate_cannot_pass_without_the_perturbation():
    report = {"max_event_date_before_index": {"school": {"all_strictly_before_index": True}}}
    assert check_leakage_guard(_evidence(report), None).status == "not_evaluable"
    report["leakage_perturbation"] = {"sampled": 0, "rows_compared": 0, "differing_rows": 0, "differing_features": {}}
    assert check_leakage_guard(_evidence(report), None).status == "not_evaluable"
