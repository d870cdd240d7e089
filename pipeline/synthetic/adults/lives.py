"""Build the adults' :class:`AdultLives` for the county: people, the year loop, then what follows from
it (addresses, registrations, caring, carers' records, medications, maternity spells, reviews).

Entry point: :func:`simulate_adults`. Its random stream is ``default_rng([seed, 17])`` and it reads the
children's county without drawing from the children's stream, so the children's extracts are the same
byte for byte whether adults are simulated or not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.synth_params import SynthParams
from pipeline.synthetic.adults import AdultLives
from pipeline.synthetic.adults.adversity import adversity_gp_codes, parent_adversity
from pipeline.synthetic.adults.caring import carer_events, carer_gp_codes, caring_pairs, need_onset
from pipeline.synthetic.adults.codes import (
    BNF_ALCOHOL,
    BNF_DEMENTIA,
    BNF_DEPRESSION,
    BNF_SMI,
    CONDITIONS,
    ICD_MATERNITY,
    SNOMED,
    concept_of,
)
from pipeline.synthetic.adults.health import gp_rows
from pipeline.synthetic.adults.hospital import Ids, admissions_frame
from pipeline.synthetic.adults.people import NOT_YET, build_population
from pipeline.synthetic.adults.places import (
    care_homes,
    gp_practices,
    new_household_moves,
    person_addresses,
    registrations,
)
from pipeline.synthetic.adults.simulate import run_years
from pipeline.synthetic.adults.social_care import close_and_review
from pipeline.synthetic.adults.state import DAY, State

NAT = np.datetime64("NaT", "D")
MEDICATION_YEARS = 3  # repeat issues are written for the last three years only (GP extracts' usual look-back)
BNF_OF = {concept_of(c.name): c.bnf for c in CONDITIONS if c.bnf} | {
    "dementia": BNF_DEMENTIA, "depression": BNF_DEPRESSION, "smi": BNF_SMI, "alcohol": BNF_ALCOHOL}


def simulate_adults(
    cfg: SynthParams, hh: pd.DataFrame, kids: pd.DataFrame, parents: pd.DataFrame, lsoas: pd.DataFrame,
    postcodes: pd.DataFrame, family_addresses: pd.DataFrame,
) -> tuple[AdultLives, pd.DataFrame]:
    """The whole population's true lives, and each adult's true expected emergency admissions per year.

    Args:
        hh, kids, parents: the children's county (pipeline.synthetic.population).
        lsoas: lsoa_code, district, imd_decile. postcodes: postcode, lsoa_code.
        family_addresses: the children's households' address history (records.address_history).

    Returns:
        (lives, admission_risk) — admission_risk: person_id, year, age, exposure, expected, care_home_p.
    """
    rng = np.random.default_rng([cfg.seed, 17])
    ref = np.datetime64(cfg.reference_date, "D")
    pop = build_population(rng, cfg, hh, kids, parents, lsoas)
    people = pop.people.sort_values("person_id", ignore_index=True)
    state = State.from_people(rng, people, cfg.adults.persistent_shape)
    _parents_live_to_see_their_children(state, people, kids)
    adversity = parent_adversity(rng, people, pop.households)
    adversity = adversity[adversity["start"] <= ref].reset_index(drop=True)
    homes = care_homes(rng, len(people), postcodes)
    ids = Ids()
    ev = run_years(rng, cfg, state, people, adversity, homes, ids)

    gone = np.minimum(state.death, state.leave)
    until = np.minimum(gone, ref)
    entries = ev["care_home_entries"]
    entries = entries[entries["entry_date"].to_numpy() < gone[entries["person_id"].to_numpy()]]
    perm = entries[entries["permanent"]]
    moves_in = perm.groupby("person_id")["entry_date"].min()
    at_home_until = gone.copy()
    at_home_until[moves_in.index.to_numpy()] = np.minimum(gone[moves_in.index.to_numpy()],
                                                          moves_in.to_numpy().astype("datetime64[D]"))
    people["self_funder"] = state.self_funder
    people["death_date"] = np.where(state.death <= ref, state.death, NAT)
    people["leave_date"] = np.where(state.leave <= ref, state.leave, NAT)
    # each event table is popped from ``ev`` as it is used: at 1,000,000 people no copy outlives its use
    gp = pd.concat([*([ev.pop("gp_events")] if "gp_events" in ev else []),
                    adversity_gp_codes(rng, adversity, until), _child_ld_codes(rng, people, state, until),
                    _care_home_codes(rng, perm, until)], ignore_index=True)
    gp = gp[gp["date"].to_numpy().astype("datetime64[D]") <= until[gp["person_id"].to_numpy()]]
    need = need_onset(gp, state.dementia_since)
    caring = caring_pairs(rng, people, need, at_home_until, ref)
    gp = pd.concat([gp, carer_gp_codes(rng, caring, people, state.dementia, until, ref)], ignore_index=True)
    asc = close_and_review(rng, ev.pop("asc_events"), state.death, state.leave, moves_in, ref, ids)
    services = asc[(asc["event_type"] == "Service") & (asc["client_type"] == "Service user")]
    asc = pd.concat([asc, carer_events(rng, caring, services, state.self_funder, gone, ref, ids)], ignore_index=True)
    admissions = _no_overlaps(pd.concat([ev.pop("admissions"), _maternity(rng, state, people, kids, ids, cfg)],
                                        ignore_index=True), state.death)

    history = pd.concat([family_addresses[["household_id", "from_date", "postcode", "lsoa_code"]],
                         new_household_moves(rng, pop.households, postcodes, lsoas, cfg.adults.start_year,
                                             int(str(ref)[:4]))], ignore_index=True)
    people_dates = people.assign(death_date=np.where(np.isnat(people["death_date"].to_numpy()), NOT_YET,
                                                     people["death_date"].to_numpy()),
                                 leave_date=state.leave)
    addresses = person_addresses(rng, people_dates, history, homes, perm, ref)
    practice_of = gp_practices(rng, lsoas, len(people))
    regs = registrations(people_dates, addresses, practice_of, ref)
    deaths = ev["deaths"].set_index("person_id")
    last = addresses.groupby("person_id").last()
    in_hospital = people["person_id"].isin(admissions.loc[admissions["discharge_method"] == "4", "person_id"])
    deaths.loc[deaths.index.isin(people.loc[in_hospital, "person_id"]), "death_place"] = "hospital"
    people = people.assign(
        death_cause_icd10=deaths["death_cause_icd10"].reindex(people["person_id"]).fillna("").to_numpy(),
        death_place=deaths["death_place"].reindex(people["person_id"]).fillna("").to_numpy(),
        gp_practice=regs.set_index("person_id")["gp_practice"].reindex(people["person_id"]).fillna("").to_numpy(),
        lsoa_code=last["lsoa_code"].reindex(people["person_id"]).fillna(people["lsoa_code"]).to_numpy(),
    )
    people["imd_decile"] = people["lsoa_code"].map(lsoas.set_index("lsoa_code")["imd_decile"]).astype(int)
    attendances = ev.pop("attendances")
    attendances = attendances[attendances["arrival_date"] <= ref].sort_values("attendance_id", ignore_index=True)
    outpatients = ev.pop("outpatients")
    # nothing after the reference date exists: one arriving that day has left by it
    attendances["departure_date"] = np.minimum(attendances["departure_date"].to_numpy().astype("datetime64[D]"), ref)
    lives = AdultLives(
        people=people[PEOPLE_COLUMNS].copy(),
        addresses=addresses,
        gp_registrations=regs,
        gp_events=gp.sort_values(["person_id", "date"], ignore_index=True),
        medications=_medications(rng, gp, until, ref),
        admissions=admissions[admissions["admission_date"] <= ref].sort_values("spell_id", ignore_index=True),
        attendances=attendances,
        outpatients=outpatients[outpatients["appointment_date"] <= ref].reset_index(drop=True),
        care_home_entries=entries.drop(columns=["exit_date", "home_id"]).reset_index(drop=True),
        asc_events=asc[asc["start"].to_numpy().astype("datetime64[D]") <= until[asc["person_id"].to_numpy()]]
        .sort_values("event_id", ignore_index=True),
        caring=caring,
        adversity=adversity,
    )
    return lives, ev["admission_risk"]


def _parents_live_to_see_their_children(state: State, people: pd.DataFrame, kids: pd.DataFrame) -> None:
    """Mothers live until their last child's birth, fathers until its conception (the children exist)."""
    last = kids.groupby("household_id")["dob"].max()
    par = people[people["role"].isin(["mother", "father"])]
    born = last.reindex(par["household_id"]).to_numpy().astype("datetime64[D]")
    born = np.where(par["role"].to_numpy() == "father", born - 280 * DAY, born)
    state.lives_until[par["person_id"].to_numpy()] = born


