"""The recording check: a ward that starts recording a CIN assessment factor more often, with no change in need.

Simulated at the demo scale (24 wards of 1,250 children; ~3 CIN assessments a ward a month, 6% with factor 3B):
taken at face value the controlled ITS finds a rise; with the step put down to recording the change beyond it
covers 0, and the truth check judges both against the planted truth (no change).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.impact.estimate import NULL_RESULT, RECORDING_CHANGE
from pipeline.impact.recording_check import (
    PROGRAMME,
    coded_assessments,
    factor_code,
    recording_card,
    recording_card_html,
    recording_estimates,
)
from pipeline.impact.truth_check import check_against_truth

WARDS, PER_WARD = 24, 1250
CHANGE = "2023-10-01"
MONTHS = pd.date_range("2017-10-01", "2026-02-01", freq="MS")
NO_DATED = pd.DataFrame(columns=["person_id", "census_date", "ward_code"])
REGIME = pd.DataFrame([{"source": "social_care", "table": "cin_assessment", "field": "factors", "ward_code": "W00",
                        "change_date": CHANGE, "description": "new screening question: factor 3B recorded more often"}])


def _county(factor: float, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Children with a known (current) ward and their CIN assessments; ward W00 records 3B ``factor`` times as
    often from CHANGE (need unchanged: the other assessments keep their rate)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"p{i}" for i in range(WARDS * PER_WARD)])
    people = pd.DataFrame({"person_id": ids, "birth_year": 2012, "birth_month": 6})
    current = pd.Series(np.repeat([f"W{w:02d}" for w in range(WARDS)], PER_WARD), index=ids)
    per_month = PER_WARD * (34 / 1250) / 12  # assessments a ward a month, as the 30,000-child county
    parts = []
    for w in range(WARDS):
        for month in MONTHS:
            boost = factor if w == 0 and month >= pd.Timestamp(CHANGE) else 1.0
            for code, rate in (("3B", 0.06 * per_month * boost), ("21", 0.94 * per_month)):
                n = rng.poisson(rate)
                when = month + pd.to_timedelta(rng.integers(0, 27, n), unit="D")
                parts.append(pd.DataFrame({"person_id": rng.choice(ids[w * PER_WARD:(w + 1) * PER_WARD], n),
                                           "assessment_start": when, "factors": code}))
    assessments = pd.concat(parts, ignore_index=True)
    assessments["referral_date"] = assessments["assessment_start"]
    return people, assessments, current


def _check(factor: float):
    people, assessments, current = _county(factor)
    return recording_estimates(REGIME, assessments, people, NO_DATED, current, set(), MONTHS[-1])


@pytest.fixture(scope="module")
def broken():
    return _check(8.0)


def test_face_value_finds_a_rise_the_recording_step_explains(broken):
    (naive, adjusted), frames, not_run = broken[0], broken[1], broken[2]
    assert not not_run and len(frames) == 1
    assert naive.programme == adjusted.programme == PROGRAMME
    assert naive.design == adjusted.design == "its_controlled"
    assert naive.ci_low > 0, "taken at face value the recorded rise must look like a real one"
    assert adjusted.ci_low <= 0 <= adjusted.ci_high, "beyond the recording step there is no change in need"
    assert RECORDING_CHANGE in naive.flags and RECORDING_CHANGE in adjusted.flags
    assert NULL_RESULT in adjusted.flags and NULL_RESULT not in naive.flags
    assert adjusted.diagnostics["recording_break_covariate"] is True
    assert adjusted.diagnostics["recording_step_ci"][0] > 0  # the rise sits in the step


def test_truth_check_judges_both_against_no_change(broken):
    effects = {"recording_break": {"ward_code": "W00", "date": CHANGE, "true_change": 0}}
    checks = check_against_truth([e.to_dict() for e in broken[0]], effects)["checks"]
    naive, adjusted = checks
    assert naive["truth_key"] == adjusted["truth_key"] == "true_change"
    assert (naive["naive"], naive["covered"]) == (True, False)
    assert (adjusted["naive"], adjusted["covered"]) == (False, True)


def test_card_says_it_was_the_recording(broken):
    card = recording_card(broken[0], broken[1])
    assert card["title"] == "What changed was the recording, not the need"
    assert "no sign of a change in need" in card["lines"][0] and len(card["charts"]) == 1
    assert "<h1>What changed was the recording, not the need</h1>" in recording_card_html(card)


def test_without_a_break_face_value_finds_nothing():
    (naive, adjusted), _, _ = _check(1.0)
    assert naive.ci_low <= 0 <= naive.ci_high and adjusted.ci_low <= 0 <= adjusted.ci_high


def test_other_regime_rows_are_reported_not_checked():
    regime = pd.concat([REGIME.assign(table="cin_episode", field="referral_date"), REGIME.assign(ward_code="")])
    found, frames, not_run = recording_estimates(regime, None, pd.DataFrame(), NO_DATED, pd.Series(dtype="str"),
                                                 set(), MONTHS[-1])
    assert not found and not frames
    assert [r.split(":")[0] for r in not_run] == [
        "recording_regime change of cin_episode.referral_date on 2023-10-01 in ward W00",
        "recording_regime change of cin_assessment.factors on 2023-10-01 in the whole county"]


def test_an_assessment_repeated_in_later_censuses_counts_once():
    rows = pd.DataFrame({"person_id": ["a", "a", "b", "c"], "referral_date": pd.to_datetime(["2024-01-02"] * 4),
                         "assessment_start": pd.to_datetime(["2024-01-03"] * 4),
                         "factors": ["1B;3B", "1B;3B", "3A", None]})
    assert coded_assessments(rows, "3B")["person_id"].tolist() == ["a"]
    assert factor_code("screening question: factor 3B recorded more often") == "3B"
