"""Who lives in the whole-population county: the children and parents already simulated, plus other
adults and older people in their own households, sized so the age pyramid is close to England's.

Ages of the new people follow a stationary population (births constant, deaths by the ONS life table),
whose shares (0-17 ≈ 21%, 18-64 ≈ 58%, 65+ ≈ 21%) are close to England's 2021 census. Each new adult
is drawn in 2012 at the size its cohort needs to reach the target at the reference date after the
simulated deaths (which are calibrated to the same life table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.synth_params import SynthParams
from pipeline.synthetic import identities
from pipeline.synthetic.adults.codes import qx
from pipeline.synthetic.codes import ETHNICITY_CODES

YEAR = 365.25
NOT_YET = np.datetime64("2100-01-01")


@dataclass
class Population:
    """The people of the county and the latent traits that drive their lives.

    people: person_id, household_id, role, dob, sex, ethnicity, ethnicity_group, forename, surname,
        nhs_number, arrive_date, leave_date (2100-01-01 = stays), learning_disability, ld_registered,
        health (latent), poverty, imd_decile, lsoa_code, self_funder.
    households: household_id, kind (family | adult | older | ld_family), lsoa_code, imd_decile,
        poverty, dv_start/dv_end, mh_start/mh_end, sub_start/sub_end (years; 9999 = none).
    """

    people: pd.DataFrame
    households: pd.DataFrame


def _age_at(dob: np.ndarray, when: np.datetime64) -> np.ndarray:
    return (when - dob.astype("datetime64[D]")).astype(np.int64) / YEAR


def stationary_ages(rng: np.random.Generator, n: int, lo: int = 18, hi: int = 104) -> np.ndarray:
    """``n`` ages (years, fractional) from a stationary population under the life table (sexes pooled)."""
    ages = np.arange(0, hi + 1, dtype=float)
    q = 0.5 * (qx(ages, np.ones_like(ages, bool)) + qx(ages, np.zeros_like(ages, bool)))
    q[:18] = 0.0003
    surv = np.r_[1.0, np.cumprod(1 - q)[:-1]]
    w = surv[lo:hi]
    return rng.choice(np.arange(lo, hi), n, p=w / w.sum()) + rng.random(n)


def target_population(cfg: SynthParams, kids: pd.DataFrame) -> int:
    """Everyone resident at the reference date: ``synth.adults.population``, or sized from the children."""
    if cfg.adults.population:
        return cfg.adults.population
    ref = np.datetime64(cfg.reference_date, "D")
    age = _age_at(kids["dob"].to_numpy(), ref)
    resident = (kids["arrive_date"].to_numpy() <= ref) & (kids["leave_date"].to_numpy() > ref) & (age < 18)
    return int(resident.sum() / 0.21)


def existing_people(
    hh: pd.DataFrame, kids: pd.DataFrame, parents: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """The county's children and parents, with the residence window parents share with their children.

    Parents arrive with their first child (before the birth when it was born here) and leave with the
    household.
    """
    first_arrive = kids.groupby("household_id")["arrive_date"].min()
    first_dob = kids.groupby("household_id")["dob"].min()
    leave = kids.groupby("household_id")["leave_date"].max()
    hid = parents["household_id"].to_numpy()
    born_here = first_arrive.reindex(hid).to_numpy() <= first_dob.reindex(hid).to_numpy()
    before = rng.integers(0, 6 * 365, len(hid)).astype("timedelta64[D]")
    arrive = first_arrive.reindex(hid).to_numpy().astype("datetime64[D]") - np.where(born_here, before, 0)
    par = parents.assign(arrive_date=arrive, leave_date=leave.reindex(hid).to_numpy().astype("datetime64[D]"))
    par = par.merge(hh[["household_id", "ethnicity", "ethnicity_group"]], on="household_id")
    kid = kids.assign(role="child")
    cols = ["person_id", "household_id", "role", "dob", "sex", "ethnicity", "ethnicity_group", "forename", "surname",
            "nhs_number", "arrive_date", "leave_date"]
    out = pd.concat([kid[cols], par[cols]], ignore_index=True)
    for col in ("dob", "arrive_date", "leave_date"):
        out[col] = out[col].to_numpy().astype("datetime64[D]")
    return out


def _ethnicity(rng: np.random.Generator, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ethnicity code and group per household head: older generations are more often White (census 2021)."""
    codes = np.array(list(ETHNICITY_CODES))
    base = np.array([w for _, w in ETHNICITY_CODES.values()])
    white = np.array([g == "White" for g, _ in ETHNICITY_CODES.values()])
    out = np.empty(len(age), dtype=object)
    for lo, hi, boost in ((0, 40, 1.6), (40, 65, 3.0), (65, 200, 9.0)):
        sel = (age >= lo) & (age < hi)
        w = base * np.where(white, boost, 1.0)
        out[sel] = rng.choice(codes, int(sel.sum()), p=w / w.sum())
    group = pd.Series(out).map({c: g for c, (g, _) in ETHNICITY_CODES.items()}).to_numpy()
    return out.astype(str), group.astype(str)


