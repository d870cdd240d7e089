"""From when each input's source holds records (``features.coverage``, issue #18), checked by hand."""

from __future__ import annotations

import pandas as pd

from features.adult_social_care import build_cld_events
from features.coverage import domain_starts, input_coverage, look_back_months
from features.event_registry import EventBuilder
from features.feature import Feature
from features.ld_register import FEATURES as REGISTER_FEATURES

from .test_adult_features import _build

D = pd.Timestamp


def _builder(domain: str, coverage_from: str | None = None) -> EventBuilder:
    return EventBuilder(domain, "src", lambda: None, {}, (), False, None, False, "features.x", 0, coverage_from)


def _feature(name: str, window: str, domain: str | None = "late", reads: tuple[str, ...] = ()) -> Feature:
    return Feature(name, name, "S", window, "numeric", "model", "g", domain, "count(*)" if domain else None, 0,
                   reads=reads)


def test_a_declared_reporting_period_dates_the_source_not_its_oldest_event():
    """A service open when the collection started carries its own start (2015): the source still holds records
    only from the first reporting period (April 2023). Without a declaration the first month with events counts."""
    events = {"late": pd.DataFrame({"event_date": [D("2015-06-10"), D("2023-05-02")],
                                    "period_start": [D("2023-04-01"), D("2023-04-01")]}),
              "old": pd.DataFrame({"event_date": [D("2009-07-17"), D("2012-01-01")]}),
              "none": pd.DataFrame({"event_date": pd.Series([], dtype="datetime64[s]")})}
    starts = domain_starts(events, [_builder("late", "period_start"), _builder("old"), _builder("none")])
    assert starts == {"late": D("2023-04-01"), "old": D("2009-07-01")}


def test_an_input_is_covered_once_its_whole_look_back_is_after_the_start():
    starts = {"late": D("2023-04-01"), "old": D("2009-07-01")}
    features = {f.name: f for f in (
        _feature("ever", "ever"), _feature("now", "now"), _feature("year", "12m"), _feature("six", "6y"),
        _feature("across", "ever", domain="record"),  # cross-source: no single start
        _feature("rows", "12m", domain=None, reads=("old", "late")))}  # row-built: the latest start of what it reads
    coverage = input_coverage(features, starts, {"late": "adult_social_care", "old": "gp"})
    assert {n: c["covered_from"] for n, c in coverage.items()} == {
        "ever": "2023-04-01", "now": "2023-04-01", "year": "2024-04-01", "six": "2029-04-01", "rows": "2024-04-01"}
    assert coverage["rows"]["source"] == "gp, adult_social_care" and coverage["rows"]["source_starts"] == "2023-04-01"
    assert [look_back_months(w) for w in ("ever", "latest", "24m", "36m", "6y")] == [0, 0, 24, 36, 72]


def test_the_cld_frame_carries_its_reporting_period():
    rows = pd.DataFrame({"person_id": ["A1"], "la_code": ["E1"], "period_start": [D("2023-04-01")],
                         "period_end": [D("2023-06-30")], "event_type": ["Service"], "event_start": [D("2016-01-05")],
                         "event_end": [pd.NaT], "service_type": ["Long Term Support: Nursing Care"],
                         "service_component": ["x"], "delivery_mechanism": ["x"], "client_type": ["Service User"],
                         "_source_file": ["f"], "_source_row": [1], "la_person_id_tok": ["t"]})
    out = build_cld_events(rows)
    assert out["period_start"].tolist() == [D("2023-04-01")] and out["event_date"].tolist() == [D("2016-01-05")]


def test_the_register_inputs_from_adult_social_care_read_the_cld():
    reads = {f.name: f.reads for f in REGISTER_FEATURES}
    assert {n for n, r in reads.items() if r == ("cld",)} == {"carer_assessed_ever", "carer_own_care_ever",
                                                              "person_care_12m"}


def test_features_json_says_from_when_each_input_is_covered():
    """The tiny adults' county: GP medication is issued from April 2019, so a 12-month medication input is covered
    from April 2020; GP codes go back to 2010; the features themselves are what they were."""
    build = _build("emergency_admission")
    coverage = build.report["input_coverage"]
    assert coverage["medication_issues_12m"] == {"source": "gp", "domains": ["gp_medication"], "window": "12m",
                                                 "source_starts": "2019-04-01", "covered_from": "2020-04-01"}
    assert coverage["gp_ltc_count"]["covered_from"] == "2010-01-01"
    assert "months_since_record" not in coverage  # cross-source (record) inputs have no single start
