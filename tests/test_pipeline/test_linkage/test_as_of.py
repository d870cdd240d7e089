"""As-of linkage keeps only the records that existed before the date, and measures what later records joined."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.linkage.as_of import compare_indexes, existing_keys, records_existing_on
from pipeline.sources.registry import get_source


def test_a_person_exists_once_a_dated_record_precedes_the_date():
    dated = {"cin_episode": pd.DataFrame({"la_child_id_tok": ["a", "b", "c"],
                                          "date": pd.to_datetime(["2019-05-01", "2020-02-01", None])}),
             "early_help": pd.DataFrame({"la_child_id_tok": ["c", "d"],
                                         "date": pd.to_datetime(["2019-12-31", "2020-01-01"])})}
    assert sorted(existing_keys(dated, "la_child_id_tok", date(2020, 1, 1))) == ["a", "c"]  # strictly before


def test_a_dated_person_table_keeps_only_its_rows_from_before_the_date():
    school = get_source("school")
    pupils = pd.DataFrame({"upn_tok": ["u1", "u1", "u2"], "surname_tok": ["old", "new", "x"],
                           "census_date": pd.to_datetime(["2019-01-17", "2021-01-21", "2021-01-21"])})
    kept = records_existing_on(school, {"school_pupil": pupils}, pd.Series(["u1"]), date(2020, 1, 1))
    assert kept["school_pupil"]["surname_tok"].tolist() == ["old"]  # the name as recorded then


def test_records_joined_only_through_later_records_are_counted():
    full = pd.DataFrame({"table": ["school", "health", "social_care"], "record_key_tok": ["s", "h", "c"],
                         "person_id": ["P1", "P1", "P1"]})
    # before the social-care record existed, school and health were two people
    as_of = pd.DataFrame({"table": ["school", "health"], "record_key_tok": ["s", "h"], "person_id": ["A", "B"]})
    compared = compare_indexes(full, as_of)
    assert compared["records_joined_only_later"] == 2 and compared["share_joined_only_later"] == 1.0
    assert compared["people_as_of"] == 2 and compared["people_full"] == 1 and compared["records_split_later"] == 0
    same = compare_indexes(full, full.assign(person_id="Q"))
    assert same["records_joined_only_later"] == 0
