"""Hospital spells from HES episodes: episodes of one stay, transfers chained, counting rules."""

from __future__ import annotations

import pandas as pd

from pipeline.sources.hes_spells import continuous_spells, provider_spells


def episodes(rows: list[tuple]) -> pd.DataFrame:
    columns = ["hes_id", "epikey", "admission_date", "discharge_date", "admission_method", "episode_order",
               "episode_start", "episode_end", "admission_source", "discharge_method", "discharge_destination",
               "diag_01"]
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("admission_date", "discharge_date", "episode_start", "episode_end"):
        frame[col] = pd.to_datetime(frame[col])
    return frame.astype({"episode_order": "Int64"})


# H1: a three-episode stay at one hospital, transferred (2B from 51) to another the day it ended, then a
# separate admission a month later (not a transfer); H2: an admission whose first episode is outside the
# extract, and one still in hospital; H3: two admissions on one day in a file with no episode columns
ROWS = [
    ("H1", "E3", "2025-01-05", "2025-01-10", "21", 3, "2025-01-09", "2025-01-10", "19", "1", "51", "I10"),
    ("H1", "E1", "2025-01-05", None, "21", 1, "2025-01-05", "2025-01-07", "19", "8", "98", "I219"),
    ("H1", "E2", "2025-01-05", None, "21", 2, "2025-01-07", "2025-01-09", "19", "8", "98", "I219"),
    ("H1", "E4", "2025-01-10", "2025-01-20", "2B", 1, "2025-01-10", "2025-01-20", "51", "4", "79", "J189"),
    ("H1", "E5", "2025-02-20", "2025-02-21", "22", 1, "2025-02-20", "2025-02-21", "19", "1", "19", "R55X"),
    ("H2", "E6", "2025-03-01", "2025-03-04", "21", 2, "2025-03-02", "2025-03-04", "19", "1", "19", "S720"),
    ("H2", "E7", "2025-04-01", None, "11", 1, "2025-04-01", None, "19", "8", "98", "K409"),
    ("H3", "E8", "2025-05-01", "2025-05-01", "12", None, None, None, None, None, None, "Z511"),
    ("H3", "E9", "2025-05-01", "2025-05-02", "21", None, None, None, None, None, None, "J069"),
]


def test_episodes_of_one_admission_form_one_provider_spell():
    spells = provider_spells(episodes(ROWS)).set_index("spell_id")
    assert list(spells.index) == ["E1", "E4", "E5", "E6", "E7", "E8", "E9"]
    first = spells.loc["E1"]
    assert first["episodes"] == 3 and first["primary_diagnosis"] == "I219"
    assert first["discharge_date"] == pd.Timestamp("2025-01-10") and first["discharge_destination"] == "51"
    assert not spells.loc["E6", "has_first_episode"] and not spells.loc["E7", "finished"]
    # no episode order: every row is an admission of its own, even on the same day
    assert spells.loc[["E8", "E9"], "episodes"].tolist() == [1, 1]


def test_a_transfer_chains_two_provider_spells_into_one_continuous_spell():
    spells = continuous_spells(episodes(ROWS)).set_index("spell_id")
    assert list(spells.index) == ["E1", "E5", "E6", "E7", "E8", "E9"]
    stay = spells.loc["E1"]
    assert (stay["provider_spells"], stay["episodes"]) == (2, 4)
    assert stay["admission_date"] == pd.Timestamp("2025-01-05") and stay["discharge_date"] == pd.Timestamp("2025-01-20")
    assert stay["admission_method"] == "21" and stay["emergency"] and stay["died"]
    assert stay["discharge_destination"] == "79" and stay["countable"]
    # a month later is a new admission, not a transfer; missing first episode or still in: not counted
    assert spells.loc["E5", "provider_spells"] == 1 and spells.loc["E5", "countable"]
    assert not spells.loc["E6", "countable"] and not spells.loc["E7", "countable"]
    assert spells["countable"].sum() == 4 and spells.loc[["E6", "E7"], "emergency"].tolist() == [True, False]


def test_a_readmission_within_days_is_not_a_transfer_unless_recorded_as_one():
    rows = [
        ("H1", "E1", "2025-01-05", "2025-01-10", "21", 1, "2025-01-05", "2025-01-10", "19", "1", "19", "I219"),
        ("H1", "E2", "2025-01-11", "2025-01-12", "21", 1, "2025-01-11", "2025-01-12", "19", "1", "19", "I219"),
        ("H1", "E3", "2025-01-12", "2025-01-15", "22", 1, "2025-01-12", "2025-01-15", "52", "1", "19", "I219"),
        ("H1", "E4", "2025-01-25", "2025-01-26", "2B", 1, "2025-01-25", "2025-01-26", "51", "1", "19", "I219"),
    ]
    spells = continuous_spells(episodes(rows))
    # E2 readmitted a day later from home: a new admission; E3 came from another hospital (52) the same day;
    # E4 is recorded as a transfer but ten days after the last discharge: too late to be the same stay
    assert spells["spell_id"].tolist() == ["E1", "E2", "E4"]
    assert spells.set_index("spell_id").loc["E2", "provider_spells"] == 2


def test_other_person_columns_and_an_empty_frame():
    renamed = episodes(ROWS).rename(columns={"hes_id": "person_id"})
    assert len(continuous_spells(renamed, person="person_id")) == 6
    assert continuous_spells(episodes([])).empty