def _households_of(rng: np.random.Generator, age: np.ndarray, sex: np.ndarray, couple_p: np.ndarray) -> np.ndarray:
    """Household index per person: people who form a couple are paired with someone of the other sex
    and a similar age (rank-matched); everyone else lives alone."""
    n = len(age)
    hid = np.arange(n)
    wants = rng.random(n) < couple_p
    men = np.flatnonzero(wants & (sex == "M"))
    women = np.flatnonzero(wants & (sex == "F"))
    men = men[np.argsort(age[men] + rng.normal(0, 2, men.size))]
    women = women[np.argsort(age[women] + rng.normal(0, 2, women.size))]
    k = min(men.size, women.size)
    # pair the k youngest-ranked of the larger side with the smaller side, both in age order
    if men.size > k:
        men = np.sort(rng.choice(men, k, replace=False), kind="stable")
        men = men[np.argsort(age[men], kind="stable")]
    if women.size > k:
        women = np.sort(rng.choice(women, k, replace=False), kind="stable")
        women = women[np.argsort(age[women], kind="stable")]
    hid[women] = hid[men]
    return np.unique(hid, return_inverse=True)[1]


def _couple_share(age: np.ndarray) -> np.ndarray:
    return np.select([age < 25, age < 65, age < 75, age < 85], [0.25, 0.6, 0.55, 0.4], 0.22)


def new_people(
    rng: np.random.Generator, cfg: SynthParams, existing: pd.DataFrame, n_total: int, first_id: int
) -> pd.DataFrame:
    """Adults and older people beyond the children's families, with their households (ids from 0).

    Returns:
        person_id, hh (household index among the new), role, dob, sex, arrive_date, leave_date,
        ld_family (bool: an adult with LD living with an older parent, or that parent).
    """
    ref = np.datetime64(cfg.reference_date, "D")
    start = np.datetime64(f"{cfg.adults.start_year - 1}-04-01")
    window = (ref - start).astype(np.int64) / YEAR
    dob_e = existing["dob"].to_numpy()
    arr_e, lea_e = existing["arrive_date"].to_numpy(), existing["leave_date"].to_numpy()

    def resident_hist(when: np.datetime64) -> np.ndarray:
        age = _age_at(dob_e, when)
        here = (arr_e <= when) & (lea_e > when) & (age >= 18)
        return np.bincount(age[here].astype(int), minlength=130)[:105]

    under18 = int(((_age_at(dob_e, ref) < 18) & (arr_e <= ref) & (lea_e > ref)).sum())
    adults = max(n_total - under18, 0)
    shares = np.bincount(stationary_ages(rng, 200_000).astype(int), minlength=105)[:105] / 200_000
    # the 2012 stock: everyone aged 18+ then, short of the parents already here
    need12 = np.maximum(np.round(adults * shares) - resident_hist(start), 0)
    leave_p = np.where(np.arange(105) < 45, 0.02, 0.008) * window
    stock_age = np.repeat(np.arange(105), rng.poisson(need12 / (1 - leave_p))).astype(float)
    stock_age = stock_age + rng.random(stock_age.size)
    # the young: aged under 18 in 2012, arriving as adults since, short of the county's own children
    young = np.arange(18, int(18 + window))
    need_ref = np.maximum(np.round(adults * shares[young]) - resident_hist(ref)[young], 0)
    young_age = np.repeat(young, rng.poisson(need_ref)).astype(float)
    young_age = young_age + rng.random(young_age.size)
    dob = np.concatenate([start - (stock_age * YEAR).astype("timedelta64[D]"),
                          ref - (young_age * YEAR).astype("timedelta64[D]")])
    n = dob.size
    # the 2012 stock has lived here for up to 40 years (or since birth): their GP history starts then
    lived = (rng.uniform(0, 40, n) * YEAR).astype("timedelta64[D]")
    arrive = np.where(np.arange(n) < stock_age.size, np.maximum(start - lived, dob), NOT_YET)
    eighteen = dob + np.timedelta64(6575, "D")
    late = arrive == NOT_YET
    span = np.maximum((ref - eighteen).astype(np.int64), 1)
    arrive[late] = eighteen[late] + (rng.random(late.sum()) * 0.8 * span[late]).astype("timedelta64[D]")
    age_ref = _age_at(dob, ref)
    leaves = ~late & (rng.random(n) < leave_p[np.minimum(age_ref - window, 104).astype(int).clip(0)])
    leave = np.where(leaves, start + (rng.random(n) * window * YEAR).astype("timedelta64[D]"), NOT_YET)
    sex = np.where(rng.random(n) < 0.49, "M", "F")
    hh = _households_of(rng, age_ref, sex, _couple_share(age_ref))
    # a household leaves together: the first leaver's date
    leave = pd.Series(leave).groupby(hh).transform("min").to_numpy().astype("datetime64[D]")
    leave = np.where(leave <= arrive + np.timedelta64(180, "D"), NOT_YET, leave)  # a partner arriving later stays
    people = pd.DataFrame({"hh": hh, "dob": dob, "sex": sex, "arrive_date": arrive, "leave_date": leave,
                           "ld_family": False})
    return pd.concat([people, _ld_families(rng, cfg, n_total, start, hh.max() + 1)], ignore_index=True).assign(
        person_id=lambda f: np.arange(first_id, first_id + len(f), dtype=np.int64),
        role=lambda f: np.where(_age_at(f["dob"].to_numpy(), ref) >= 65, "older", "adult"),
    )


