"""The adults' year loop: every adult's health, hospital use, care-home moves, social care and death from
``synth.adults.start_year`` to the reference date, drawn from its own random stream
(``default_rng([seed, 17])``) so the children's extracts never change.

Each financial year draws, in this order: prevalent conditions of people seen for the first time, deaths
(so every later event of the year stops at death), new conditions, emergency admissions (and the deaths
that end one), the parents' adversity attendances, ED attendances, elective care, outpatients, care-home
entries, then adult social care.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from pipeline.core.synth_params import SynthParams
from pipeline.synthetic.adults.adversity import active_this_year
from pipeline.synthetic.adults.care_homes import care_home_entries, place_of_death, terminal_admission_share
from pipeline.synthetic.adults.codes import ICD_DEATH, ICD_DEATH_YOUNG, ICD_EMERGENCY_OLD
from pipeline.synthetic.adults.emergency_care import adversity_events, attendances_before_admission, other_attendances
from pipeline.synthetic.adults.health import decide_deaths, new_conditions, seed_conditions
from pipeline.synthetic.adults.hospital import (
    Ids,
    admission_risk,
    admissions_frame,
    elective_admissions,
    emergency_admissions,
    emergency_counts,
    outpatients,
    yearly_shock,
)
from pipeline.synthetic.adults.people import NOT_YET
from pipeline.synthetic.adults.social_care import care_home_events, community_requests, event_frame
from pipeline.synthetic.adults.state import DAY, State, Window, year_window


def _last_year(ref: np.datetime64) -> int:
    """The financial year (ending 31 March) holding the reference date."""
    year, month = int(str(ref)[:4]), int(str(ref)[5:7])
    return year + 1 if month >= 4 else year


def _terminal_admissions(rng, state: State, win: Window, dead_rows: np.ndarray, spells: pd.DataFrame, ids: Ids):
    """Emergency spells that end in death, for deaths not already in hospital."""
    pid = win.idx[dead_rows]
    already = np.isin(pid, spells.loc[spells["discharge_method"] == "4", "person_id"].to_numpy())
    pick = ~already & (rng.random(pid.size) < terminal_admission_share(state, pid))
    pid, rows = pid[pick], dead_rows[pick]
    death = state.death[pid]
    admit = np.maximum(death - rng.integers(0, 15, pid.size).astype("timedelta64[D]"), win.lo[rows])
    frame = admissions_frame(rng, state, ids, pid, admit, np.full(pid.size, "21"),
                             rng.choice(ICD_EMERGENCY_OLD, pid.size), win.age[rows])
    frame["discharge_date"] = death
    frame["discharge_method"] = "4"
    frame["discharge_destination"] = "79"
    return frame


def _living_alone(state: State, win: Window, ys: np.datetime64) -> np.ndarray:
    home = (state.care_home < 0) & (state.death > ys) & (state.leave > ys) & (state.arrive <= ys)
    counts = np.bincount(state.household[home], minlength=int(state.household.max()) + 1)
    return counts[state.household[win.idx]] <= 1


def _ld_crisis(rng, state: State, people: pd.DataFrame, win: Window, ye: np.datetime64, ids: Ids,
               entered: np.ndarray):
    """Adults with LD whose older parents can no longer care (death or a care home) move out: half into
    a care home, half into supported living (a community long-term service).

    Args:
        entered: per person_id, the date of their permanent move into a care home (this year's entries
            and every earlier year's; NOT_YET = none). A parent's move is dated by it, so it is a crisis
            like a death (the state only says that someone lives in a home, not since when).
    """
    ld = people.index[people["ld_family"].to_numpy() & people["learning_disability"].to_numpy()].to_numpy()
    ld = ld[~state.ld_moved[ld] & (state.death[ld] >= ye) & (state.care_home[ld] < 0) & np.isin(ld, win.idx)]
    if not ld.size:
        return None, None
    par = people[people["ld_family"].to_numpy() & ~people["learning_disability"].to_numpy()]
    par_id = par["person_id"].to_numpy()
    gone = np.minimum(state.death[par_id], entered[par_id])
    last_gone = pd.Series(gone).groupby(par["household_id"].to_numpy()).max()
    when = last_gone.reindex(state.household[ld]).to_numpy().astype("datetime64[D]")
    crisis = when < ye - 30 * DAY
    ld, when = ld[crisis], when[crisis] + rng.integers(1, 30, crisis.sum()).astype("timedelta64[D]")
    # a crisis in last year's final month moves the person at the start of this one, never before it
    when = np.maximum(when, win.lo[np.searchsorted(win.idx, ld)])
    state.ld_moved[ld] = True
    home = rng.random(ld.size) < 0.5
    entries = pd.DataFrame({"person_id": ld[home], "entry_date": when[home], "setting": "residential",
                            "funding": "council", "permanent": True, "route": "community",
                            "exit_date": np.datetime64("NaT", "D"), "home_id": -1})
    live = ld[~home]
    events = event_frame(person_id=live, event_type="Service", start=when[~home], end=None,
                         primary_support_reason="Learning Disability Support",
                         service_type="Long Term Support: Community", service_component="Community Supported Living",
                         delivery_mechanism="CASSR Commissioned Support",
                         unit_cost=np.round(rng.normal(26, 2, live.size), 2),
                         planned_units_per_week=np.round(rng.uniform(30, 80, live.size)),
                         outcome="Provision of service")
    events["event_id"] = ids.events(len(events))
    state.lts_since[live] = when[~home]
    return entries, events


def run_years(
    rng: np.random.Generator, cfg: SynthParams, state: State, people: pd.DataFrame, adversity: pd.DataFrame,
    homes: pd.DataFrame, ids: Ids,
) -> dict[str, pd.DataFrame]:
    """Simulate every year; returns the event frames by name (gp_events, admissions, attendances,
    outpatients, care_home_entries, asc_events, deaths, admission_risk)."""
    ac = cfg.adults
    ref = np.datetime64(cfg.reference_date, "D")
    out: dict[str, list[pd.DataFrame]] = defaultdict(list)
    entered = np.full(len(state.dob), NOT_YET)  # permanent care-home entry date per person_id
    for year in range(ac.start_year, _last_year(ref) + 1):
        ys = np.datetime64(f"{year - 1}-04-01")
        ye = min(ys + 365 * DAY, ref + DAY)
        win = year_window(state, ys, ye)
        out["gp_events"] += seed_conditions(rng, state, win)
        shock = yearly_shock(rng, ac, win.idx.size)
        dead = decide_deaths(rng, state, win, shock)
        win.hi = np.minimum(win.hi, state.death[win.idx] + DAY)
        out["gp_events"] += new_conditions(rng, state, win)
        risk = admission_risk(state, win.idx)
        counts, expected = emergency_counts(rng, ac, state, win, shock)
        year_risk = pd.DataFrame({"person_id": win.idx, "year": year, "age": win.age, "exposure": win.exposure,
                                  "expected": expected})
        spells = emergency_admissions(rng, state, win, counts, ids)
        spells = spells[spells["admission_date"].to_numpy() <= state.death[spells["person_id"].to_numpy()]]
        act = active_this_year(adversity, win.idx, ys, ye)
        adv_att, adv_spells = adversity_events(rng, state, win, ids, act)
        spells = pd.concat([spells, adv_spells], ignore_index=True)
        spells = pd.concat([spells, _terminal_admissions(rng, state, win, dead, spells, ids)], ignore_index=True)
        age_of = (spells["admission_date"].to_numpy() - state.dob[spells["person_id"].to_numpy()]).astype(
            np.int64) / 365.25
        out["attendances"] += [adv_att, attendances_before_admission(rng, state, ids, spells, age_of),
                               other_attendances(rng, state, win, ids, risk)]
        out["admissions"] += [spells, elective_admissions(rng, state, win, ids)]
        out["outpatients"].append(outpatients(rng, ac, state, win))
        _record_deaths(rng, state, win, dead, spells, out)
        alive_out = spells[(spells["discharge_method"] == "1") & (spells["discharge_date"] < ye)]
        discharges = alive_out.groupby("person_id")["discharge_date"].max()
        entries, p_care_home = care_home_entries(rng, ac, state, win, discharges, homes,
                                                 _living_alone(state, win, ys))
        out["admission_risk"].append(year_risk.assign(care_home_p=p_care_home))
        _to_care_home(entries, spells)
        perm = entries[entries["permanent"]]
        entered[perm["person_id"].to_numpy()] = perm["entry_date"].to_numpy().astype("datetime64[D]")
        crisis_entries, crisis_events = _ld_crisis(rng, state, people, win, ye, ids, entered)
        if crisis_entries is not None:
            crisis_entries["home_id"] = homes.loc[homes["setting"] == "residential", "home_id"].iloc[0]
            state.care_home[crisis_entries["person_id"].to_numpy()] = crisis_entries["home_id"].to_numpy()
            state.care_setting[crisis_entries["person_id"].to_numpy()] = "residential"
            entered[crisis_entries["person_id"].to_numpy()] = crisis_entries["entry_date"].to_numpy()
            entries = pd.concat([entries, crisis_entries], ignore_index=True)
            out["asc_events"].append(crisis_events)
        out["care_home_entries"].append(entries)
        out["asc_events"].append(care_home_events(rng, state, entries, ids))
        out["asc_events"].append(community_requests(rng, ac, state, win, discharges, act["mh"], act["sub"], ids))
    return {k: pd.concat(v, ignore_index=True) for k, v in out.items()}


def _record_deaths(rng, state: State, win: Window, dead: np.ndarray, spells: pd.DataFrame, out) -> None:
    pid = win.idx[dead]
    in_hosp = np.isin(pid, spells.loc[spells["discharge_method"] == "4", "person_id"].to_numpy())
    young = win.age[dead] < 65
    cause = np.where(young, rng.choice(ICD_DEATH_YOUNG, pid.size), rng.choice(ICD_DEATH, pid.size))
    cause = np.where(state.dementia[pid] & (rng.random(pid.size) < 0.5), "F03X", cause)
    out["deaths"].append(pd.DataFrame({"person_id": pid, "death_date": state.death[pid], "death_cause_icd10": cause,
                                       "death_place": place_of_death(rng, state, pid, in_hosp)}))


def _to_care_home(entries: pd.DataFrame, spells: pd.DataFrame) -> None:
    """A permanent entry straight from hospital is that spell's discharge destination."""
    moved = entries[entries["permanent"] & (entries["route"] == "hospital_discharge")]
    key = pd.MultiIndex.from_arrays([moved["person_id"], moved["entry_date"].astype("datetime64[s]")])
    spell_key = pd.MultiIndex.from_arrays([spells["person_id"], spells["discharge_date"].astype("datetime64[s]")])
    hit = spell_key.isin(key) & (spells["discharge_method"] == "1").to_numpy()
    setting = pd.Series(moved["setting"].to_numpy(), index=key)
    dest = np.where(setting.reindex(spell_key[hit]).to_numpy() == "nursing", "85", "65")
    spells.loc[hit, "discharge_destination"] = dest
