"""The help the county gives, inside the year loop: list runs and offers, and what they prevent.

``HelpCounty`` holds help's own random stream and state. The year loop calls ``before_referrals`` after
entries to care are drawn (it runs that year's lists and takes prevented entries out) and passes
``keep_referral`` to ``simulate_referrals`` (it takes out referrals an accepted offer or an area programme
prevented). Every entry and referral the county draws is logged with what took it out, so the potential
outcomes with and without help are both known (``help.truth``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.core.synth_params import SynthParams
from pipeline.synthetic.help.areas import AreaPlan
from pipeline.synthetic.help.lists import RunRows, run_list
from pipeline.synthetic.help.wards import DAY_BITS, WardMap, day_keys, lsoa_ward_table
from pipeline.synthetic.lifecourse.calendar import years_between
from pipeline.synthetic.lifecourse.cohort import NEVER, Children, History, YearCohort
from pipeline.synthetic.lifecourse.social_care import CareEntry, care_entry_log_odds

YEAR = np.timedelta64(365, "D")
STREAM = 19  # help's random stream: np.random.default_rng([seed, STREAM])


def run_dates(reference: np.datetime64, years: int) -> np.ndarray:
    """Monthly run dates (the 5th) of the ``years`` years up to ``reference``."""
    month = reference.astype("datetime64[M]")
    last = month if month.astype("datetime64[D]") + np.timedelta64(4, "D") <= reference else month - 1
    months = np.arange(last - 12 * years + 1, last + 1)
    return months.astype("datetime64[D]") + np.timedelta64(4, "D")


class Windows:
    """Per child, the spells [start, end) in which an accepted offer prevents an event (a child's spells never
    overlap: a child offered is not listed or offered again for 12 months)."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._index: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, person_id: np.ndarray, start: np.ndarray, end: np.datetime64) -> None:
        """Spells from ``start`` (per child) to ``end`` (exclusive)."""
        if person_id.size:
            self._parts.append((person_id, start.astype("datetime64[D]"), np.full(person_id.size, end)))
            self._index = None

    def cover(self, person_id: np.ndarray, date: np.ndarray) -> np.ndarray:
        """Per event: its date falls in one of its child's spells."""
        if not self._parts:
            return np.zeros(person_id.size, dtype=bool)
        if self._index is None:
            pid, start, end = (np.concatenate(v) for v in zip(*self._parts, strict=True))
            keys = day_keys(pid, start)
            order = np.argsort(keys, kind="stable")
            self._index = keys[order], day_keys(pid, end)[order]
        starts, ends = self._index
        key = day_keys(person_id, date)
        pos = np.searchsorted(starts, key, side="right") - 1
        found = pos >= 0
        return found & (key < ends[np.maximum(pos, 0)]) & ((starts[np.maximum(pos, 0)] >> DAY_BITS) == person_id)


