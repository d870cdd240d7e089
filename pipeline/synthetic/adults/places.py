"""Where people live and are registered: address histories with a synthetic 12-digit UPRN per address
(moves included; a household shares its UPRN while together), care homes, and GP practices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults.people import NOT_YET

MOVE_RATE = {"adult": 0.07, "older": 0.025, "ld_family": 0.01}
NAT = np.datetime64("NaT", "D")
FIRST = np.datetime64("1900-01-01")


def uprns(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 12-digit UPRN strings (starting 9: no real address ranges are generated)."""
    return (rng.choice(10**11, n, replace=False) + 9 * 10**11).astype(str)


def new_household_moves(
    rng: np.random.Generator, households: pd.DataFrame, postcodes: pd.DataFrame, lsoas: pd.DataFrame,
    first_year: int, last_year: int,
) -> pd.DataFrame:
    """Address history of the households that are not the children's families.

    Returns:
        household_id, from_date, postcode, lsoa_code (first row from 1900-01-01).
    """
    hh = households[households["kind"] != "family"]
    by_lsoa = postcodes.groupby("lsoa_code")["postcode"].apply(np.array)
    by_decile = lsoas.groupby("imd_decile")["lsoa_code"].apply(np.array)
    rows = [pd.DataFrame({"household_id": hh["household_id"].to_numpy(), "from_date": FIRST,
                          "lsoa_code": hh["lsoa_code"].to_numpy(), "imd": hh["imd_decile"].to_numpy()})]
    rate = hh["kind"].map(MOVE_RATE).to_numpy()
    for year in range(first_year, last_year + 1):
        movers = np.flatnonzero(rng.random(len(hh)) < rate)
        dec = (hh["imd_decile"].to_numpy()[movers] + rng.integers(-1, 2, movers.size)).clip(1, 10)
        dec = np.array([d if d in by_decile.index else by_decile.index[0] for d in dec], dtype=int)
        new = np.array([rng.choice(by_decile[d]) for d in dec], dtype=object)
        when = np.datetime64(f"{year - 1}-04-01") + rng.integers(0, 365, movers.size).astype("timedelta64[D]")
        rows.append(pd.DataFrame({"household_id": hh["household_id"].to_numpy()[movers], "from_date": when,
                                  "lsoa_code": new.astype(str), "imd": dec}))
    hist = pd.concat(rows, ignore_index=True).drop(columns="imd")
    pools = by_lsoa.reindex(hist["lsoa_code"]).to_numpy()
    hist["postcode"] = [p[i % len(p)] for p, i in zip(pools, rng.integers(0, 1 << 30, len(hist)), strict=True)]
    return hist


def care_homes(rng: np.random.Generator, n_people: int, postcodes: pd.DataFrame) -> pd.DataFrame:
    """The county's care homes (about one per 2,500 residents), half residential and half nursing.

    Returns:
        home_id, setting, uprn, postcode, lsoa_code.
    """
    n = max(4, round(n_people / 2500))
    pick = postcodes.iloc[rng.choice(len(postcodes), n, replace=False)]
    return pd.DataFrame({"home_id": np.arange(n), "setting": np.where(np.arange(n) % 2, "nursing", "residential"),
                         "uprn": uprns(rng, n), "postcode": pick["postcode"].to_numpy(),
                         "lsoa_code": pick["lsoa_code"].to_numpy()})


