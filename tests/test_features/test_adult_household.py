"""Household inputs of the adults' models (issue #18): people registered with a GP at the same address token.

Built on hand-made GP registrations, deaths and carer codes with the features stage's own code
(``features.adult_household.with_household`` and ``features.build.compute_features``), so what is counted is
known exactly; the leakage perturbation is run on the same events with ``features.leakage``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from features.adult_household import FEATURES as HOUSEHOLD_FEATURES
from features.adult_household import HOUSEHOLD_DOMAIN, with_household
from features.build import add_person_keys, compute_features
from features.leakage import leakage_perturbation
from features.registry import feature_columns, population_features
from features.window import connect_duckdb
from features.wording import wording_for
from models.spec import load_model_spec

INDEX = pd.Timestamp("2020-03-31")
HOUSEHOLD = {f.name: f for f in HOUSEHOLD_FEATURES}


def _reg(person: str, token: str | None, start: str, end: str | None = None, died: str | None = None) -> dict:
    return {"person_id": person, "ralf_tok": token, "event_date": pd.Timestamp(start),
            "registration_end": pd.Timestamp(end) if end else pd.NaT,
            "death_date": pd.Timestamp(died) if died else pd.NaT}


# index date 2020-03-31 throughout
REGISTRATIONS = [
    _reg("couple_a", "A", "2010-01-01"), _reg("couple_b", "A", "2012-05-01"),
    _reg("earlier_tenant", "A", "2001-01-01", end="2009-06-30"),       # gone before the couple came
    _reg("alone", "B", "2010-01-01"), _reg("moved_in_later", "B", "2020-06-01"),  # registered after the index date
    _reg("widow_later", "C", "2005-01-01"), _reg("dies_later", "C", "2005-01-01", died="2020-05-01"),
    _reg("widow", "D", "2005-01-01"), _reg("died_2019", "D", "2005-01-01", end="2019-10-01"),  # ONS death below
    _reg("widow_long_ago", "E", "2005-01-01"), _reg("died_2017", "E", "2005-01-01", died="2017-06-01"),
    _reg("no_address", None, "2010-01-01"),
    _reg("carer_home", "F", "2010-01-01"), _reg("carer", "F", "2010-01-01"),
    _reg("carer_later_home", "G", "2010-01-01"), _reg("carer_later", "G", "2010-01-01"),
    *[_reg(f"resident_{i}", "H", "2015-01-01") for i in range(14)],   # a care home: 14 at one address
]
DEATHS = pd.DataFrame({"person_id": ["died_2019"], "event_date": [pd.Timestamp("2019-10-01")]})
GP_CODES = pd.DataFrame({"person_id": ["carer", "carer_later"], "carer": [1, 1],
                         "event_date": [pd.Timestamp("2018-01-01"), pd.Timestamp("2020-09-01")]})


def _events(registrations: list[dict]) -> dict[str, pd.DataFrame]:
    people = pd.DataFrame({"person_id": sorted({r["person_id"] for r in registrations})})
    return with_household(add_person_keys({"person": people, "gp_registration": pd.DataFrame(registrations),
                                           "death": DEATHS, "gp_code": GP_CODES}))


def _features(events: dict[str, pd.DataFrame], index_date: pd.Timestamp = INDEX) -> pd.DataFrame:
    people = events["person"]["person_id"].tolist()
    cohort = pd.DataFrame({"row_id": range(len(people)), "person_id": people, "index_date": index_date,
                           "person_key": range(len(people))})
    frame, _ = compute_features(connect_duckdb(), cohort, events, HOUSEHOLD)
    return frame.set_index("person_id")


@pytest.fixture(scope="module")
def built() -> pd.DataFrame:
    return _features(_events(REGISTRATIONS))


def test_household_size_and_living_alone_from_registrations_open_on_the_index_date(built):
    assert built.loc["couple_a", "household_size"] == 2 and built.loc["couple_a", "household_lives_alone"] == 0
    assert built.loc["couple_b", "household_size"] == 2  # the tenant who left in 2009 is not counted
    assert built.loc["alone", "household_size"] == 1 and built.loc["alone", "household_lives_alone"] == 1
    assert built.loc["resident_0", "household_communal"] == 1 and built.loc["resident_0", "household_size"] == 13
    assert built.loc["couple_a", "household_communal"] == 0


def test_someone_who_registered_at_the_address_after_the_index_date_does_not_count(built):
    assert built.loc["alone", "household_size"] == 1
    later = _features(_events(REGISTRATIONS), pd.Timestamp("2021-03-31"))
    assert later.loc["alone", "household_size"] == 2 and later.loc["alone", "household_lives_alone"] == 0


def test_a_death_after_the_index_date_does_not_count_and_one_before_it_does(built):
    assert built.loc["widow_later", "household_bereaved_12m"] == 0
    assert built.loc["widow_later", "household_size"] == 2  # still alive on the index date
    assert built.loc["widow", "household_bereaved_12m"] == 1  # died 2019-10-01 (ONS)
    assert built.loc["widow", "household_lives_alone"] == 1
    assert built.loc["widow_long_ago", "household_bereaved_12m"] == 0  # more than 12 months before
    later = _features(_events(REGISTRATIONS), pd.Timestamp("2021-03-31"))
    assert later.loc["widow_later", "household_bereaved_12m"] == 1
    assert later.loc["widow_later", "household_lives_alone"] == 1


def test_an_unknown_address_is_blank_not_alone(built):
    assert pd.isna(built.loc["no_address", "household_size"])
    assert pd.isna(built.loc["no_address", "household_lives_alone"])
    assert built.loc["no_address", "household_bereaved_12m"] == 0


def test_a_carer_at_the_address_counts_from_the_carer_code_only(built):
    assert built.loc["carer_home", "household_carer"] == 1
    assert built.loc["carer", "household_carer"] == 0  # the carer's own code is adult_gp's gp_carer_code
    assert built.loc["carer_later_home", "household_carer"] == 0  # coded after the index date


def test_the_leakage_perturbation_finds_no_household_feature_changed():
    events = _events(REGISTRATIONS)
    rows = []
    for year, day in ((2019, "2019-03-31"), (2020, "2020-03-31"), (2021, "2021-03-31")):
        frame = _features(events, pd.Timestamp(day)).reset_index()
        rows.append(frame.assign(index_year=year, birth_year=1950, birth_month=1))
    full = pd.concat(rows, ignore_index=True).assign(row_id=lambda f: range(len(f)))

    def rebuild(con, cohort, world):
        return compute_features(con, cohort, world, HOUSEHOLD)[0]

    def cross_source(world):  # this test's world has no record or address frames: only the person keys
        return add_person_keys(world)

    report = leakage_perturbation(full, events, list(HOUSEHOLD), rebuild, cross_source, connect_duckdb(),
                                  n=len(full), seed=1)
    assert report["rows_compared"] == len(full)
    assert report["differing_features"] == {}
    # and the perturbation would see a household feature read from the future: one dated after the index
    leaky = dict(events)
    leaky[HOUSEHOLD_DOMAIN] = events[HOUSEHOLD_DOMAIN].assign(event_date=pd.Timestamp("1990-01-01"))
    leaky_full = pd.concat([_features(leaky, pd.Timestamp(d)).reset_index().assign(index_year=y, birth_year=1950,
                                                                                 birth_month=1)
                            for y, d in ((2020, "2020-03-31"),)], ignore_index=True).assign(
        row_id=lambda f: range(len(f)))
    caught = leakage_perturbation(leaky_full, events, list(HOUSEHOLD), rebuild, cross_source, connect_duckdb(),
                                  n=len(leaky_full), seed=1)
    assert caught["differing_features"]


def test_the_household_inputs_read_in_plain_words():
    for name, feature in HOUSEHOLD.items():
        assert wording_for(feature).says, name


@pytest.mark.parametrize("model", ["emergency_admission", "care_home_admission"])
def test_built_for_adults_but_no_adult_spec_takes_the_undated_address_as_an_input(model):
    # the GP record's address token is the one on the record's last day: at an earlier index date it shows where
    # a person later moved (a care home), which no deletion of later events can reveal (docs/adult_models.md,
    # "Household inputs": care_home_admission's test AUROC went from 0.90 to 0.999 with it)
    spec = load_model_spec(model)
    assert set(HOUSEHOLD) <= set(population_features(spec.population))
    assert not set(HOUSEHOLD) & set(feature_columns(spec))


@pytest.mark.parametrize("model", ["emergency_admission", "care_home_admission"])
def test_the_gp_records_current_deprivation_is_never_an_input(model):
    """gp_imd_decile is the address held at the extract: at a past index date it tells where people live now (a
    care home's neighbourhood). It is built for the fairness audit's deprivation groups and is never an input."""
    spec = load_model_spec(model)
    assert "gp_imd_decile" in population_features(spec.population)
    assert "gp_imd_decile" not in feature_columns(spec)
