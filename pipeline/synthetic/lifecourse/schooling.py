"""One school year: who is on roll at the spring census, free school meals, absence, suspensions and
exclusions, and (at the Year 9 census) the true probability of being NEET by 18.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.synth_params import RiskDecay
from pipeline.synthetic.lifecourse.calendar import census_day, years_between
from pipeline.synthetic.lifecourse.cohort import Children, History, YearCohort
from pipeline.synthetic.lifecourse.risk import sigmoid


def simulate_school_year(
    rng: np.random.Generator, cohort: YearCohort, children: Children, history: History,
    decay: RiskDecay | None = None,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The school year whose spring census falls in the cohort's financial year.

    Free-school-meal spells start and end with household poverty (for every child, on roll or
    not); ``history.fsm_since`` carries them from year to year.

    Returns:
        (pupil-years: person_id, census_year, census_date, nc_age, absence_rate, unauth_share,
        suspensions, perm_excluded, fsm, fsm_since, fsm_ended_since, ehcp, sen_support, in_care;
        NEET truth: person_id, index_date, p_true, p_state, outcome), each None when empty.
    """
    year, ys, idx, pov, any_adv = cohort.year, cohort.start, cohort.idx, cohort.poverty, cohort.any_adversity
    dob, engagement, ehcp, sen_support = children.dob, children.engagement, children.ehcp, children.sen_support
    fsm_since = history.fsm_since
    cday = census_day(year)
    acad_age = np.floor(years_between(np.full(idx.size, np.datetime64(f"{year - 1}-08-31")), dob[idx]))
    on_roll = (acad_age >= 4) & (acad_age <= 15) & (children.arrive[idx] <= cday) & (children.leave[idx] > cday)
    fsm_now = pov > children.fsm_cut
    newly = fsm_now & np.isnat(fsm_since[idx])
    fsm_since[idx[newly]] = ys + rng.integers(0, 200, int(newly.sum())).astype("timedelta64[D]")
    ended = ~fsm_now & ~np.isnat(fsm_since[idx])
    fsm_ended_since = fsm_since[idx].copy()
    fsm_since[idx[ended]] = np.datetime64("NaT", "D")
    s_i = np.flatnonzero(on_roll)
    if not s_i.size:
        return None, None
    eng = engagement[idx[s_i]]
    ab = sigmoid(
        -3.3
        + 0.3 * pov[s_i]
        + 0.85 * eng
        + 0.5 * ehcp[idx[s_i]]
        + 0.3 * children.health[idx[s_i]]
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
    pupil_years = pd.DataFrame(
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
            "in_care": history.in_care_until[idx[s_i]] > cday,
        }
    )
    # NEET-by-18 is decided by the state at the Year 9 spring census (academic age 13)
    y9 = s_i[acad_age[s_i] == 13]
    if not y9.size:
        return pupil_years, None
    lp = (
        -3.25
        + 0.75 * engagement[idx[y9]]
        + 0.3 * pov[y9]
        + 0.3 * (ehcp | sen_support)[idx[y9]]
        + 0.4 * history.prev_care[idx[y9]]
        + 0.3 * history.adversity[idx[y9]]
    )
    if decay is not None and decay.from_year is not None and year >= decay.from_year:
        lp = decayed_risk(lp, decay.strength)
    p = sigmoid(lp)
    # every term is of the child's state (the help's unrecorded confounder does not enter), so p_state = p_true
    neet = pd.DataFrame({"person_id": idx[y9], "index_date": cday, "p_true": p, "p_state": p,
                         "outcome": rng.random(y9.size) < p})
    return pupil_years, neet


def decayed_risk(lp: np.ndarray, strength: float) -> np.ndarray:
    """A planted fault (``synth.risk_decay``): log-odds that depend on each child's circumstances only ``strength``
    times as much, shifted so that the mean probability is unchanged (found by bisection on the shift)."""
    target = sigmoid(lp).mean()
    shrunk = strength * lp + (1 - strength) * lp.mean()
    low, high = -10.0, 10.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if sigmoid(shrunk + mid).mean() < target else (low, mid)
    return shrunk + (low + high) / 2
