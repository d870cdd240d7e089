"""The learning-disability register's event frames and the older-carer register built from linked records
(issue #18): a carer resolves to the person cared for through the arrangement, and a row counts from the day
it was recorded, never before."""

from __future__ import annotations

import pandas as pd

from features.events import event_builders
from features.ld_register import build_arrangements, build_carer_records, build_carers, register_rows

T = pd.Timestamp
EMPTY = {"gp_code": pd.DataFrame({"person_id": pd.Series(dtype="str"), "event_date": pd.Series(dtype="datetime64[s]"),
                                  "ltc": pd.Series(dtype="str"), "efi": pd.Series(dtype="str"),
                                  "care_home": pd.Series(dtype="int8")}),
         "cld": pd.DataFrame({"person_id": pd.Series(dtype="str"), "event_date": pd.Series(dtype="datetime64[s]"),
                              "carer": pd.Series(dtype="int8"), "care_home": pd.Series(dtype="int8")}),
         "death": pd.DataFrame({"person_id": pd.Series(dtype="str"), "event_date": pd.Series(dtype="datetime64[s]")})}


def _arrangements(rows: list[tuple]) -> pd.DataFrame:
    return build_arrangements(pd.DataFrame(rows, columns=["person_id", "arrangement_ref_tok", "arrangement",
                                                          "start_date", "end_date", "recorded_date"]))


def _world(*, carer_recorded="2015-02-01", move_start="2020-06-01", move_recorded="2020-06-20",
           admitted="2020-05-20", carer_end: str | None = "move"):
    """P1 (born 1975) lives with mother C1 (born 1940); the arrangement ends when P1 moves to supported living."""
    arr = _arrangements([
        ("P1", "a1", "With family", T("2010-01-01"), T(move_start), T("2010-02-01")),
        ("P1", "a2", "Supported living", T(move_start), pd.NaT, T(move_recorded)),
    ])
    carers = pd.DataFrame({"person_id": ["C1"], "arrangement_ref_tok": ["a1"], "relationship": ["Mother"],
                           "main_carer": ["Y"], "start_date": [T("2010-01-01")],
                           "end_date": [T(move_start) if carer_end == "move" else pd.NaT],
                           "recorded_date": [T(carer_recorded)]})
    persons = pd.DataFrame({"person_id": ["P1", "C1"], "birth_year": [1975, 1940], "birth_month": [5, 3],
                            "register_role": ["Person with a learning disability", "Carer"]})
    events = {"ld_arrangement": arr, "ld_carer": build_carers(carers, persons, arr),
              "person": pd.DataFrame({"person_id": ["P1", "C1"], "birth_year": [1975, 1941],
                                      "birth_month": [5, 3]}),
              "gp_registration": pd.DataFrame({"person_id": ["P1", "C1"], "death_date": [pd.NaT, pd.NaT]}),
              "hes_spell": pd.DataFrame({"person_id": ["C1"], "event_date": [T(admitted)], "emergency": [1],
                                         "discharge_date": [T(admitted) + pd.Timedelta(days=5)],
                                         "to_care_home": [0]}),
              **EMPTY}
    events["ld_carer_record"] = build_carer_records(*(events[d] for d in (
        "ld_carer", "gp_registration", "gp_code", "hes_spell", "cld", "death")))
    return events


def test_a_carer_row_names_the_person_cared_for_with_the_registers_date_of_birth():
    events = _world()
    carer = events["ld_carer"].iloc[0]
    assert (carer["person_id"], carer["carer_person_id"]) == ("P1", "C1")
    assert (carer["carer_birth_year"], carer["carer_birth_month"]) == (1940, 3)
    assert events["ld_arrangement"]["placement"].tolist() == [0, 1]
    assert events["ld_arrangement"]["family"].tolist() == [1, 0]
    # the register's builders are found from the source registry, the carer's after the arrangements it reads
    domains = [b.domain for b in event_builders() if b.source == "ld_register"]
    assert domains == ["ld_arrangement", "ld_carer", "ld_carer_record"]


def test_register_rows_point_in_time_and_an_unplanned_move_after_the_carers_crisis():
    dates = [T("2014-03-31"), T("2015-03-31"), T("2020-03-31"), T("2021-03-31")]
    rows, _ = register_rows(_world(), dates, T("2026-03-31"))
    by_year = rows.set_index(rows["index_date"].dt.year)
    # 2014: the carer link was not yet recorded; 2021: the move (June 2020) is recorded, so P1 is off the register
    assert sorted(by_year.index) == [2015, 2020]
    assert by_year.loc[2015, "carer_age_max"] == (T("2015-03-31") - T("1940-03-01")).days / 365.25
    # 2020: moved 12 days after the mother's emergency admission: an unplanned move
    assert by_year.loc[2020, "outcome"] == 1 and by_year.loc[2020, "outcome_any_move"] == 1
    assert by_year.loc[2015, "outcome"] == 0


def test_a_move_before_the_index_date_recorded_after_it_leaves_the_person_on_the_register_without_an_event():
    # the council had not yet closed the mother's caring either (an end date is read as finally recorded)
    late = _world(move_start="2020-03-01", move_recorded="2020-05-01", admitted="2020-02-20", carer_end=None)
    rows, _ = register_rows(late, [T("2020-03-31")], T("2026-03-31"))
    assert len(rows) == 1 and rows["outcome"].iloc[0] == 0 and rows["outcome_any_move"].iloc[0] == 0


def test_no_move_without_a_crisis_is_planned():
    planned = _world(admitted="2019-01-01")
    rows, _ = register_rows(planned, [T("2020-03-31")], T("2026-03-31"))
    assert rows["outcome"].iloc[0] == 0 and rows["outcome_any_move"].iloc[0] == 1
