"""Base rates of the adults' lives, measured as DOMAIN_ADULTS.md §3 states them (tests and the README).

Denominators are mid-year (30 September) residents, as ONS mid-year estimates are; admissions are
spells with an emergency ADMIMETH (2x).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults import AdultLives
from pipeline.synthetic.adults.codes import AGE_BANDS, qx


def _age(dob: pd.Series, when: np.datetime64) -> np.ndarray:
    return (when - dob.to_numpy().astype("datetime64[D]")).astype(np.int64) / 365.25


def residents(people: pd.DataFrame, when: np.datetime64) -> pd.DataFrame:
    """People living in the county on ``when``, with their age then (``age`` column)."""
    arrive = people["arrive_date"].to_numpy().astype("datetime64[D]")
    gone = np.minimum(_or_never(people["leave_date"]), _or_never(people["death_date"]))
    here = (arrive <= when) & (gone > when) & (people["dob"].to_numpy().astype("datetime64[D]") <= when)
    return people[here].assign(age=_age(people["dob"], when)[here])


def _or_never(col: pd.Series) -> np.ndarray:
    v = col.to_numpy().astype("datetime64[D]")
    return np.where(np.isnat(v), np.datetime64("2100-01-01"), v)


def _fy(year: int) -> tuple[np.datetime64, np.datetime64, np.datetime64]:
    start = np.datetime64(f"{year - 1}-04-01")
    return start, start + np.timedelta64(365, "D"), np.datetime64(f"{year - 1}-09-30")


def emergency(lives: AdultLives) -> pd.DataFrame:
    adm = lives.admissions
    return adm[adm["admission_method"].str.startswith("2")]


def admissions_per_1000(lives: AdultLives, year: int) -> dict[str, float]:
    """Emergency admissions per 1,000 residents by age band (and 65+, 18+) in financial ``year``."""
    start, end, mid = _fy(year)
    pop = residents(lives.people, mid)
    adm = emergency(lives)
    adm = adm[(adm["admission_date"] >= start) & (adm["admission_date"] < end)]
    age = _age(lives.people.set_index("person_id")["dob"].reindex(adm["person_id"]),
               start) + 0.5  # age at mid-year, roughly
    out = {}
    for name, lo, hi in (*AGE_BANDS, ("65+", 65, 200), ("18+", 18, 200)):
        n = ((pop["age"] >= lo) & (pop["age"] < hi)).sum()
        out[name] = float(((age >= lo) & (age < hi)).sum() / max(n, 1) * 1000)
    return out


def care_home_rates(lives: AdultLives, year: int) -> dict[str, float]:
    """ASCOF 2C/2B analogues (council-funded permanent entries per 100,000 65+ / 18-64) and the
    self-funded share of all permanent entrants aged 65+."""
    start, end, mid = _fy(year)
    pop = residents(lives.people, mid)
    e = lives.care_home_entries
    e = e[e["permanent"] & (e["entry_date"] >= start) & (e["entry_date"] < end)]
    age = _age(lives.people.set_index("person_id")["dob"].reindex(e["person_id"]), mid)
    council = (e["funding"] == "council").to_numpy()
    old, working = age >= 65, (age >= 18) & (age < 65)
    return {
        "2C_per_100k": float((council & old).sum() / max((pop["age"] >= 65).sum(), 1) * 1e5),
        "2B_per_100k": float((council & working).sum() / max(((pop["age"] >= 18) & (pop["age"] < 65)).sum(), 1) * 1e5),
        "self_funded_share_65": float((~council & old).sum() / max(old.sum(), 1)),
        "entries_65": float(old.sum()),
    }


def long_term_support_65(lives: AdultLives, year: int) -> float:
    """Share of residents 65+ (mid-year) with council long-term support at some time in the year."""
    start, end, mid = _fy(year)
    pop = residents(lives.people, mid)
    ev = lives.asc_events
    lts = ev[(ev["event_type"] == "Service") & ev["service_type"].str.startswith("Long Term")
             & (ev["client_type"] == "Service user")]
    stop = _or_never(lts["end"])
    active = lts[(lts["start"].to_numpy() < end) & (stop >= start)]["person_id"].unique()
    old = pop[pop["age"] >= 65]
    return float(old["person_id"].isin(active).mean())


def ld_register_prevalence(lives: AdultLives, when: np.datetime64) -> float:
    """Share of residents (all ages) with an LD code on their GP record by ``when``."""
    pop = residents(lives.people, when)
    ld = lives.gp_events.loc[(lives.gp_events["concept"] == "ld") & (lives.gp_events["date"] <= when), "person_id"]
    return float(pop["person_id"].isin(ld).mean())


def deaths_vs_life_table(lives: AdultLives, years: range) -> pd.DataFrame:
    """Observed deaths and those the ONS qx expects, by 10-year age band from 45, over ``years``."""
    rows = []
    p = lives.people
    for year in years:
        start, end, mid = _fy(year)
        pop = residents(p, start)
        dd = pop["death_date"].to_numpy().astype("datetime64[D]")
        died = ~np.isnat(dd) & (dd < end)
        rows.append(pd.DataFrame({"age": pop["age"].to_numpy(), "male": (pop["sex"] == "M").to_numpy(),
                                  "died": died}))
    r = pd.concat(rows, ignore_index=True)
    r["expected"] = qx(r["age"].to_numpy(), r["male"].to_numpy())
    r["band"] = pd.cut(r["age"], [45, 55, 65, 75, 85, 95, 130], right=False)
    return r.groupby("band", observed=True)[["died", "expected"]].sum()


def concentration(lives: AdultLives, risk: pd.DataFrame, year: int) -> dict[str, float]:
    """Share of a year's emergency admissions (adults) held by the top 0.5%/1%/5% of adults ranked by
    their TRUE expected admissions that year, and by their realised count."""
    start, end, _ = _fy(year)
    r = risk[risk["year"] == year]
    adm = emergency(lives)
    adm = adm[(adm["admission_date"] >= start) & (adm["admission_date"] < end)]
    count = adm["person_id"].value_counts().reindex(r["person_id"]).fillna(0).to_numpy()
    total = count.sum()
    out = {"persons_with_admission_pct": float((count > 0).mean() * 100)}
    for q in (0.005, 0.01, 0.05):
        k = max(int(round(len(r) * q)), 1)
        top = np.argsort(-r["expected"].to_numpy(), kind="stable")[:k]
        out[f"top{q * 100:g}pct_by_risk"] = float(count[top].sum() / total)
        out[f"top{q * 100:g}pct_realised"] = float(np.sort(count)[::-1][:k].sum() / total)
    out["top0.5pct_lift"] = out["top0.5pct_by_risk"] / 0.005
    return out


def regression_to_mean(lives: AdultLives, year: int) -> dict[str, float]:
    """Roland 2005: people 65+ with >=2 emergency admissions in ``year``: their share of all admissions of
    people 65+ that year and the next."""
    adm = emergency(lives)
    dob = lives.people.set_index("person_id")["dob"]
    out = {}
    s0, e0, mid = _fy(year)
    this = adm[(adm["admission_date"] >= s0) & (adm["admission_date"] < e0)]
    old = this[_age(dob.reindex(this["person_id"]), mid) >= 65]
    counts = old["person_id"].value_counts()
    high = counts.index[counts >= 2]
    out["index_year_share"] = float(counts[high].sum() / counts.sum())
    s1, e1, mid1 = _fy(year + 1)
    nxt = adm[(adm["admission_date"] >= s1) & (adm["admission_date"] < e1)]
    nxt = nxt[_age(dob.reindex(nxt["person_id"]), mid1) >= 65]
    out["next_year_share"] = float(nxt["person_id"].isin(high).sum() / len(nxt))
    out["high_users_pct_of_65"] = float(len(high) / max((residents(lives.people, mid)["age"] >= 65).sum(), 1) * 100)
    return out


def summary(lives: AdultLives, risk: pd.DataFrame, years: range) -> dict[str, float]:
    """The issue's base rates, each the mean over ``years`` (financial years ending 31 March)."""

    def mean(values: list[dict[str, float]], key: str) -> float:
        return float(np.mean([v[key] for v in values]))

    adm = [admissions_per_1000(lives, y) for y in years]
    ch = [care_home_rates(lives, y) for y in years]
    conc = [concentration(lives, risk, y) for y in years]
    rtm = [regression_to_mean(lives, y) for y in years if y + 1 <= max(years)]
    deaths = deaths_vs_life_table(lives, years)
    out = {f"emergency_per_1000_{band}": mean(adm, band) for band in adm[0]}
    out |= {key: mean(ch, key) for key in ("2C_per_100k", "2B_per_100k", "self_funded_share_65")}
    out["lts_65_during_year"] = float(np.mean([long_term_support_65(lives, y) for y in years]))
    out["ld_register_prevalence"] = ld_register_prevalence(lives, np.datetime64(f"{max(years)}-03-31"))
    out |= {f"deaths_over_expected_{b.left}-{b.right - 1}": float(r["died"] / r["expected"])
            for b, r in deaths.iterrows()}
    out |= {key: mean(conc, key) for key in conc[0]}
    out |= {f"roland_{key}": mean(rtm, key) for key in rtm[0]} if rtm else {}
    return out
