"""The older-carer planning register (ld_older_carer, issue #18): who is on it on an index date, what their
carers' records say before it, which moves count as unplanned, the rule and the penalised model, figures that
admit too few events, and the simulation over synthetic counties (small)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.ld_older_carer import run, truth_frames
from features.ld_older_carer import (
    FEATURE_COLUMNS,
    attach_outcome,
    carer_crises,
    carers_on,
    register_features,
)
from models.ld_register import TOO_FEW, evaluate_scores, fit_penalised, rule_points, top_k_captured

T = pd.Timestamp
INDEX = T("2020-03-31")
NAT = pd.NaT


def _people():
    rows = [  # person, dob, death
        ("P1", "1975-01-01", NAT), ("C1", "1944-01-01", "2020-08-01"), ("C2", "1960-01-01", NAT),  # two carers
        ("P2", "1980-01-01", NAT), ("C3", "1951-01-01", NAT),      # carer 69 on the index date
        ("P3", "1980-01-01", NAT), ("C4", "1940-01-01", NAT),      # the link ended before the index date
        ("P4", "1980-01-01", NAT), ("C5", "1940-01-01", NAT),      # LD coded only after the index date
        ("P5", "1980-01-01", NAT), ("C6", "1940-01-01", NAT),      # moved out before the index date
        ("P6", "2003-01-01", NAT), ("C7", "1940-01-01", NAT),      # 17 on the index date
        ("P7", "1970-01-01", NAT), ("C8", "1938-01-01", NAT),      # on the register; moves with no crisis
        ("P8", "1970-01-01", NAT), ("C9", "1938-01-01", NAT),      # moves 40 days after the carer's admission
    ]
    return pd.DataFrame({"person_id": [r[0] for r in rows], "dob": pd.to_datetime([r[1] for r in rows]),
                         "death_date": pd.to_datetime([r[2] for r in rows])})


def _frames():
    people = _people()
    ld = pd.DataFrame({"person_id": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"],
                       "date": pd.to_datetime(["2010-01-01"] * 3 + ["2020-06-01"] + ["2010-01-01"] * 4)})
    links = pd.DataFrame({
        "carer_id": ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9"],
        "cared_for_id": ["P1", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"],
        "start": pd.to_datetime(["2000-01-01"] * 9),
        "end": pd.to_datetime([NAT, NAT, NAT, "2019-01-01", NAT, NAT, NAT, NAT, NAT])})
    gp = pd.DataFrame({"person_id": ["C1", "C1", "C1", "C2"],
                       "date": pd.to_datetime(["2015-01-01", "2019-01-01", "2020-05-01", "2019-01-01"]),
                       "ltc": ["diabetes", "", "", "dementia"], "efi": ["", "falls", "anaemia", ""]})
    admissions = pd.DataFrame({"person_id": ["C1", "C1", "C9"],
                               "date": pd.to_datetime(["2019-06-01", "2018-01-01", "2020-05-01"]),
                               "emergency": [True, True, True]})
    care = pd.DataFrame({"person_id": ["C8", "C1", "P1"], "date": pd.to_datetime(["2019-01-01", "2021-01-01",
                                                                                 "2020-01-01"]),
                         "carer": [True, True, False]})
    moves = pd.DataFrame({"person_id": ["P5", "P1", "P7", "P8"],
                          "date": pd.to_datetime(["2019-05-01", "2020-08-20", "2020-09-01", "2020-06-10"]),
                          "kind": ["care_home", "care_home", "supported_living", "supported_living"]})
    return people, ld, links, gp, admissions, care, moves


@pytest.fixture(scope="module")
def register():
    people, ld, links, gp, admissions, care, moves = _frames()
    dyads = carers_on([INDEX], people, ld, links, moves)
    rows = register_features(dyads, gp, admissions, care)
    crises = carer_crises(people, admissions, pd.DataFrame({"person_id": [], "date": pd.to_datetime([])}))
    return dyads, attach_outcome(rows, dyads, moves, crises, people, T("2026-03-31")).set_index("person_id")


def test_the_register_is_adults_with_ld_living_with_a_carer_aged_70_or_over(register):
    dyads, rows = register
    assert set(rows.index) == {"P1", "P7", "P8"}
    # the younger second carer is counted: the move comes when the last carer can no longer care
    assert set(dyads.loc[dyads["person_id"] == "P1", "carer_id"]) == {"C1", "C2"}
    people, ld, links, _, _, _, moves = _frames()
    at_65 = carers_on([INDEX], people, ld, links, moves, carer_min_age=65)
    assert "P2" in set(at_65["person_id"])  # the 65+ sensitivity definition takes the 69-year-old carer


def test_carer_features_use_records_before_the_index_date_only(register):
    _, rows = register
    p1 = rows.loc["P1"]
    assert p1["n_carers"] == 2 and p1["sole_carer"] == 0
    assert round(p1["carer_age_max"]) == 76 and round(p1["carer_age_min"]) == 60
    assert p1["carer_efi_max"] == 1  # falls (2019); anaemia is coded after the index date
    assert p1["carer_ltc_max"] == 1 and p1["carer_dementia"] == 1  # C1's diabetes; C2's dementia
    assert p1["carer_emergency_12m"] == 1  # June 2019 counts, January 2018 is over a year before
    assert p1["carer_assessed_ever"] == 0  # C1's carer's assessment is in 2021
    assert p1["person_care_12m"] == 1
    assert rows.loc["P7", "carer_assessed_ever"] == 1 and rows.loc["P7", "sole_carer"] == 1


def test_a_move_is_unplanned_only_within_30_days_after_a_carer_crisis(register):
    _, rows = register
    assert rows.loc["P1", "outcome"] == 1 and rows.loc["P1", "outcome_any_move"] == 1  # 19 days after C1's death
    assert rows.loc["P7", "outcome"] == 0 and rows.loc["P7", "outcome_any_move"] == 1  # no crisis
    assert rows.loc["P8", "outcome"] == 0 and rows.loc["P8", "outcome_any_move"] == 1  # 40 days after
    assert rows["outcome_death"].sum() == 0


def test_a_window_not_yet_ended_has_no_outcome():
    people, ld, links, gp, admissions, care, moves = _frames()
    dyads = carers_on([INDEX], people, ld, links, moves)
    rows = register_features(dyads, gp, admissions, care)
    out = attach_outcome(rows, dyads, moves, carer_crises(people, admissions, moves.iloc[:0]), people,
                         T("2021-01-01"))
    assert out["outcome"].isna().all() and not out["matured"].any()


def test_the_rule_adds_points_for_older_sole_and_frailer_carers():
    base = {c: 0 for c in FEATURE_COLUMNS} | {"carer_age_min": 72, "carer_assessed_ever": 1}
    rows = pd.DataFrame([base, base | {"carer_age_min": 81}, base | {"carer_age_min": 81, "sole_carer": 1},
                         base | {"carer_age_min": 81, "sole_carer": 1, "carer_efi_max": 8}])
    points = rule_points(rows)
    assert list(points) == [0, 3, 5, 6]


def test_too_few_events_gives_counts_and_oe_but_no_auroc():
    rng = np.random.default_rng(0)
    y = np.zeros(200, dtype=int)
    y[:4] = 1
    score = rng.random(200)
    out = evaluate_scores(y, {"model": score}, {"model": np.full(200, 0.02)}, k=20)
    block = out["scores"]["model"]
    assert block["auroc"] is None and block["note"] == TOO_FEW and block["calibration_slope"] is None
    assert block["observed_expected"]["observed"] == 4 and block["observed_expected"]["high"] > 1
    rows = pd.DataFrame(rng.random((200, len(FEATURE_COLUMNS))), columns=list(FEATURE_COLUMNS))
    assert fit_penalised(rows, y, FEATURE_COLUMNS) is None


def test_events_in_the_top_k_count_the_highest_scores():
    y = np.array([1, 0, 1, 0, 0, 1])
    out = top_k_captured(y, np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.05]), 3)
    assert out == {"k": 3, "captured": 2, "events": 3, "share": round(2 / 3, 4)}


@pytest.fixture(scope="module")
def county():
    from pipeline.core.config import SynthParams
    from pipeline.synthetic import build_county

    cfg = SynthParams(children=200, seed=3, adults={"enabled": True, "population": 3000,
                                                    "ld_with_older_parents_per_100k": 3000})
    return build_county(cfg).truth


def test_the_synthetic_register_matches_the_county_truth(county):
    """Every row is a person with LD living with a parent caring at home aged 70+; every unplanned move
    follows a parent's death, emergency admission or move into a care home by at most 30 days."""
    from benchmarks.ld_older_carer import register_from_truth

    rows = register_from_truth(county, "2026-03-31")
    assert len(rows) > 100 and rows["outcome"].sum() > 0
    people = county["adults_people"].set_index("person_id")
    assert people.loc[rows["person_id"], "learning_disability"].all()
    caring = county["adults_caring"]
    parents = caring[caring["relationship"] == "parent"].merge(rows[["person_id", "index_date"]],
                                                                left_on="cared_for_id", right_on="person_id")
    open_ = parents[(parents["start"] < parents["index_date"])
                    & (parents["end"].isna() | (parents["end"] > parents["index_date"]))]
    age = (open_["index_date"] - people.loc[open_["carer_id"], "dob"].to_numpy()).dt.days / 365.25
    oldest = age.groupby([open_["person_id"], open_["index_date"]]).max()
    assert (oldest >= 70).all() and len(oldest) == len(rows)
    f = truth_frames(county)
    moved = rows[rows["outcome"] == 1]
    assert set(moved["person_id"]) <= set(f["moves"]["person_id"])


