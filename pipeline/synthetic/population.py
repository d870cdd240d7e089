"""The people of the synthetic county: households, neighbourhoods, children and their parents.

Everything here is drawn once, before any record exists: true identities, residence in the county,
and the latent causes (poverty, parental adversity, child SEN and health) that later drive events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic import identities
from pipeline.synthetic.codes import ETHNICITY_CODES

LA_CODE = "885"
DAY = np.timedelta64(1, "D")


def _days(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[D]")


def build_neighbourhoods(rng: np.random.Generator, n_lsoa: int) -> pd.DataFrame:
    """LSOAs with an IMD decile and postcodes.

    Returns:
        lsoa_code, district, imd_decile, postcodes (list per LSOA held separately in ``postcode_table``).
    """
    lsoas = identities.make_lsoas(rng, n_lsoa)
    # a county with more deprived than affluent neighbourhoods, like many English LAs
    deciles = rng.choice(np.arange(1, 11), size=n_lsoa, p=np.array([13, 12, 11, 11, 10, 10, 9, 8, 8, 8]) / 100)
    lsoas["imd_decile"] = deciles.astype("int8")
    return lsoas


def build_households(rng: np.random.Generator, cfg: SynthParams, lsoas: pd.DataFrame) -> pd.DataFrame:
    """One row per household, with its latent adversity and its first neighbourhood.

    Returns:
        household_id, n_children, ethnicity, ethnicity_group, poverty, dv, mh, sub,
        dv_start/dv_end (and mh_, sub_: years of active adversity), lsoa_code, imd_decile,
        leave_year (year the household leaves the county; 9999 = stays), surname.
    """
    sizes = rng.choice([1, 2, 3, 4, 5], size=cfg.children, p=[0.36, 0.36, 0.17, 0.08, 0.03])
    cum = np.cumsum(sizes)
    n_house = int(np.searchsorted(cum, cfg.children) + 1)
    sizes = sizes[:n_house].copy()
    sizes[-1] -= cum[n_house - 1] - cfg.children
    codes = np.array(list(ETHNICITY_CODES))
    weights = np.array([w for _, w in ETHNICITY_CODES.values()])
    ethnicity = rng.choice(codes, size=n_house, p=weights / weights.sum())
    group = pd.Series(ethnicity).map({c: g for c, (g, _) in ETHNICITY_CODES.items()}).to_numpy()

    poverty = rng.normal(0.0, 1.0, n_house)
    # minority groups are more often in deprived neighbourhoods (as in England), not more adverse per se
    poverty += np.where(pd.Series(group).isin(["Black", "Asian", "Mixed"]).to_numpy(), 0.35, 0.0)
    shared = rng.normal(0.0, 1.0, n_house)  # household vulnerability shared by the three adversities

    # group offsets reproduce the looked-after ethnicity mix (Mixed over-, Asian under-represented)
    offset = pd.Series(group).map({"Asian": -1.4, "Mixed": 0.35, "Black": -0.15}).fillna(0.0).to_numpy()

    def adversity(base: float, pov_w: float) -> np.ndarray:
        logit = base + pov_w * poverty + 0.9 * shared + offset
        return rng.random(n_house) < 1 / (1 + np.exp(-logit))

    hh = pd.DataFrame(
        {
            "household_id": np.arange(n_house, dtype=np.int64),
            "n_children": sizes,
            "ethnicity": ethnicity,
            "ethnicity_group": group,
            "poverty": poverty,
            "shared_vulnerability": shared,
        }
    )
    for name, base, pov_w in (("dv", -2.9, 0.55), ("mh", -2.4, 0.35), ("sub", -3.2, 0.6)):
        has = adversity(base, pov_w)
        start = rng.integers(2001, 2027, n_house)
        length = rng.integers(2, 9, n_house)
        hh[f"{name}_start"] = np.where(has, start, 9999).astype(np.int32)
        hh[f"{name}_end"] = np.where(has, start + length, 9999).astype(np.int32)

    # deprived households live in deprived neighbourhoods: sort both and pair with noise
    order_h = np.argsort(-(poverty + rng.normal(0, 0.7, n_house)))
    lsoa_by_dep = lsoas.sort_values("imd_decile", kind="stable")["lsoa_code"].to_numpy()
    slot = np.arange(n_house) * len(lsoa_by_dep) // n_house
    assigned = np.empty(n_house, dtype=object)
    assigned[order_h] = lsoa_by_dep[slot]
    hh["lsoa_code"] = assigned.astype(str)
    hh["imd_decile"] = hh["lsoa_code"].map(lsoas.set_index("lsoa_code")["imd_decile"]).astype("int8")
    leave = 2001 + rng.geometric(cfg.leave_county_rate, n_house)
    hh["leave_year"] = np.where(leave > 2026, 9999, leave).astype(np.int32)
    hh["surname"] = identities.surnames(rng, group)
    return hh


def build_children(rng: np.random.Generator, cfg: SynthParams, hh: pd.DataFrame) -> pd.DataFrame:
    """One row per child, with true identity, latent SEN/health need and residence window.

    Returns:
        person_id, household_id, dob, sex, ethnicity, ethnicity_group, forename, middlenames, surname,
        nhs_number, sen_latent, health_latent, child_effect, arrive_date, leave_date.
    """
    hid = np.repeat(hh["household_id"].to_numpy(), hh["n_children"].to_numpy())
    n = len(hid)
    first = np.datetime64(cfg.first_birth, "D")
    last = np.datetime64(cfg.last_birth, "D")
    span = int((last - first) / DAY)
    rank = np.arange(n) - np.repeat(
        np.cumsum(hh["n_children"].to_numpy()) - hh["n_children"].to_numpy(), hh["n_children"].to_numpy()
    )
    anchor = rng.integers(0, span, len(hh))[hid]
    gaps = rng.integers(450, 1500, n)
    offset = anchor + rank * gaps
    offset = np.where(offset > span, rng.integers(0, span, n), offset)
    dob = first + offset.astype("timedelta64[D]")
    sex = np.where(rng.random(n) < 0.512, "M", "F")
    group = hh["ethnicity_group"].to_numpy()[hid]
    kids = pd.DataFrame(
        {
            "person_id": np.arange(n, dtype=np.int64),
            "household_id": hid,
            "dob": dob,
            "sex": sex,
            "ethnicity": hh["ethnicity"].to_numpy()[hid],
            "ethnicity_group": group,
            "forename": identities.forenames(rng, group, sex),
            "middlenames": identities.middlenames(rng, group, sex),
            "surname": hh["surname"].to_numpy()[hid],
            "nhs_number": identities.nhs_numbers(rng, n),
        }
    )
    # SEN: boys about twice as likely; linked to poverty and to household vulnerability
    kids["sen_latent"] = rng.normal(0, 1, n) + np.where(sex == "M", 0.45, 0.0) + 0.25 * hh["poverty"].to_numpy()[hid]
    kids["health_latent"] = rng.normal(0, 1, n)
    kids["child_effect"] = rng.normal(0, 0.6, n)
    # most children are born here; some arrive later with their family
    arrives_later = rng.random(n) < 0.18
    arrive = dob + np.where(arrives_later, rng.integers(0, 16 * 365, n), 0).astype("timedelta64[D]")
    leave_year = hh["leave_year"].to_numpy()[hid]
    leave = np.where(
        leave_year < 9999,
        (leave_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(0, 365, n),
        np.datetime64("2100-01-01"),
    ).astype("datetime64[D]")
    leave = np.maximum(leave, arrive + 180)
    kids["arrive_date"] = arrive
    kids["leave_date"] = leave
    return kids


def build_parents(rng: np.random.Generator, hh: pd.DataFrame, kids: pd.DataFrame) -> pd.DataFrame:
    """Mothers (every household) and fathers (about two in three), as people with identities.

    Returns:
        person_id, household_id, role (mother/father), dob, sex, forename, surname, nhs_number.
    """
    first_child = kids.groupby("household_id")["dob"].min().reindex(hh["household_id"]).to_numpy()
    n_h = len(hh)
    has_father = rng.random(n_h) < 0.65
    roles = np.concatenate([np.full(n_h, "mother"), np.full(int(has_father.sum()), "father")])
    hid = np.concatenate([hh["household_id"].to_numpy(), hh["household_id"].to_numpy()[has_father]])
    age_days = (rng.normal(28, 5.5, len(hid)).clip(16, 45) * 365.25).astype("timedelta64[D]")
    dob = first_child[np.searchsorted(hh["household_id"].to_numpy(), hid)] - age_days
    sex = np.where(roles == "mother", "F", "M")
    group = hh["ethnicity_group"].to_numpy()[hid]
    base = int(kids["person_id"].max()) + 1
    return pd.DataFrame(
        {
            "person_id": np.arange(base, base + len(hid), dtype=np.int64),
            "household_id": hid,
            "role": roles,
            "dob": dob.astype("datetime64[D]"),
            "sex": sex,
            "forename": identities.forenames(rng, group, sex),
            "surname": hh["surname"].to_numpy()[hid],
            "nhs_number": _fresh_nhs_numbers(rng, len(hid), kids["nhs_number"].to_numpy()),
        }
    )


def _fresh_nhs_numbers(rng: np.random.Generator, n: int, taken: np.ndarray) -> np.ndarray:
    """``n`` NHS numbers not already given to anyone in ``taken``."""
    draw = identities.nhs_numbers(rng, n + len(taken) // 50 + 100)
    return draw[~pd.Series(draw).isin(pd.Series(taken)).to_numpy()][:n]
