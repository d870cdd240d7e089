"""Year-by-year life courses: the true events of every child, before any source records them.

The county is simulated one financial year (1 April – 31 March) at a time, vectorised over children.
Latent causes (household poverty; parental domestic violence, mental ill-health and substance misuse;
child SEN and health) drive referrals, assessments, child protection, care, early help, school
attendance and exclusions, hospital use and NEET status. The true probability of each modelled
outcome is kept for evaluation (the oracle); nothing here is visible to features except through the
records that exports.py writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams

DAY = np.timedelta64(1, "D")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def year_start(year: int) -> np.datetime64:
    """First day of the financial year ending 31 March ``year``."""
    return np.datetime64(f"{year - 1}-04-01")


def years_between(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return (later - earlier) / np.timedelta64(36525, "D") * 100


@dataclass
class LifeCourse:
    """All true events, one frame per kind (dates are datetime64[D])."""

    referrals: pd.DataFrame  # person_id, referral_id, referral_date, closure_date, nfa, assessed, ...
    cp_plans: pd.DataFrame  # person_id, referral_id, cpp_start, cpp_end, category
    care: pd.DataFrame  # person_id, period_id, start, end, legal_status, end_reason
    early_help: pd.DataFrame  # person_id, start, end, source, closure
    school_years: pd.DataFrame  # person_id, census_year, absence_rate, unauth_share, suspensions, ...
    ae: pd.DataFrame  # person_id, date, diagnosis
    apc: pd.DataFrame  # person_id, admission_date, discharge_date, method, diagnoses
    moves: pd.DataFrame  # household_id, move_date, lsoa_code
    care_entry_truth: pd.DataFrame  # person_id, index_date, p_true, outcome
    neet_truth: pd.DataFrame  # person_id, index_date, p_true, outcome (NEET at 16-17)
    engagement: np.ndarray  # per child: latent school disengagement (drives attendance, KS2, NEET)


def _adversity_active(hh: pd.DataFrame, hid: np.ndarray, year: int) -> dict[str, np.ndarray]:
    return {
        name: ((hh[f"{name}_start"].to_numpy()[hid] <= year) & (year < hh[f"{name}_end"].to_numpy()[hid]))
        for name in ("dv", "mh", "sub")
    }


def _random_dates(rng: np.random.Generator, start: np.datetime64, n: int, days: int = 365) -> np.ndarray:
    return start + rng.integers(0, days, n).astype("timedelta64[D]")


def simulate_moves(rng: np.random.Generator, cfg: SynthParams, hh: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    """House moves within the county, to a neighbourhood of similar deprivation.

    Returns:
        household_id, move_date, lsoa_code — one row per move (the first address is in ``hh``).
    """
    rows = []
    present = {int(d): g["lsoa_code"].to_numpy() for d, g in lsoas.groupby("imd_decile")}
    # a small county may lack a decile: movers then go to the nearest decile it has
    by_decile = {d: present[min(present, key=lambda p, d=d: (abs(p - d), p))] for d in range(1, 11)}
    for year in range(2001, 2027):
        movers = np.flatnonzero(rng.random(len(hh)) < cfg.move_within_rate)
        if movers.size == 0:
            continue
        dec = hh["imd_decile"].to_numpy()[movers] + rng.integers(-1, 2, movers.size)
        dec = dec.clip(1, 10)
        new = np.empty(movers.size, dtype=object)
        for d in np.unique(dec):
            sel = dec == d
            new[sel] = rng.choice(by_decile[int(d)], int(sel.sum()))
        rows.append(
            pd.DataFrame(
                {
                    "household_id": hh["household_id"].to_numpy()[movers],
                    "move_date": _random_dates(rng, year_start(year), movers.size),
                    "lsoa_code": new.astype(str),
                }
            )
        )
    return pd.concat(rows, ignore_index=True).sort_values(["household_id", "move_date"], ignore_index=True)


def census_day(year: int) -> np.datetime64:
    """Spring school census day: the third Thursday of January."""
    jan1 = np.datetime64(f"{year}-01-01")
    weekday = (jan1.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday -> 0
    first_thu = jan1 + np.timedelta64(int((7 - weekday) % 7), "D")
    return first_thu + np.timedelta64(14, "D")


def _referral_bias(cfg: SynthParams, group: np.ndarray, imd: np.ndarray) -> np.ndarray:
    bias = cfg.measurement_bias
    mult = pd.Series(group).map(bias.referral_rate_by_ethnicity).fillna(1.0).to_numpy()
    return mult * np.where(imd <= 2, bias.referral_rate_most_deprived, 1.0)


def _age_term(age: np.ndarray, table: list[tuple[float, float]]) -> np.ndarray:
    """Piecewise-constant effect of age: ``table`` is [(upper_age_exclusive, effect), ...]."""
    out = np.zeros_like(age)
    lower = -np.inf
    for upper, effect in table:
        out = np.where((age >= lower) & (age < upper), effect, out)
        lower = upper
    return out


AGE_CARE = [(1, 1.5), (5, 0.0), (10, -0.4), (14, 0.15), (17, 0.7), (18, -0.6)]
AGE_REFERRAL = [(1, 0.35), (5, 0.1), (13, 0.0), (17, 0.25), (18, 0.0)]
# informal kinship care keeps some children out of the care system (DfE: Asian under-, Mixed over-represented)
CARE_ENTRY_GROUP_EFFECT = {"Asian": -0.95, "Mixed": 0.25}
AGE_AE = [(1, 0.5), (5, 0.3), (12, -0.2), (18, 0.3)]


def simulate_lifecourse(rng: np.random.Generator, cfg: SynthParams, hh: pd.DataFrame, kids: pd.DataFrame) -> LifeCourse:
    """Simulate every child's events from birth (or arrival) to the reference date.

    Args:
        hh: households (see population.build_households).
        kids: children (see population.build_children).
    """
    n = len(kids)
    hid = kids["household_id"].to_numpy()
    dob = kids["dob"].to_numpy().astype("datetime64[D]")
    arrive = kids["arrive_date"].to_numpy().astype("datetime64[D]")
    leave = kids["leave_date"].to_numpy().astype("datetime64[D]")
    sex = kids["sex"].to_numpy()
    group = kids["ethnicity_group"].to_numpy()
    imd = hh["imd_decile"].to_numpy()[hid]
    sen = kids["sen_latent"].to_numpy()
    health = kids["health_latent"].to_numpy()
    effect = kids["child_effect"].to_numpy()
    shared = hh["shared_vulnerability"].to_numpy()[hid]
    ehcp = sen > np.quantile(sen, 1 - 0.05)
    sen_support = (sen > np.quantile(sen, 1 - 0.05 - 0.14)) & ~ehcp
    engagement = 0.7 * effect + 0.3 * sen + 0.25 * hh["poverty"].to_numpy()[hid] + 0.2 * shared + rng.normal(0, 0.5, n)
    bias = _referral_bias(cfg, group, imd)
    care_group = pd.Series(group).map(CARE_ENTRY_GROUP_EFFECT).fillna(0.0).to_numpy()
    pov_h = hh["poverty"].to_numpy().copy()
    fsm_cut = np.quantile(hh["poverty"].to_numpy()[hid], 0.78)

    never = np.datetime64("1900-01-01")
    in_care_until = np.full(n, never)
    cp_until = np.full(n, never)
    cin_until = np.full(n, never)
    last_referral = np.full(n, never)
    prev_care = np.zeros(n, dtype=bool)
    fsm_since = np.full(n, np.datetime64("NaT", "D"), dtype="datetime64[D]")
    adversity_history = np.zeros(n, dtype=bool)

    out: dict[str, list[pd.DataFrame]] = {
        k: [] for k in ("referrals", "cp", "care", "eh", "school", "ae", "apc", "care_truth", "neet")
    }
    ref_counter = 0
    last_year = cfg.reference_date.year if cfg.reference_date.month > 3 else cfg.reference_date.year
    for year in range(2001, last_year + 1):
        ys = year_start(year)
        ye = ys + np.timedelta64(365, "D")
        pov_h = 0.85 * pov_h + 0.15 * hh["poverty"].to_numpy() + rng.normal(0, 0.25, len(pov_h))
        age = years_between(np.full(n, ys), dob)
        idx = np.flatnonzero((arrive < ye) & (leave > ys) & (dob < ye) & (age < 18))
        a = age[idx]
        h = hid[idx]
        act = _adversity_active(hh, h, year)
        any_adv = act["dv"] | act["mh"] | act["sub"]
        adversity_history[idx] |= any_adv
        pov = pov_h[h]
        need_static = (
            0.4 * pov
            + 1.0 * act["dv"]
            + 0.8 * act["mh"]
            + 1.1 * act["sub"]
            + 0.3 * sen_support[idx]
            + 0.4 * ehcp[idx]
            + 0.15 * health[idx]
            + 0.7 * effect[idx]
        )
        need = need_static + rng.normal(0, 0.35, idx.size)

        # --- entry to care: hazard set by the state on 31 March of the previous year (the index date)
        known_at_index = (a >= 0) & (arrive[idx] <= ys - DAY)
        eligible = in_care_until[idx] <= ys
        cp_open = cp_until[idx] > ys
        cin_open = cin_until[idx] > ys
        recent = last_referral[idx] > ys - np.timedelta64(365, "D")
        lp = (
            -6.92
            + 2.2 * cp_open
            + 1.4 * cin_open
            + 1.3 * prev_care[idx]
            + 0.7 * recent
            + 0.75 * need_static
            + _age_term(a, AGE_CARE)
            + care_group[idx]
        )
        p_entry = np.where(eligible, sigmoid(lp), 0.0)
        enters = rng.random(idx.size) < p_entry
        entry_date = np.maximum(_random_dates(rng, ys, idx.size), dob[idx] + rng.integers(0, 20, idx.size))
        enters &= (entry_date < leave[idx]) & (entry_date < ye) & (entry_date < dob[idx] + np.timedelta64(6570, "D"))
        sel = known_at_index & (a < 18)
        out["care_truth"].append(
            pd.DataFrame(
                {"person_id": idx[sel], "index_date": ys - DAY, "p_true": p_entry[sel], "outcome": enters[sel]}
            )
        )

        # --- referrals and what follows (CIN episodes, assessments, section 47, CP plans)
        lam = np.exp(-3.5 + 0.85 * need + _age_term(a, AGE_REFERRAL)) * bias[idx]
        count = np.minimum(rng.poisson(lam), 3)
        count = np.where(enters & (count == 0), 1, count)
        r_child = np.repeat(np.arange(idx.size), count)
        k = r_child.size
        if k:
            r_pid = idx[r_child]
            r_date = _random_dates(rng, ys, k)
            first_of_child = np.r_[True, r_child[1:] != r_child[:-1]]
            forced = enters[r_child] & first_of_child
            # the referral that leads to an entry falls inside the outcome year, never before the index
            # date: the true probability (the oracle) is set at the index date and cannot know of it
            before_entry = entry_date[r_child] - rng.integers(5, 90, k).astype("timedelta64[D]")
            r_date = np.where(forced, np.maximum(before_entry, ys), r_date)
            r_date = np.maximum(r_date, dob[r_pid])
            r_need = need[r_child]
            nfa = (rng.random(k) < 0.32 * (1 - sigmoid(r_need - 1.5))) & ~forced
            ass_start = r_date + rng.integers(0, 10, k).astype("timedelta64[D]")
            ass_auth = ass_start + rng.integers(15, 45, k).astype("timedelta64[D]")
            s47 = ~nfa & (rng.random(k) < sigmoid(-2.0 + 0.8 * r_need + 1.5 * forced))
            cp = s47 & (rng.random(k) < 0.45)
            cp_start = r_date + rng.integers(15, 45, k).astype("timedelta64[D]")
            cp_len = np.exp(rng.normal(np.log(250), 0.6, k)).astype(int).astype("timedelta64[D]")
            cp_end = cp_start + cp_len
            services = ~nfa & (rng.random(k) < 0.55 + 0.3 * s47)
            closure = np.where(
                nfa,
                r_date + rng.integers(0, 7, k).astype("timedelta64[D]"),
                np.where(
                    services,
                    r_date + np.exp(rng.normal(np.log(270), 0.6, k)).astype(int).astype("timedelta64[D]"),
                    ass_auth,
                ),
            )
            closure = np.where(
                cp, np.maximum(closure, cp_end + rng.integers(0, 90, k).astype("timedelta64[D]")), closure
            )
            ids = np.arange(ref_counter, ref_counter + k)
            ref_counter += k
            adv = {name: v[r_child] for name, v in act.items()}
            out["referrals"].append(
                pd.DataFrame(
                    {
                        "person_id": r_pid,
                        "referral_id": ids,
                        "referral_date": r_date,
                        "closure_date": closure,
                        "nfa": nfa,
                        "assessment_start": ass_start,
                        "assessment_auth": ass_auth,
                        "s47": s47,
                        "dv": adv["dv"],
                        "mh": adv["mh"],
                        "sub": adv["sub"],
                        "need": r_need,
                        "age": a[r_child],
                        "poverty": pov[r_child],
                    }
                )
            )
            if cp.any():
                out["cp"].append(
                    pd.DataFrame(
                        {
                            "person_id": r_pid[cp],
                            "referral_id": ids[cp],
                            "cpp_start": cp_start[cp],
                            "cpp_end": cp_end[cp],
                        }
                    )
                )
            np.maximum.at(cin_until, r_pid, closure)
            np.maximum.at(last_referral, r_pid, r_date)
            if cp.any():
                np.maximum.at(cp_until, r_pid[cp], cp_end[cp])

        # --- periods of care
        e_idx = idx[enters]
        if e_idx.size:
            start = entry_date[enters]
            years_in = np.exp(rng.normal(np.log(1.7), 1.1, e_idx.size))
            end = start + (years_in * 365.25).astype(int).astype("timedelta64[D]")
            eighteen = dob[e_idx] + np.timedelta64(6574, "D")
            end = np.minimum(end, eighteen)
            out["care"].append(
                pd.DataFrame({"person_id": e_idx, "start": start, "end": end, "aged_out": end == eighteen})
            )
            in_care_until[e_idx] = end
            prev_care[e_idx] = True
            np.maximum.at(cin_until, e_idx, end)

        # --- early help
        eh = rng.random(idx.size) < sigmoid(-4.4 + 0.8 * need) * np.sqrt(bias[idx])
        if eh.any():
            s = np.maximum(_random_dates(rng, ys, int(eh.sum())), dob[idx[eh]])
            out["eh"].append(
                pd.DataFrame(
                    {
                        "person_id": idx[eh],
                        "start": s,
                        "end": s + rng.integers(60, 330, int(eh.sum())).astype("timedelta64[D]"),
                        "need": need[eh],
                    }
                )
            )

        # --- school year whose spring census falls in this financial year
        cday = census_day(year)
        acad_age = np.floor(years_between(np.full(idx.size, np.datetime64(f"{year - 1}-08-31")), dob[idx]))
        on_roll = (acad_age >= 4) & (acad_age <= 15) & (arrive[idx] <= cday) & (leave[idx] > cday)
        fsm_now = pov > fsm_cut
        newly = fsm_now & np.isnat(fsm_since[idx])
        fsm_since[idx[newly]] = ys + rng.integers(0, 200, int(newly.sum())).astype("timedelta64[D]")
        ended = ~fsm_now & ~np.isnat(fsm_since[idx])
        fsm_ended_since = fsm_since[idx].copy()
        fsm_since[idx[ended]] = np.datetime64("NaT", "D")
        s_i = np.flatnonzero(on_roll)
        if s_i.size:
            eng = engagement[idx[s_i]]
            ab = sigmoid(
                -3.3
                + 0.3 * pov[s_i]
                + 0.85 * eng
                + 0.5 * ehcp[idx[s_i]]
                + 0.3 * health[idx[s_i]]
                + 0.4 * any_adv[s_i]
                + rng.normal(0, 0.3, s_i.size)
            )
            susp_rate = (
                np.exp(-3.3 + 1.1 * eng + 0.45 * pov[s_i] + 0.4 * sen_support[idx[s_i]] + 0.4 * any_adv[s_i])
                * (acad_age[s_i] >= 7)
                * (0.5 + 0.1 * acad_age[s_i])
            )
            perm = rng.random(s_i.size) < sigmoid(-7.5 + 1.1 * eng + 0.5 * pov[s_i] + 0.6 * sen_support[idx[s_i]]) * (
                acad_age[s_i] >= 9
            )
            out["school"].append(
                pd.DataFrame(
                    {
                        "person_id": idx[s_i],
                        "census_year": year,
                        "census_date": cday,
                        "nc_age": acad_age[s_i],
                        "absence_rate": ab,
                        "unauth_share": sigmoid(-1.2 + 0.7 * eng + 0.4 * pov[s_i]),
                        "suspensions": np.minimum(rng.poisson(susp_rate), 8),
                        "perm_excluded": perm,
                        "fsm": fsm_now[s_i],
                        "fsm_since": fsm_since[idx[s_i]],
                        "fsm_ended_since": np.where(ended[s_i], fsm_ended_since[s_i], np.datetime64("NaT", "D")),
                        "ehcp": ehcp[idx[s_i]] & (acad_age[s_i] >= 5),
                        "sen_support": sen_support[idx[s_i]] & (acad_age[s_i] >= 5),
                        "in_care": in_care_until[idx[s_i]] > cday,
                    }
                )
            )
            # NEET-by-18 is decided by the state at the Year 9 spring census (academic age 13)
            y9 = s_i[acad_age[s_i] == 13]
            if y9.size:
                lp = (
                    -3.25
                    + 0.75 * engagement[idx[y9]]
                    + 0.3 * pov[y9]
                    + 0.3 * (ehcp | sen_support)[idx[y9]]
                    + 0.4 * prev_care[idx[y9]]
                    + 0.3 * adversity_history[idx[y9]]
                )
                p = sigmoid(lp)
                out["neet"].append(
                    pd.DataFrame(
                        {"person_id": idx[y9], "index_date": cday, "p_true": p, "outcome": rng.random(y9.size) < p}
                    )
                )

        # --- hospital: A&E attendances and admissions
        ae_n = rng.poisson(0.27 * np.exp(0.25 * need + 0.35 * health[idx] + _age_term(a, AGE_AE)))
        apc_n = rng.poisson(0.045 * np.exp(0.35 * need + 0.6 * health[idx]))
        preg = (sex[idx] == "F") & (a >= 15) & (rng.random(idx.size) < 0.006 * np.exp(0.7 * need))
        for kind, counts in (("ae", ae_n), ("apc", apc_n + preg)):
            ci = np.repeat(np.arange(idx.size), counts)
            if ci.size == 0:
                continue
            d = np.maximum(_random_dates(rng, ys, ci.size), dob[idx[ci]])
            frame = pd.DataFrame(
                {
                    "person_id": idx[ci],
                    "date": d,
                    "age": a[ci],
                    "need": need[ci],
                    "dv": act["dv"][ci],
                    "sub": act["sub"][ci],
                    "mh": act["mh"][ci],
                }
            )
            if kind == "apc":
                first = np.r_[True, ci[1:] != ci[:-1]]
                frame["pregnancy"] = preg[ci] & first
            out[kind].append(frame)

    def cat(key: str) -> pd.DataFrame:
        return pd.concat(out[key], ignore_index=True) if out[key] else pd.DataFrame()

    return LifeCourse(
        referrals=cat("referrals"),
        cp_plans=cat("cp"),
        care=cat("care"),
        early_help=cat("eh"),
        school_years=cat("school"),
        ae=cat("ae"),
        apc=cat("apc"),
        moves=pd.DataFrame(),
        care_entry_truth=cat("care_truth"),
        neet_truth=cat("neet"),
        engagement=engagement,
    )