PEOPLE_COLUMNS = ["person_id", "household_id", "role", "dob", "sex", "ethnicity", "ethnicity_group", "forename",
                  "surname", "nhs_number", "arrive_date", "leave_date", "death_date", "death_cause_icd10",
                  "death_place", "learning_disability", "gp_practice", "lsoa_code", "imd_decile", "self_funder"]


def _no_overlaps(spells: pd.DataFrame, death: np.ndarray) -> pd.DataFrame:
    """A spell ends no later than the person's next admission (a year's draws may overlap the next
    year's), and one still open at death ends in death (DISMETH 4, DISDEST 79)."""
    out = spells.sort_values(["person_id", "admission_date", "spell_id"], ignore_index=True)
    nxt = out.groupby("person_id")["admission_date"].shift(-1).to_numpy().astype("datetime64[D]")
    dis = out["discharge_date"].to_numpy().astype("datetime64[D]")
    dis = np.where(~np.isnat(nxt) & (nxt < dis), nxt, dis)
    died = dis >= death[out["person_id"].to_numpy()]
    out["discharge_date"] = np.where(died, death[out["person_id"].to_numpy()], dis)
    out.loc[died, "discharge_method"] = "4"
    out.loc[died, "discharge_destination"] = "79"
    return out


def _child_ld_codes(rng, people: pd.DataFrame, state: State, until: np.ndarray) -> pd.DataFrame:
    """The LD code of registered children, from about age five (adults get theirs when first seen)."""
    kid = people[(people["role"] == "child") & state.ld_registered[people["person_id"].to_numpy()]]
    pid = kid["person_id"].to_numpy()
    when = np.maximum(state.dob[pid] + (5 * 365 + rng.integers(0, 3 * 365, pid.size)) * DAY, state.arrive[pid])
    adult = state.seeded[pid]  # coded again as an adult otherwise
    ok = (when <= until[pid]) & ~adult
    return gp_rows(pid[ok], when[ok], np.full(ok.sum(), "ld"), np.full(ok.sum(), SNOMED["ld"]))