def _ld_families(rng: np.random.Generator, cfg: SynthParams, n_total: int, start: np.datetime64, first_hh: int):
    """Adults with a learning disability living with a parent aged 70+ (Sheffield's cohort, S46).

    Families are drawn at the start with mothers aged 56-86, twice the target number: over the years
    some parents pass 70 while others die or move into care, keeping about the target at any time.
    """
    k = int(rng.poisson(2 * cfg.adults.ld_with_older_parents_per_100k * n_total / 1e5))
    mother_age = rng.uniform(56, 86, k)
    father = rng.random(k) < 0.55
    child_age = np.maximum(mother_age - rng.uniform(20, 42, k), 24)
    ages = np.concatenate([mother_age, mother_age[father] + rng.normal(2, 2, father.sum()), child_age])
    sex = np.concatenate([np.full(k, "F"), np.full(father.sum(), "M"), np.where(rng.random(k) < 0.58, "M", "F")])
    hh = first_hh + np.concatenate([np.arange(k), np.flatnonzero(father), np.arange(k)])
    dob = start - (ages * YEAR).astype("timedelta64[D]")
    return pd.DataFrame({"hh": hh, "dob": dob, "sex": sex, "arrive_date": dob, "leave_date": NOT_YET,
                         "ld_family": True, "ld_child": np.arange(ages.size) >= k + father.sum()})