def person_addresses(
    rng: np.random.Generator, people: pd.DataFrame, history: pd.DataFrame, homes: pd.DataFrame,
    moves_in: pd.DataFrame, ref: np.datetime64,
) -> pd.DataFrame:
    """Each person's addresses over their time in the county, ending at a care-home move.

    Args:
        people: person_id, household_id, dob, arrive_date, leave_date, death_date (NOT_YET/NaT = none).
        history: household_id, from_date, postcode, lsoa_code for every household.
        moves_in: person_id, entry_date, home_id (permanent care-home entries).

    Returns:
        person_id, uprn, postcode, lsoa_code, start, end (NaT = current).
    """
    hist = history.sort_values(["household_id", "from_date"], kind="stable").reset_index(drop=True)
    hist["uprn"] = uprns(rng, len(hist))
    nxt = hist.groupby("household_id")["from_date"].shift(-1).to_numpy().astype("datetime64[D]")
    hist["until"] = np.where(np.isnat(nxt), NOT_YET, nxt)
    p = people[["person_id", "household_id", "dob", "arrive_date", "leave_date", "death_date"]]
    rows = p.merge(hist, on="household_id")
    gone = np.minimum(rows["leave_date"].to_numpy().astype("datetime64[D]"),
                      rows["death_date"].to_numpy().astype("datetime64[D]"))
    into = moves_in.drop_duplicates("person_id").set_index("person_id")
    entry = into["entry_date"].reindex(rows["person_id"]).to_numpy().astype("datetime64[D]")
    entry = np.where(np.isnat(entry), NOT_YET, entry)
    start = np.maximum(rows["from_date"].to_numpy().astype("datetime64[D]"),
                       np.maximum(rows["arrive_date"].to_numpy().astype("datetime64[D]"),
                                  rows["dob"].to_numpy().astype("datetime64[D]")))
    end = np.minimum(np.minimum(rows["until"].to_numpy().astype("datetime64[D]"), gone), entry)
    keep = (end > start) & (start <= ref)
    out = pd.DataFrame({"person_id": rows["person_id"].to_numpy(), "uprn": rows["uprn"].to_numpy(),
                        "postcode": rows["postcode"].to_numpy(), "lsoa_code": rows["lsoa_code"].to_numpy(),
                        "start": start, "end": end})[keep]
    ch = moves_in.merge(homes, on="home_id").merge(p, on="person_id")
    ch_end = np.minimum(ch["leave_date"].to_numpy().astype("datetime64[D]"),
                        ch["death_date"].to_numpy().astype("datetime64[D]"))
    out = pd.concat([out, pd.DataFrame({"person_id": ch["person_id"].to_numpy(), "uprn": ch["uprn"].to_numpy(),
                                        "postcode": ch["postcode"].to_numpy(), "lsoa_code": ch["lsoa_code"].to_numpy(),
                                        "start": ch["entry_date"].to_numpy().astype("datetime64[D]"),
                                        "end": ch_end})], ignore_index=True)
    out["end"] = np.where(out["end"].to_numpy() > ref, NAT, out["end"].to_numpy())
    return out.sort_values(["person_id", "start"], ignore_index=True)


def gp_practices(rng: np.random.Generator, lsoas: pd.DataFrame, n_people: int) -> pd.Series:
    """lsoa_code -> GP practice code: one practice per ~7,000 people, serving neighbouring LSOAs."""
    n = max(3, round(n_people / 7000))
    codes = np.char.add("Y9", np.char.zfill(rng.choice(10**4, n, replace=False).astype(str), 4))
    order = np.sort(lsoas["lsoa_code"].to_numpy())
    return pd.Series(codes[np.arange(order.size) * n // order.size], index=order)


def registrations(people: pd.DataFrame, addresses: pd.DataFrame, practice_of: pd.Series,
                  ref: np.datetime64) -> pd.DataFrame:
    """One registration per person with the practice serving their first address in the county.

    Returns:
        person_id, gp_practice, start, end (NaT = current).
    """
    first = addresses.groupby("person_id")[["lsoa_code", "start"]].first()
    p = people.set_index("person_id").reindex(first.index)
    end = np.minimum(p["leave_date"].to_numpy().astype("datetime64[D]"),
                     p["death_date"].to_numpy().astype("datetime64[D]"))
    return pd.DataFrame({"person_id": first.index.to_numpy(),
                         "gp_practice": practice_of.reindex(first["lsoa_code"]).to_numpy(),
                         "start": first["start"].to_numpy().astype("datetime64[D]"),
                         "end": np.where(end > ref, NAT, end)})
