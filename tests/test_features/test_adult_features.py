"""The adults' features, cohort and outcome on a hand-made county: spells not episodes, who is registered,
deaths beside the outcome, and nothing seen on or after the index date."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from features.adult_health import episodes_as_spells
from features.build import build_features
from features.registry import population_features

from .conftest import D, _frame, spec_with, tiny_person_index, tiny_tables

EXTRACT = date(2026, 3, 31)
INDEX = D("2020-03-31")


def _episode(key, person, admitted, method, order=1, discharged=None, source="19", destination="19",
             start=None, end=None):
    discharged = discharged or admitted
    return {"epikey_tok": key, "hes_id_tok": person, "admission_date": admitted, "admission_method": method,
            "discharge_date": discharged, "episode_order": order, "episode_start": start or admitted,
            "episode_end": end or discharged, "admission_source": source, "discharge_method": "1",
            "discharge_destination": destination, "diag_01": "J189"}


# A1: one emergency stay of three episodes, then a transfer to another hospital (one continuous stay), a
# planned admission, and an emergency admission ON the index date (the outcome, never a feature); dies
# in the outcome window.
EPISODES = [
    _episode("e1", "ha1", "2019-06-01", "21", 1, "2019-06-04", destination="51", end="2019-06-02"),
    _episode("e2", "ha1", "2019-06-01", "21", 2, "2019-06-04", destination="51", start="2019-06-02",
             end="2019-06-03"),
    _episode("e3", "ha1", "2019-06-01", "21", 3, "2019-06-04", destination="51", start="2019-06-03"),
    _episode("e4", "ha1", "2019-06-05", "2B", 1, "2019-06-10", source="51"),
    _episode("e5", "ha1", "2019-09-01", "11", 1, "2019-09-01"),
    _episode("e6", "ha1", "2020-03-31", "21", 1, "2020-04-02", destination="85"),  # to a care home
    # A7: admitted before the index date, discharged to a care home after it: in the community on the day
    _episode("e8", "ha7", "2020-03-20", "21", 1, "2020-04-10", destination="65"),
    # A5: registered, no admission, dies in the window
    _episode("e7", "ha5", "2015-01-10", "22", 1, "2015-01-12"),
]


def adult_tables() -> dict[str, pd.DataFrame]:
    gp = {"lsoa_imd_decile": 3, "sex": "F", "ethnicity_group": "White", "registration_end": None,
          "death_date": None, "registration_start": "2000-01-01"}
    tables = tiny_tables()
    tables.update({
        "gp_patient": _frame([
            {**gp, "patient_id_tok": "g1", "birth_year": 1950, "birth_month": 5},
            {**gp, "patient_id_tok": "g2", "birth_year": 2003, "birth_month": 6},  # 16 on the index date
            {**gp, "patient_id_tok": "g3", "birth_year": 1970, "birth_month": 1, "registration_end": "2019-12-31"},
            {**gp, "patient_id_tok": "g4", "birth_year": 1940, "birth_month": 2},  # died before (ONS)
            {**gp, "patient_id_tok": "g5", "birth_year": 1935, "birth_month": 8, "death_date": "2020-06-01"},
            {**gp, "patient_id_tok": "g6", "birth_year": 1980, "birth_month": 8, "registration_start": "2020-04-01"},
            {**gp, "patient_id_tok": "g7", "birth_year": 1940, "birth_month": 3},
        ], "gp_patient"),
        "gp_event": _frame([
            {"patient_id_tok": "g1", "event_date": "2010-01-01", "snomed": "44054006"},   # diabetes
            {"patient_id_tok": "g1", "event_date": "2012-01-01", "snomed": "13645005"},   # COPD
            {"patient_id_tok": "g1", "event_date": "2019-01-01", "snomed": "161898004"},  # falls
            {"patient_id_tok": "g1", "event_date": "2020-03-31", "snomed": "84114007"},   # heart failure: on index
            {"patient_id_tok": "g1", "event_date": "2018-01-01", "snomed": "407542009"},  # carer
            {"patient_id_tok": "g5", "event_date": "2019-01-01", "snomed": "248171000000108"},  # care-home resident
        ], "gp_event"),
        "gp_medication": _frame([
            {"patient_id_tok": "g1", "issue_date": f"2019-{m:02d}-01", "bnf_code": f"{m}.1.2"} for m in range(4, 10)
        ], "gp_medication"),
        "hes_admission": pd.concat([tables["hes_admission"], _frame(EPISODES, "hes_admission")], ignore_index=True),
        "ecds_attendance": _frame([
            {"hes_id_tok": "ha1", "arrival_date": "2019-06-01", "department_type": "01", "attendance_category": "1",
             "acuity": "1064911000000105", "discharge_status": None},
            {"hes_id_tok": "ha1", "arrival_date": "2019-07-01", "department_type": "01", "attendance_category": "4",
             "acuity": "1077241000000103", "discharge_status": None},  # planned follow-up: not unplanned
        ], "ecds_attendance"),
        "hes_outpatient": _frame([{"hes_id_tok": "ha1", "appointment_date": "2019-10-01", "attended": "5"}],
                                 "hes_outpatient"),
        "death_registration": _frame([
            {"registration_id_tok": "d4", "date_of_death": "2019-05-01"},
            {"registration_id_tok": "d1", "date_of_death": "2020-08-01"},
        ], "death_registration"),
    })
    return tables


def adult_index() -> pd.DataFrame:
    rows = [("gp", f"g{i}", f"A{i}") for i in range(1, 8)] + [
        ("health", "ha1", "A1"), ("health", "ha5", "A5"), ("health", "ha7", "A7"), ("deaths", "d1", "A1"),
        ("deaths", "d4", "A4")]
    return pd.concat([tiny_person_index(), pd.DataFrame(rows, columns=["table", "record_key_tok", "person_id"])],
                     ignore_index=True)


def _build(model: str):
    spec = spec_with(model, index_dates={"first_year": 2018, "last_year": 2020},
                     split={"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None})
    return build_features(adult_tables(), adult_index(), spec, EXTRACT)


@pytest.fixture(scope="module")
def adults():
    return _build("emergency_admission")


@pytest.fixture(scope="module")
def care_home():
    return _build("care_home_admission")


def _row(build, person, year=2020):
    rows = build.frame[(build.frame["person_id"] == person) & (build.frame["index_year"] == year)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_admissions_are_counted_as_continuous_spells_not_episodes():
    spells = episodes_as_spells(_frame(EPISODES, "hes_admission").assign(
        person_id=lambda f: f["hes_id_tok"]))
    a1 = spells[spells["person_id"] == "ha1"]
    # six episode rows of A1: one emergency stay (3 episodes + a transfer), one planned, one emergency
    assert len(a1) == 3
    assert list(a1["emergency"]) == [1, 0, 1] and list(a1["elective"]) == [0, 1, 0]


def test_the_cohort_is_adults_registered_and_alive_on_the_index_date(adults):
    on_index = set(adults.frame.loc[adults.frame["index_year"] == 2020, "person_id"])
    # A2 is 16, A3 left the practice, A4 died before (ONS), A6 registered after the index date
    assert on_index == {"A1", "A5", "A7"}
    assert _row(adults, "A1")["fair_age_band"] == "65-74"
    assert _row(adults, "A5")["fair_age_band"] == "75-84"
    assert _row(adults, "A1")["fair_imd_quintile"] == 2  # deprivation decile 3 on the GP record


def test_features_count_stays_before_the_index_date_only(adults):
    a1 = _row(adults, "A1")
    assert a1["emergency_spells_12m"] == 1 and a1["emergency_spells_24m"] == 1
    assert a1["elective_spells_24m"] == 1
    assert a1["ed_attendances_12m"] == 1 and a1["ed_high_acuity_24m"] == 1
    assert a1["outpatient_attended_12m"] == 1
    assert a1["gp_ltc_count"] == 2  # diabetes, COPD; heart failure is coded on the index date itself
    assert a1["gp_efi_deficits"] == 3  # diabetes, COPD (respiratory), falls
    assert a1["gp_carer_code"] == 1 and a1["polypharmacy"] == 1 and a1["medication_sections_12m"] == 6


def test_the_outcome_is_an_emergency_stay_in_the_year_and_deaths_are_reported_beside_it(adults):
    a1, a5 = _row(adults, "A1"), _row(adults, "A5")
    assert (a1["outcome"], a1["outcome_spells"], a1["outcome_death"]) == (1, 1, 1)
    # A5 died without an admission: a negative with a death beside it, kept (a competing outcome, not censored)
    assert (a5["outcome"], a5["outcome_spells"], a5["outcome_death"]) == (0, 0, 1)
    assert adults.report["row_reconciliation"]["reconciled"]


def test_no_adult_feature_sees_the_index_date_or_after(adults):
    assert adults.report["leakage_check_passed"]
    perturbation = adults.report["leakage_perturbation"]
    assert perturbation["rows_compared"] == len(adults.frame)
    assert perturbation["differing_features"] == {}


def test_adults_get_adult_features_and_children_keep_theirs():
    adult_groups = {f.group for f in population_features("adults").values()}
    child_groups = {f.group for f in population_features("children").values()}
    assert {"adult_health", "adult_gp", "adult_social_care"} <= adult_groups
    assert not adult_groups & {"school", "social_care", "health"}
    assert not child_groups & {"adult_health", "adult_gp", "adult_social_care"}


def test_care_home_cohort_is_people_65_and_over_living_in_the_community(care_home):
    on_index = set(care_home.frame.loc[care_home.frame["index_year"] == 2020, "person_id"])
    # A5 has a care-home resident code before the index date; A7's discharge to a care home came after it
    assert on_index == {"A1", "A7"}
    assert care_home.report["row_reconciliation"]["reconciled"]


def test_a_move_into_a_care_home_is_read_by_the_discharge_date(care_home):
    a1, a7 = _row(care_home, "A1"), _row(care_home, "A7")
    assert (a1["outcome"], a1["outcome_death"], a1["outcome_state_funded"]) == (1, 1, 0)
    assert (a7["outcome"], a7["outcome_death"]) == (1, 0)
    assert a7["discharges_to_care_home_ever"] == 0  # not yet known on the index date
    assert care_home.report["leakage_perturbation"]["differing_features"] == {}


def test_a_county_without_adults_extracts_builds_as_before(tmp_path):
    from features.stage import missing_pseudo_tables, read_pseudo_tables
    from pipeline.core.paths import ProjectPaths

    paths = ProjectPaths(tmp_path)
    columns = {"gp_patient": ["patient_id_tok", "registration_start"], "hes_admission": ["hes_id_tok"]}
    # the GP extract is optional (many councils have none); HES admitted care is not
    assert missing_pseudo_tables(paths, columns) == ["hes_admission"]
    gp = read_pseudo_tables(paths, {"gp_patient": columns["gp_patient"]})["gp_patient"]
    assert gp.empty and list(gp.columns) == columns["gp_patient"]
    assert str(gp["registration_start"].dtype).startswith("datetime64")