@dataclass
class HelpCounty:
    """Help's state across the year loop (per-child arrays indexed by person_id)."""

    cfg: SynthParams
    rng: np.random.Generator
    children: Children
    wards: WardMap
    lsoa_ward: pd.DataFrame
    areas: AreaPlan
    runs: np.ndarray  # run dates
    capacity: int
    u: np.ndarray  # the unobserved confounder
    score_error: np.ndarray  # the model's persistent error per child
    considered_until: np.ndarray  # listed or offered: not listed again before this date
    care_windows: Windows  # an accepted, protecting offer prevents care entry within these
    referral_windows: Windows  # ... and (non-forced) referral within these
    rows: list[tuple[int, np.datetime64, RunRows]] = field(default_factory=list)
    entries: list[pd.DataFrame] = field(default_factory=list)  # person_id, date, prevented
    referrals: list[pd.DataFrame] = field(default_factory=list)  # person_id, date, forced, ward, by_offer, by_area
    break_summary: dict = field(default_factory=dict)  # the planted recording break, once planted

    @classmethod
    def start(cls, cfg: SynthParams, lsoa_codes: np.ndarray, hh: pd.DataFrame, moves: pd.DataFrame | None,
              children: Children) -> HelpCounty:
        """Group the LSOAs into wards, draw each child's confounder and model error and plan the areas (help's
        own stream only)."""
        rng = np.random.default_rng([cfg.seed, STREAM])
        n = children.dob.size
        table = lsoa_ward_table(lsoa_codes, cfg.help.wards)
        wards = WardMap.build(table, hh, moves)
        u = rng.standard_normal(n)
        error = rng.standard_normal(n)
        areas = AreaPlan.draw(rng, cfg.help, wards.codes)
        return cls(
            cfg=cfg, rng=rng, children=children, wards=wards, lsoa_ward=table, areas=areas,
            runs=run_dates(np.datetime64(cfg.reference_date), cfg.help.years),
            capacity=max(1, int(round(cfg.help.capacity_per_1000 * cfg.children / 1000))),
            u=u, score_error=error, considered_until=np.full(n, NEVER), care_windows=Windows(),
            referral_windows=Windows(),
        )

    @property
    def care_shift(self) -> np.ndarray:
        """Added to each child's care-entry log-odds (mean-neutral on the odds scale for small risks)."""
        c = self.cfg.help.confounder_strength
        return c * self.u - c * c / 2

    @property
    def referral_factor(self) -> np.ndarray:
        """Multiplies each child's referral rate (mean 1)."""
        c = self.cfg.help.confounder_strength
        return np.exp(c * self.u - c * c / 2)

    def before_referrals(self, cohort: YearCohort, history: History, entry: CareEntry) -> None:
        """Run this year's lists, then take out the year's entries to care that accepted offers prevent."""
        drawn = entry.enters.copy()
        in_year = self.runs[(self.runs >= cohort.start) & (self.runs < cohort.end)]
        for run_date in in_year:
            self._prevent_entries(cohort, entry)
            self._run(run_date, cohort, history, entry)
        self._prevent_entries(cohort, entry)
        prevented = drawn & ~entry.enters
        self.entries.append(pd.DataFrame({"person_id": cohort.idx[drawn], "date": entry.date[drawn],
                                          "prevented": prevented[drawn]}))
        if prevented.any():  # the oracle's outcome is what happened
            truth = entry.truth
            truth.loc[truth["person_id"].isin(cohort.idx[prevented]), "outcome"] = False

    def keep_referral(self, person_id: np.ndarray, date: np.ndarray, forced: np.ndarray) -> np.ndarray:
        """False for each referral an accepted offer or an area programme prevented (never one leading to care)."""
        by_offer = ~forced & self.referral_windows.cover(person_id, date)
        ward = self.wards.at(self.children.hid[person_id], date)
        by_area = ~forced & (self.rng.random(person_id.size) < self.areas.effect(ward, date))
        self.referrals.append(pd.DataFrame({"person_id": person_id, "date": date, "forced": forced, "ward": ward,
                                            "by_offer": by_offer, "by_area": by_area}))
        return ~(by_offer | by_area)

    def _prevent_entries(self, cohort: YearCohort, entry: CareEntry) -> None:
        entry.enters &= ~self.care_windows.cover(cohort.idx, entry.date)

    def _run(self, run_date: np.datetime64, cohort: YearCohort, history: History, entry: CareEntry) -> None:
        idx, ch = cohort.idx, self.children
        age = years_between(np.full(idx.size, run_date), ch.dob[idx])
        looked_after = (history.in_care_until[idx] > run_date) | (entry.enters & (entry.date <= run_date))
        eligible = (
            (ch.arrive[idx] <= run_date) & (ch.leave[idx] > run_date) & (ch.dob[idx] <= run_date) & (age < 18)
            & ~looked_after & (history.cp_until[idx] <= run_date) & (self.considered_until[idx] <= run_date)
        )
        pid = idx[eligible]
        observed = care_entry_log_odds(
            np.zeros(pid.size, dtype=bool), history.cin_until[pid] > run_date, history.prev_care[pid],
            history.last_referral[pid] > run_date - YEAR, cohort.need_static[eligible], age[eligible],
            ch.care_group[pid],
        )
        rows = run_list(self.rng, self.cfg.help, self.capacity, pid, observed, self.u[pid], self.score_error[pid])
        self.rows.append((len(self.rows) + 1, run_date, rows))
        self.considered_until[pid[rows.listed | rows.offered]] = run_date + YEAR
        accepted = rows.offered & rows.would_accept
        offer_date = run_date + rows.offer_lag.astype("timedelta64[D]")
        for protects, windows in ((rows.protects_care, self.care_windows),
                                  (rows.protects_referral, self.referral_windows)):
            hit = accepted & protects
            windows.add(pid[hit], offer_date[hit], run_date + YEAR)
