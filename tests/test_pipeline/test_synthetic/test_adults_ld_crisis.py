"""The older-carer crisis in the adults' generator: an adult with a learning disability moves out of the
family home within 30 days of the last parent's death OR move into a care home (issue #18)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults.hospital import Ids
from pipeline.synthetic.adults.people import NOT_YET
from pipeline.synthetic.adults.simulate import _ld_crisis
from pipeline.synthetic.adults.state import State, year_window

YS, YE = np.datetime64("2020-04-01"), np.datetime64("2021-04-01")


def _family(parents_per_home: int = 1, homes: int = 4) -> tuple[State, pd.DataFrame]:
    """``homes`` households, each of ``parents_per_home`` parents aged ~78 and one son with LD aged ~48."""
    rows = []
    for h in range(homes):
        for _ in range(parents_per_home):
            rows.append({"household_id": h, "dob": "1942-06-01", "learning_disability": False})
        rows.append({"household_id": h, "dob": "1972-06-01", "learning_disability": True})
    people = pd.DataFrame(rows)
    n = len(people)
    people["person_id"] = np.arange(n)
    people["ld_family"] = True
    people["dob"] = people["dob"].to_numpy().astype("datetime64[D]")
    state = State(dob=people["dob"].to_numpy(), male=np.zeros(n, bool), arrive=np.full(n, np.datetime64("1990-01-01")),
                  leave=np.full(n, NOT_YET), health=np.zeros(n), persistent=np.ones(n), poverty=np.zeros(n),
                  ld=people["learning_disability"].to_numpy(), ld_registered=people["learning_disability"].to_numpy(),
                  self_funder=np.zeros(n, bool), household=people["household_id"].to_numpy())
    return state, people


def _move(state, people, entered):
    win = year_window(state, YS, YE)
    return _ld_crisis(np.random.default_rng(1), state, people, win, YE, Ids(), entered)


def test_a_parents_move_into_a_care_home_is_a_crisis():
    state, people = _family()
    parent, son = 0, 1  # household 0
    when = np.datetime64("2020-09-10")
    state.care_home[parent] = 3
    entered = np.full(len(people), NOT_YET)
    entered[parent] = when
    homes, services = _move(state, people, entered)
    moved = np.r_[homes["person_id"].to_numpy(), services["person_id"].to_numpy()]
    assert moved.tolist() == [son]
    date = np.r_[homes["entry_date"].to_numpy(), services["start"].to_numpy()].astype("datetime64[D]")[0]
    assert when < date <= when + np.timedelta64(30, "D")
    assert state.ld_moved[son] and not state.ld_moved[3]


def test_a_death_is_a_crisis_and_no_move_while_a_parent_still_cares():
    state, people = _family(parents_per_home=2, homes=2)
    # household 0: one parent died, the other moved into a care home -> the son moves
    # household 1: one parent died, the other is still at home -> no move
    state.death[0] = np.datetime64("2020-05-01")
    state.care_home[1] = 2
    entered = np.full(len(people), NOT_YET)
    entered[1] = np.datetime64("2020-07-01")
    state.death[3] = np.datetime64("2020-05-01")
    homes, services = _move(state, people, entered)
    moved = sorted(np.r_[homes["person_id"].to_numpy(), services["person_id"].to_numpy()].tolist())
    assert moved == [2]


def test_a_crisis_in_last_years_final_month_moves_no_earlier_than_this_year():
    state, people = _family(homes=1)
    state.death[0] = YS - np.timedelta64(3, "D")
    homes, services = _move(state, people, np.full(len(people), NOT_YET))
    date = np.r_[homes["entry_date"].to_numpy(), services["start"].to_numpy()].astype("datetime64[D]")
    assert date.size == 1 and date[0] >= YS