def build_population(
    rng: np.random.Generator, cfg: SynthParams, hh: pd.DataFrame, kids: pd.DataFrame, parents: pd.DataFrame,
    lsoas: pd.DataFrame,
) -> Population:
    """Everyone in the county, with identities, households, neighbourhoods and latent traits.

    Args:
        hh, kids, parents: the children's county (population.build_households/build_children/build_parents).
        lsoas: lsoa_code, imd_decile.
    """
    ref = np.datetime64(cfg.reference_date, "D")
    old = existing_people(hh, kids, parents, rng)
    new = new_people(rng, cfg, old, target_population(cfg, kids), int(old["person_id"].max()) + 1)
    first_hh = int(hh["household_id"].max()) + 1
    new["household_id"] = new["hh"].to_numpy() + first_hh
    n_hh = int(new["hh"].max()) + 1
    head_age = _age_at(new.groupby("hh")["dob"].min().reindex(range(n_hh)).to_numpy(), ref)
    eth, group = _ethnicity(rng, head_age)
    # older people live a little more often in the less deprived neighbourhoods
    # (one cumulative weight per age group, not a households x neighbourhoods matrix: 1M people = 400k x 1,300)
    u = rng.random(n_hh)
    pick = np.empty(n_hh, dtype=np.int64)
    for older in (False, True):
        w = 1 + 0.04 * (lsoas["imd_decile"].to_numpy() - 5.5) * older
        rows = (head_age >= 65) == older
        pick[rows] = np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), u[rows], side="left"), w.size - 1)
    lsoa = lsoas["lsoa_code"].to_numpy()[pick]
    imd = lsoas["imd_decile"].to_numpy()[pick].astype(int)
    ld_family = new.groupby("hh")["ld_family"].any().reindex(range(n_hh)).to_numpy()
    kind = np.where(ld_family, "ld_family", np.where(head_age >= 65, "older", "adult"))
    new_hh = pd.DataFrame({"household_id": np.arange(first_hh, first_hh + n_hh), "kind": kind, "lsoa_code": lsoa,
                           "imd_decile": imd, "poverty": -(imd - 5.5) / 3 + rng.normal(0, 0.8, n_hh),
                           "ethnicity": eth, "ethnicity_group": group, "surname": identities.surnames(rng, group)})
    for name in ("dv", "mh", "sub"):
        new_hh[f"{name}_start"] = new_hh[f"{name}_end"] = 9999
    h = new["hh"].to_numpy()
    new["ethnicity"], new["ethnicity_group"] = eth[h], group[h]
    new["forename"] = identities.forenames(rng, group[h], new["sex"].to_numpy())
    new["surname"] = new_hh["surname"].to_numpy()[h]
    new["nhs_number"] = _fresh_nhs(rng, len(new), old["nhs_number"].to_numpy())
    new["learning_disability"] = np.where(new["ld_family"], new.get("ld_child", False).fillna(False).astype(bool),
                                          rng.random(len(new)) < cfg.adults.learning_disability_rate)
    households = pd.concat(
        [hh.assign(kind="family")[list(new_hh.columns.drop(["surname"]))], new_hh.drop(columns="surname")],
        ignore_index=True,
    )
    people = pd.concat([old, new[list(old.columns) + ["learning_disability", "ld_family"]]], ignore_index=True)
    people["ld_family"] = people["ld_family"].fillna(False).astype(bool)
    kid_ld = pd.Series(kids["sen_latent"].to_numpy() > np.quantile(kids["sen_latent"], 1 - 0.021),
                       index=kids["person_id"].to_numpy())
    people["learning_disability"] = (
        people["learning_disability"].fillna(people["person_id"].map(kid_ld)).fillna(False).astype(bool)
    )
    reg_p = np.where(people["ld_family"], 0.85, cfg.adults.ld_on_gp_register)
    people["ld_registered"] = people["learning_disability"] & (rng.random(len(people)) < reg_p)
    home = households.set_index("household_id")
    hid = people["household_id"].to_numpy()
    people["lsoa_code"] = home["lsoa_code"].reindex(hid).to_numpy()
    people["imd_decile"] = home["imd_decile"].reindex(hid).to_numpy().astype(int)
    people["poverty"] = home["poverty"].reindex(hid).to_numpy()
    shared = hh.set_index("household_id")["shared_vulnerability"].reindex(hid).fillna(0.0).to_numpy()
    people["health"] = rng.normal(0, 1, len(people)) + 0.3 * people["poverty"].to_numpy() + 0.3 * shared
    age = _age_at(people["dob"].to_numpy(), ref)
    share = np.where(age >= 50, cfg.adults.self_funder_share_65, 0.12)
    logit = np.log(share / (1 - share)) + 0.3 * (people["imd_decile"].to_numpy() - 5.5)
    people["self_funder"] = (rng.random(len(people)) < 1 / (1 + np.exp(-logit))) & ~people["learning_disability"]
    return Population(people=people, households=households)


def _fresh_nhs(rng: np.random.Generator, n: int, taken: np.ndarray) -> np.ndarray:
    draw = identities.nhs_numbers(rng, n + len(taken) // 20 + 100)
    return draw[~pd.Series(draw).isin(pd.Series(taken)).to_numpy()][:n]