def test_the_simulation_over_counties_reports_a_spread_for_rule_and_model():
    result = run([5, 6], children=150, population=2000, dyads_per_100k=3000)
    summary = result["summary"]
    assert summary["counties"] == 2 and summary["test_events"]["n"] == 2
    rule = summary["scores"]["rule"]
    assert rule["counties"] == 2
    # each county either estimates AUROC or says it could not; none is silently dropped
    assert rule["auroc"]["n"] + rule["too_few_events"] == 2
    for county_result in result["counties"]:
        for block in county_result["scores"].values():
            assert block["auroc"] is None or 0 <= block["auroc"] <= 1
            assert block["top_k"]["captured"] <= block["top_k"]["events"]



def test_the_card_section_shows_intervals_and_says_when_events_are_too_few():
    from ethics.card.ld_register import county_table, describe_simulation, simulation_table

    spread = {"n": 3, "median": 0.78, "q1": 0.75, "q3": 0.82, "min": 0.70, "max": 0.87}
    empty = {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    summary = {"counties": 3, "test_events": {"median": 20, "min": 4, "max": 30},
               "register_per_year": {"median": 140.0}, "model_not_fitted": 1,
               "scores": {"rule": {"auroc": spread, "top_k_share": spread, "observed_expected": spread,
                                   "calibration_slope": spread, "too_few_events": 0},
                          "model": {"auroc": empty, "top_k_share": spread, "observed_expected": spread,
                                    "calibration_slope": empty, "too_few_events": 2}}}
    text = describe_simulation(summary)
    assert "3 synthetic counties" in text and "from 4 to 30" in text and "too few events to estimate" in text
    rule, model = simulation_table(summary).rows
    assert rule[1] == "0.78 (0.75-0.82; 0.70-0.87)"
    assert model[1] == "too few events to estimate" and model[-1] == "2"
    few = evaluate_scores(np.r_[np.ones(3, int), np.zeros(50, int)], {"rule": np.arange(53.0)},
                          {"rule": np.full(53, 0.05)}, k=5)
    row = county_table(few).rows[0]
    assert row[1] == "too few events to estimate" and row[2] == "0 of 3 in the top 5"
    assert row[3].startswith("1.13 (0.23-")  # 3 observed, 2.65 expected: an exact Poisson interval


def test_register_reasons_name_age_and_support_but_never_the_carers_health():
    from models.ld_register import register_reasons

    base = {c: 0 for c in FEATURE_COLUMNS} | {"carer_age_min": 72, "carer_assessed_ever": 1}
    rows = pd.DataFrame([base | {"carer_age_min": 82, "sole_carer": 1, "carer_efi_max": 9, "carer_dementia": 1,
                                 "carer_emergency_12m": 2, "carer_assessed_ever": 0}, base])
    first, second = register_reasons(rows)
    assert first == ("the youngest carer at home is 80 or over; one carer at home, no second carer; "
                     "no carer's assessment or carer support on record")
    assert "dementia" not in first and "frail" not in first and "admi" not in first
    assert second == "" and rule_points(rows)[0] == 9
