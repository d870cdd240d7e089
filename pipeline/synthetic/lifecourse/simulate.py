"""The year loop: every child's events from birth (or arrival) to the reference date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.lifecourse.cohort import Children, History, YearCohort, describe_children, year_cohort
from pipeline.synthetic.lifecourse.hospital import simulate_hospital_use
from pipeline.synthetic.lifecourse.schooling import simulate_school_year
from pipeline.synthetic.lifecourse.social_care import (
    CareEntry,
    decide_care_entry,
    simulate_early_help,
    simulate_referrals,
    start_care_periods,
)


class YearHelp(Protocol):
    """What the year loop asks of the help the county gives (``pipeline.synthetic.help.county.HelpCounty``)."""

    care_shift: np.ndarray  # per child: added to the care-entry log-odds
    referral_factor: np.ndarray  # per child: multiplies the referral rate

    def before_referrals(self, cohort: YearCohort, history: History, entry: CareEntry) -> None: ...

    def keep_referral(self, person_id: np.ndarray, date: np.ndarray, forced: np.ndarray) -> np.ndarray: ...


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
    care_entry_truth: pd.DataFrame  # person_id, index_date, p_true, p_state, outcome
    neet_truth: pd.DataFrame  # person_id, index_date, p_true, p_state, outcome (NEET at 16-17)
    engagement: np.ndarray  # per child: latent school disengagement (drives attendance, KS2, NEET)
    help: YearHelp | None = None  # lists, offers and programmes (synth.help), None when off


def simulate_lifecourse(
    rng: np.random.Generator, cfg: SynthParams, hh: pd.DataFrame, kids: pd.DataFrame,
    start_help: Callable[[Children], YearHelp] | None = None,
) -> LifeCourse:
    """Simulate every child's events from birth (or arrival) to the reference date.

    Each financial year draws, in this order: household poverty, the cohort's need, entry to care,
    referrals, periods of care, early help, the school year, hospital use. The order is part of
    the output: the same seed gives the same county only if it never changes.

    Args:
        hh: households (see population.build_households).
        kids: children (see population.build_children).
        start_help: builds the help the county gives from the children (``synth.help``); it draws only from
            its own stream, so with none the county is as before.
    """
    children = describe_children(rng, cfg, hh, kids)
    helped = start_help(children) if start_help is not None else None
    pov_h = hh["poverty"].to_numpy().copy()
    history = History.empty(len(kids))

    out: dict[str, list[pd.DataFrame]] = {
        k: [] for k in ("referrals", "cp", "care", "eh", "school", "ae", "apc", "care_truth", "neet")
    }
    last_year = cfg.reference_date.year if cfg.reference_date.month > 3 else cfg.reference_date.year
    for year in range(2001, last_year + 1):
        pov_h = 0.85 * pov_h + 0.15 * hh["poverty"].to_numpy() + rng.normal(0, 0.25, len(pov_h))
        cohort = year_cohort(rng, year, children, hh, pov_h)
        history.adversity[cohort.idx] |= cohort.any_adversity
        if helped is None:
            entry = decide_care_entry(rng, cohort, children, history)
            referrals, cp_plans = simulate_referrals(rng, cohort, children, history, entry)
        else:
            entry = decide_care_entry(rng, cohort, children, history, helped.care_shift)
            helped.before_referrals(cohort, history, entry)
            referrals, cp_plans = simulate_referrals(
                rng, cohort, children, history, entry, helped.referral_factor, helped.keep_referral
            )
        care = start_care_periods(rng, cohort, children, history, entry)
        early_help = simulate_early_help(rng, cohort, children)
        school, neet = simulate_school_year(rng, cohort, children, history, cfg.risk_decay)
        hospital = simulate_hospital_use(rng, cohort, children)
        found = {"care_truth": entry.truth, "referrals": referrals, "cp": cp_plans, "care": care,
                 "eh": early_help, "school": school, "neet": neet, **hospital}
        for key, frame in found.items():
            if frame is not None:
                out[key].append(frame)

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
        engagement=children.engagement,
        help=helped,
    )
