"""The truth of help (data/truth/help/): potential outcomes per child and run, per ward and quarter.

Without an offer (y0) is what the county drew before the offer's own prevention; with it (y1) the same
draws less the entries and (non-forced) referrals an accepted, protecting offer took out between the
offer and 12 months after the run. Every scored row has both, offered or not (its would-be acceptance
and protection are drawn too). Realised outcomes (``care_12m``, ``referral_12m``) also reflect other
offers and area programmes; a row is ``followed_up_12m`` when the 12 months end by the reference date.
An entry to care always follows a referral, so a referral outcome is counted wherever the care outcome is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.help.areas import KEY_WORKER, NONE, PILOT, quarters_since
from pipeline.synthetic.help.county import YEAR, HelpCounty
from pipeline.synthetic.help.wards import day_keys


def run_id(run_date: np.datetime64) -> str:
    """The id of the run on ``run_date`` (one a month): EHL-YYYY-MM."""
    return "EHL-" + str(run_date.astype("datetime64[M]"))


class EventIndex:
    """Sorted (person, date) keys of events, to ask whether a child had one in a window."""

    def __init__(self, pid: np.ndarray, dates: np.ndarray) -> None:
        self.keys = np.sort(day_keys(pid, dates))

    def any_in(self, pid: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Per row: an event of ``pid`` on a day in [start, end)."""
        lo = np.searchsorted(self.keys, day_keys(pid, start), side="left")
        hi = np.searchsorted(self.keys, day_keys(pid, end), side="left")
        return hi > lo


def score_rows(helped: HelpCounty, reference: np.datetime64) -> pd.DataFrame:
    """One row per child × run (the contract's ``scores.parquet``, plus route, override, offer_date, realised
    outcomes and ``followed_up_12m``)."""
    parts = []
    for _, run_date, r in helped.rows:
        parts.append(pd.DataFrame({
            "run_id": run_id(run_date), "run_date": run_date, "person_id": r.person_id, "score": r.score,
            "rank": r.rank, "listed": r.listed, "offered": r.offered, "accepted": r.offered & r.would_accept,
            "route": np.where(r.offered, r.route, ""), "override": r.override, "u": helped.u[r.person_id],
            "would_accept": r.would_accept, "protects_care": r.protects_care,
            "protects_referral": r.protects_referral,
            "offer_date": run_date + r.offer_lag.astype("timedelta64[D]"), "true_log_odds": r.true_log_odds,
        }))
    rows = pd.concat(parts, ignore_index=True)
    pid = rows["person_id"].to_numpy()
    start = rows["run_date"].to_numpy().astype("datetime64[D]")
    offer = rows["offer_date"].to_numpy().astype("datetime64[D]")
    end = start + YEAR
    entries = pd.concat(helped.entries, ignore_index=True)
    refs = pd.concat(helped.referrals, ignore_index=True)
    drawn = EventIndex(entries["person_id"].to_numpy(), entries["date"].to_numpy())
    real = entries[~entries["prevented"]]
    care_real = EventIndex(real["person_id"].to_numpy(), real["date"].to_numpy())
    world = refs[~refs["by_area"]]  # the offer's world has the area programmes in it
    r_all = EventIndex(world["person_id"].to_numpy(), world["date"].to_numpy())
    forced = world[world["forced"]]
    r_forced = EventIndex(forced["person_id"].to_numpy(), forced["date"].to_numpy())
    realised = refs[~refs["by_area"] & ~refs["by_offer"]]
    r_real = EventIndex(realised["person_id"].to_numpy(), realised["date"].to_numpy())
    stops_care = (rows["would_accept"] & rows["protects_care"]).to_numpy()
    stops_ref = (rows["would_accept"] & rows["protects_referral"]).to_numpy()
    y0_care = drawn.any_in(pid, start, end)
    y1_care = drawn.any_in(pid, start, offer) | (~stops_care & drawn.any_in(pid, offer, end))
    y0_ref = r_all.any_in(pid, start, end) | y0_care
    y1_ref = (r_all.any_in(pid, start, offer) | r_forced.any_in(pid, offer, end)
              | (~stops_ref & r_all.any_in(pid, offer, end)) | y1_care)
    care_12m = care_real.any_in(pid, start, end)
    rows = rows.assign(
        y0_care_12m=y0_care, y1_care_12m=y1_care, y0_referral_12m=y0_ref, y1_referral_12m=y1_ref,
        care_12m=care_12m, referral_12m=r_real.any_in(pid, start, end) | care_12m,
        followed_up_12m=end <= reference + np.timedelta64(1, "D"),
    )
    rows["run_date"] = rows["run_date"].astype("datetime64[s]")
    rows["offer_date"] = rows["offer_date"].astype("datetime64[s]")
    return rows.drop(columns=["would_accept", "protects_care", "protects_referral"])