def _care_home_codes(rng, perm: pd.DataFrame, until: np.ndarray) -> pd.DataFrame:
    pid = perm["person_id"].to_numpy()
    when = perm["entry_date"].to_numpy().astype("datetime64[D]") + rng.integers(0, 60, pid.size) * DAY
    ok = (rng.random(pid.size) < 0.85) & (when <= until[pid])
    return gp_rows(pid[ok], when[ok], np.full(ok.sum(), "care_home_resident"),
                   np.full(ok.sum(), SNOMED["care_home_resident"]))


def _medications(rng, gp: pd.DataFrame, until: np.ndarray, ref: np.datetime64) -> pd.DataFrame:
    """Quarterly repeat issues for each coded condition with a repeat medicine, over the last three years."""
    g = gp[gp["concept"].isin(BNF_OF)].drop_duplicates(["person_id", "concept"])
    pid = g["person_id"].to_numpy()
    first = np.maximum(g["date"].to_numpy().astype("datetime64[D]"), ref - MEDICATION_YEARS * 365 * DAY)
    n = np.maximum(((until[pid] - first).astype(np.int64) // 91) + 1, 0)
    rows = np.repeat(np.arange(len(g)), n)
    k = np.arange(rows.size) - np.repeat(np.cumsum(n) - n, n)
    when = first[rows] + (k * 91 + rng.integers(-5, 5, rows.size)) * DAY
    # the largest true table (about 20 issues per adult): a category and a small int keep it compact
    return pd.DataFrame({"person_id": pid[rows], "date": when,
                         "bnf_code": pd.Categorical(g["concept"].map(BNF_OF).to_numpy()[rows],
                                                    categories=sorted(set(BNF_OF.values()))),
                         "quantity": rng.choice(np.array([28, 56, 84], dtype=np.int16), rows.size, p=[0.2, 0.3, 0.5]),
                         "repeat": True})[when <= until[pid[rows]]].reset_index(drop=True)


def _maternity(rng, state: State, people: pd.DataFrame, kids: pd.DataFrame, ids: Ids, cfg: SynthParams):
    """The mothers' delivery spells (ADMIMETH 31) for the county's children born since the start."""
    start = np.datetime64(f"{cfg.adults.start_year - 1}-04-01")
    mums = people[people["role"] == "mother"].set_index("household_id")["person_id"]
    born = kids[(kids["dob"].to_numpy() >= start) & (kids["dob"].to_numpy() <= np.datetime64(cfg.reference_date))
                & (kids["arrive_date"].to_numpy() <= kids["dob"].to_numpy())]
    mother = mums.reindex(born["household_id"]).to_numpy()
    ok = ~np.isnan(mother)
    pid = mother[ok].astype(np.int64)
    date = born["dob"].to_numpy()[ok].astype("datetime64[D]")
    frame = admissions_frame(rng, state, ids, pid, date, np.full(pid.size, "31"), rng.choice(ICD_MATERNITY, pid.size),
                             np.full(pid.size, 20.0))
    frame["discharge_date"] = date + rng.integers(0, 4, pid.size) * DAY
    frame["discharge_method"], frame["discharge_destination"] = "1", "19"
    return frame
