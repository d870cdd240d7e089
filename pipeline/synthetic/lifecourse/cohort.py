"""Who is simulated: each child's fixed traits, what the years carry forward, and one year's cohort.

``Children`` holds what never changes for a child (arrays indexed by person_id); ``History`` holds
what one year leaves for the next (open plans, care, free school meals); ``YearCohort`` is the
children living in the county and under 18 during one financial year, with that year's adversity
and need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.lifecourse.calendar import year_start, years_between
from pipeline.synthetic.lifecourse.risk import CARE_ENTRY_GROUP_EFFECT, referral_bias

NEVER = np.datetime64("1900-01-01")


@dataclass
class Children:
    """Fixed per-child arrays (index = person_id), read from the children and their households."""

    hid: np.ndarray  # household_id
    dob: np.ndarray  # datetime64[D]
    arrive: np.ndarray  # datetime64[D]: arrival in the county (or birth)
    leave: np.ndarray  # datetime64[D]: departure from the county
    sex: np.ndarray
    health: np.ndarray  # latent health need
    effect: np.ndarray  # the child's own latent effect
    ehcp: np.ndarray  # bool: the top 5% of latent SEN
    sen_support: np.ndarray  # bool: the next 14%
    engagement: np.ndarray  # latent school disengagement (drives attendance, KS2, NEET)
    bias: np.ndarray  # referral-rate multiplier (measurement bias)
    care_group: np.ndarray  # care-entry log-odds offset by ethnicity group
    fsm_cut: float  # household poverty above which a child is eligible for free school meals


def describe_children(rng: np.random.Generator, cfg: SynthParams, hh: pd.DataFrame, kids: pd.DataFrame) -> Children:
    """Each child's fixed traits; draws the latent engagement (one normal per child).

    Args:
        hh: household_id-indexed rows with poverty, shared_vulnerability, imd_decile.
        kids: household_id, dob, arrive_date, leave_date, sex, ethnicity_group, sen_latent,
            health_latent, child_effect.
    """
    n = len(kids)
    hid = kids["household_id"].to_numpy()
    group = kids["ethnicity_group"].to_numpy()
    imd = hh["imd_decile"].to_numpy()[hid]
    sen = kids["sen_latent"].to_numpy()
    effect = kids["child_effect"].to_numpy()
    shared = hh["shared_vulnerability"].to_numpy()[hid]
    ehcp = sen > np.quantile(sen, 1 - 0.05)
    sen_support = (sen > np.quantile(sen, 1 - 0.05 - 0.14)) & ~ehcp
    engagement = 0.7 * effect + 0.3 * sen + 0.25 * hh["poverty"].to_numpy()[hid] + 0.2 * shared + rng.normal(0, 0.5, n)
    return Children(
        hid=hid,
        dob=kids["dob"].to_numpy().astype("datetime64[D]"),
        arrive=kids["arrive_date"].to_numpy().astype("datetime64[D]"),
        leave=kids["leave_date"].to_numpy().astype("datetime64[D]"),
        sex=kids["sex"].to_numpy(),
        health=kids["health_latent"].to_numpy(),
        effect=effect,
        ehcp=ehcp,
        sen_support=sen_support,
        engagement=engagement,
        bias=referral_bias(cfg, group, imd),
        care_group=pd.Series(group).map(CARE_ENTRY_GROUP_EFFECT).fillna(0.0).to_numpy(),
        fsm_cut=np.quantile(hh["poverty"].to_numpy()[hid], 0.78),
    )


@dataclass
class History:
    """What each child carries from one year to the next (arrays indexed by person_id)."""

    in_care_until: np.ndarray
    cp_until: np.ndarray  # end of the latest child protection plan
    cin_until: np.ndarray  # end of the latest child-in-need episode
    last_referral: np.ndarray
    prev_care: np.ndarray  # bool: ever looked after
    fsm_since: np.ndarray  # start of the current free-school-meals spell (NaT: none)
    adversity: np.ndarray  # bool: ever lived with active parental adversity
    referrals_so_far: int = 0  # the next referral_id

    @classmethod
    def empty(cls, n: int) -> History:
        return cls(
            in_care_until=np.full(n, NEVER),
            cp_until=np.full(n, NEVER),
            cin_until=np.full(n, NEVER),
            last_referral=np.full(n, NEVER),
            prev_care=np.zeros(n, dtype=bool),
            fsm_since=np.full(n, np.datetime64("NaT", "D"), dtype="datetime64[D]"),
            adversity=np.zeros(n, dtype=bool),
        )


@dataclass
class YearCohort:
    """The children simulated in one financial year; arrays are aligned to ``idx``."""

    year: int
    start: np.datetime64  # 1 April
    end: np.datetime64  # start + 365 days
    idx: np.ndarray  # person_id of each child in the county and under 18 during the year
    age: np.ndarray  # age in years on 1 April
    adversity: dict[str, np.ndarray]  # dv, mh, sub: the household's adversity is active this year
    any_adversity: np.ndarray
    poverty: np.ndarray  # the household's poverty this year
    need_static: np.ndarray  # need without this year's noise (sets the care-entry hazard)
    need: np.ndarray  # need_static plus this year's noise (drives referrals, early help, hospital)


def adversity_active(hh: pd.DataFrame, hid: np.ndarray, year: int) -> dict[str, np.ndarray]:
    """Per household in ``hid``, whether domestic violence, mental ill-health, substance misuse is active."""
    return {
        name: ((hh[f"{name}_start"].to_numpy()[hid] <= year) & (year < hh[f"{name}_end"].to_numpy()[hid]))
        for name in ("dv", "mh", "sub")
    }


def year_cohort(
    rng: np.random.Generator, year: int, children: Children, hh: pd.DataFrame, household_poverty: np.ndarray
) -> YearCohort:
    """The children in the county and under 18 during ``year``, with their need; draws need noise."""
    dob, arrive, leave = children.dob, children.arrive, children.leave
    n = len(dob)
    ys = year_start(year)
    ye = ys + np.timedelta64(365, "D")
    age = years_between(np.full(n, ys), dob)
    idx = np.flatnonzero((arrive < ye) & (leave > ys) & (dob < ye) & (age < 18))
    h = children.hid[idx]
    act = adversity_active(hh, h, year)
    pov = household_poverty[h]
    need_static = (
        0.4 * pov
        + 1.0 * act["dv"]
        + 0.8 * act["mh"]
        + 1.1 * act["sub"]
        + 0.3 * children.sen_support[idx]
        + 0.4 * children.ehcp[idx]
        + 0.15 * children.health[idx]
        + 0.7 * children.effect[idx]
    )
    need = need_static + rng.normal(0, 0.35, idx.size)
    return YearCohort(
        year=year,
        start=ys,
        end=ye,
        idx=idx,
        age=age[idx],
        adversity=act,
        any_adversity=act["dv"] | act["mh"] | act["sub"],
        poverty=pov,
        need_static=need_static,
        need=need,
    )