def quarter_starts(reference: np.datetime64, years: int) -> np.ndarray:
    """First days of the whole quarters of the ``years`` years up to ``reference``."""
    month = reference.astype("datetime64[M]") + 1  # the month after the reference date
    last = month - (month.astype(int) % 3)  # a quarter's first month (Jan, Apr, Jul, Oct) at or before it
    months = np.arange(last - 12 * years, last, 3)
    return months.astype("datetime64[D]")


def area_panel(helped: HelpCounty, reference: np.datetime64, years: int = 8) -> pd.DataFrame:
    """Per programme × ward × quarter: treated, resident children 0-17 at the quarter's start, and referrals
    (one per child and day, as the CIN census holds them; in the ward the child lived in at the quarter's
    start) without (y0) and with (y1) the programme (which acts where the child lives on the referral's day).

    Key-worker rows cover every ward but the pilot's; pilot rows cover the pilot ward and the never-treated
    wards (its donors).
    """
    ch, plan = helped.children, helped.areas
    n_wards = plan.codes.size
    quarters = quarter_starts(reference, years)
    refs = pd.concat(helped.referrals, ignore_index=True).drop_duplicates(["person_id", "date"])
    refs = refs[~refs["by_offer"]]
    qpos = np.searchsorted(quarters, refs["date"].to_numpy().astype("datetime64[D]"), side="right") - 1
    inside = (qpos >= 0) & (refs["date"].to_numpy() < quarters[-1] + np.timedelta64(92, "D"))
    # a referral counts in the ward the child lived in at the quarter's start (as the impact stage's panels count)
    pid, q_in = refs["person_id"].to_numpy()[inside], qpos[inside]
    cell = q_in * n_wards + helped.wards.at(ch.hid[pid], quarters[q_in])
    y0 = np.bincount(cell, minlength=quarters.size * n_wards)
    y1 = np.bincount(cell, weights=~refs["by_area"].to_numpy()[inside], minlength=quarters.size * n_wards)
    frames = []
    for q, start in enumerate(quarters):
        age = (start - ch.dob) / np.timedelta64(36525, "D") * 100
        here = np.flatnonzero((ch.arrive <= start) & (ch.leave > start) & (ch.dob <= start) & (age < 18))
        kids = np.bincount(helped.wards.at(ch.hid[here], np.full(here.size, start)), minlength=n_wards)
        frames.append(pd.DataFrame({"ward": np.arange(n_wards), "quarter_start": start, "children": kids,
                                    "y0_referrals": y0[q * n_wards:(q + 1) * n_wards].astype(int),
                                    "y1_referrals": y1[q * n_wards:(q + 1) * n_wards].astype(int)}))
    panel = pd.concat(frames, ignore_index=True)
    ward = panel["ward"].to_numpy()
    started = plan.exposure(ward, panel["quarter_start"].to_numpy()) >= 0
    out = []
    for name, kind, members in (("key_worker", KEY_WORKER, plan.programme != PILOT),
                                ("pilot", PILOT, np.isin(plan.programme, (PILOT, NONE)))):
        mine = plan.programme[ward] == kind
        out.append(panel[members[ward]].assign(programme=name, treated=(mine & started)[members[ward]]))
    area = pd.concat(out, ignore_index=True)
    w = area["ward"].to_numpy()
    area["ward_code"] = plan.codes[w]
    # quarters since go-live (negative before it) for the programme's own wards; NA for the others
    since = quarters_since(plan.go_live[w], area["quarter_start"].to_numpy())
    own = (area["programme"].to_numpy() == "key_worker") & (plan.programme[w] == KEY_WORKER)
    own |= (area["programme"].to_numpy() == "pilot") & (plan.programme[w] == PILOT)
    area["event_quarter"] = pd.array(np.where(own, since, 0), "Int64")
    area.loc[~own, "event_quarter"] = pd.NA
    area["quarter_start"] = area["quarter_start"].astype("datetime64[s]")
    return area[["programme", "ward_code", "quarter_start", "treated", "event_quarter", "children", "y0_referrals",
                 "y1_referrals"]]
