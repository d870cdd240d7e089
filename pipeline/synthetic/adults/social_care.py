"""Adult social care for council-funded people: requests, assessments, services and reviews (the TRUE
events that H7's CLD exporter records). Self-funders never appear: the council does not see them.

Requests come from the community or hospital discharge at about ``asc_requests_65`` (and _18_64) per
person a year (S42); a request leads to signposting, reablement (ST-Max) or an assessment, and some to
long-term support at home, which runs until death, a care-home move or leaving the county.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.synth_params import AdultsParams
from pipeline.synthetic.adults.codes import (
    LTS_COMMUNITY,
    LTS_NURSING,
    LTS_RESIDENTIAL,
    PSR_LD,
    PSR_MEMORY,
    PSR_MH,
    PSR_MOBILITY,
    PSR_PERSONAL_CARE,
    PSR_SUBSTANCE,
    ST_MAX,
)
from pipeline.synthetic.adults.people import NOT_YET
from pipeline.synthetic.adults.state import State, Window

EVENT_COLUMNS = {
    "person_id": -1, "event_id": -1, "event_type": "", "start": None, "end": None, "client_type": "Service user",
    "primary_support_reason": "", "route_of_access": "", "assessment_type": "", "service_type": "",
    "service_component": "", "delivery_mechanism": "", "unit_cost": np.nan, "planned_units_per_week": np.nan,
    "outcome": "", "review_reason": "", "hours_caring": np.nan, "linked_person_id": -1,
}
NAT = np.datetime64("NaT", "D")
DAYS = np.timedelta64(1, "D")
COMPONENTS = ("Home Support", "Direct Payment", "Day Support", "Equipment", "Meals")
COMPONENT_P = (0.62, 0.16, 0.12, 0.06, 0.04)


def event_frame(**cols) -> pd.DataFrame:
    """ASC events with every column of the contract (defaults where a column does not apply)."""
    n = len(next(iter(cols.values())))
    out = {}
    for name, default in EVENT_COLUMNS.items():
        value = cols.get(name, default)
        if value is None:
            value = np.full(n, NAT)
        out[name] = np.broadcast_to(value, (n,)).copy() if np.ndim(value) == 0 else np.asarray(value)
    return pd.DataFrame(out)


def support_reason(rng: np.random.Generator, state: State, pid: np.ndarray, mh: np.ndarray, sub: np.ndarray):
    """Primary support reason from what the person lives with (LD, dementia, adversity, frailty)."""
    physical = np.where(rng.random(pid.size) < 0.2, PSR_MOBILITY, PSR_PERSONAL_CARE)
    return np.select([state.ld_registered[pid], state.dementia[pid], sub, mh],
                     [PSR_LD, PSR_MEMORY, PSR_SUBSTANCE, PSR_MH], physical)


def care_home_events(rng: np.random.Generator, state: State, entries: pd.DataFrame, ids) -> pd.DataFrame:
    """Request, assessment and residential/nursing service of each council-funded care-home entry
    (a short stay is a short-term service); ends any long-term support at home."""
    council = entries[entries["funding"] == "council"]
    pid = council["person_id"].to_numpy()
    n = pid.size
    if not n:
        return event_frame(person_id=np.zeros(0, np.int64))
    entry = council["entry_date"].to_numpy().astype("datetime64[D]")
    perm = council["permanent"].to_numpy()
    nursing = council["setting"].to_numpy() == "nursing"
    psr = support_reason(rng, state, pid, np.zeros(n, bool), np.zeros(n, bool))
    route = np.where(council["route"].to_numpy() == "hospital_discharge", "Hospital discharge", "Community")
    req = entry - rng.integers(7, 45, n).astype("timedelta64[D]")
    ass = req + rng.integers(1, 7, n).astype("timedelta64[D]")
    frames = [
        event_frame(person_id=pid, event_type="Request", start=req, end=req, primary_support_reason=psr,
                    route_of_access=route, outcome="Progress to Assessment"),
        event_frame(person_id=pid, event_type="Assessment", start=ass, end=ass + rng.integers(3, 20, n) * DAYS,
                    primary_support_reason=psr, assessment_type="Long term assessment",
                    outcome="Progress to Support Planning / Services"),
        event_frame(
            person_id=pid, event_type="Service", start=entry,
            end=np.where(perm, NAT, council["exit_date"].to_numpy().astype("datetime64[D]")),
            primary_support_reason=psr,
            service_type=np.where(perm, np.where(nursing, LTS_NURSING, LTS_RESIDENTIAL),
                                  "Short Term Support: Other Short Term"),
            service_component=np.where(perm, np.where(nursing, "Long Term Nursing Care", "Long Term Residential Care"),
                                       np.where(nursing, "Short Term Nursing Care", "Short Term Residential Care")),
            delivery_mechanism="CASSR Commissioned Support",
            unit_cost=np.round(rng.normal(np.where(nursing, 1050, 850), 90), 2), planned_units_per_week=1.0,
            outcome=np.where(perm, "Provision of service", "Service ended as planned"),
        ),
    ]
    moved = pid[perm]
    state.lts_since[moved] = NOT_YET
    out = pd.concat(frames, ignore_index=True)
    out["event_id"] = ids.events(len(out))
    return out


def community_requests(
    rng: np.random.Generator, cfg: AdultsParams, state: State, win: Window, discharges: pd.Series,
    mh: np.ndarray, sub: np.ndarray, ids,
) -> pd.DataFrame:
    """Requests from people living at home with no long-term support yet, and what follows them.

    Args:
        discharges: person_id -> last emergency discharge date this year.
        mh, sub: bool per person in ``win``: the person's own mental ill health / substance misuse is active.
    """
    idx, age = win.idx, win.age
    efi = state.efi()[idx]
    eligible = ~state.self_funder[idx] & (state.care_home[idx] < 0) & (state.lts_since[idx] == NOT_YET)
    weight = np.exp(6.0 * efi + 1.2 * state.dementia[idx] + 2.0 * state.ld_registered[idx] + 1.5 * mh + 1.5 * sub
                    + 0.04 * np.clip(age - 65, -40, 30)) * eligible
    p = np.zeros(idx.size)
    for lo, hi, rate in ((18, 65, cfg.asc_requests_18_64), (65, 200, cfg.asc_requests_65)):
        band = (age >= lo) & (age < hi)
        w = np.where(band, weight, 0.0)
        p += np.minimum(rate * win.exposure[band].sum() * w / max(w.sum(), 1e-12), 0.9)
    rows = np.flatnonzero(rng.random(idx.size) < p)
    pid = idx[rows]
    n = rows.size
    last = discharges.reindex(pid).to_numpy().astype("datetime64[D]")
    hosp = ~np.isnat(last) & (rng.random(n) < 0.5)
    req = np.where(hosp, last, win.dates(rng, rows))
    keep = req < state.death[pid]
    rows, pid, req, hosp, n = rows[keep], pid[keep], req[keep], hosp[keep], int(keep.sum())
    psr = support_reason(rng, state, pid, mh[rows], sub[rows])
    lts_p = 1 / (1 + np.exp(-(-3.8 + 5.0 * efi[rows] + 1.3 * state.dementia[pid] + 2.5 * state.ld_registered[pid]
                              + 0.8 * (mh[rows] | sub[rows]))))
    lts = rng.random(n) < lts_p
    stmax = (age[rows] >= 50) & (rng.random(n) < 0.35)
    assessed = lts | (~stmax & (rng.random(n) < 0.35))
    route = np.where(hosp, "Hospital discharge", "Community")
    outcome = np.where(stmax, "Progress to Reablement/ST-Max", np.where(assessed, "Progress to Assessment",
                       rng.choice(np.array(["NFA – Information & Advice / Signposting only", "NFA – Support declined",
                                            "NFA – No services offered: other reason"]), n, p=[0.7, 0.15, 0.15])))
    frames = [event_frame(person_id=pid, event_type="Request", start=req, end=req, primary_support_reason=psr,
                          route_of_access=route, outcome=outcome)]
    st_start = req + rng.integers(1, 10, n) * DAYS
    st_end = st_start + rng.integers(14, 43, n) * DAYS
    s = stmax
    frames.append(event_frame(
        person_id=pid[s], event_type="Service", start=st_start[s], end=st_end[s], primary_support_reason=psr[s],
        service_type=ST_MAX, service_component="Reablement", delivery_mechanism="CASSR Commissioned Support",
        unit_cost=np.round(rng.normal(24, 2, s.sum()), 2), planned_units_per_week=np.round(rng.uniform(5, 15, s.sum())),
        outcome=np.where(lts[s], "Progress to Assessment", "NFA – Support ended: other reason")))
    a_start = np.where(stmax, st_end, req) + rng.integers(1, 15, n) * DAYS
    a_end = a_start + rng.integers(5, 30, n) * DAYS
    a = assessed
    frames.append(event_frame(
        person_id=pid[a], event_type="Assessment", start=a_start[a], end=a_end[a], primary_support_reason=psr[a],
        assessment_type="Long term assessment",
        outcome=np.where(lts[a], "Progress to Support Planning / Services", "NFA – No services offered: other reason")))
    s_start = a_end + rng.integers(3, 21, n) * DAYS
    ok = lts & (s_start < state.death[pid])
    comp = np.where(state.ld_registered[pid] & (rng.random(n) < 0.4), "Community Supported Living",
                    rng.choice(COMPONENTS, n, p=COMPONENT_P))
    dp = comp == "Direct Payment"
    hours = np.round(rng.gamma(3.0, 3.5, n) + 2)
    frames.append(event_frame(
        person_id=pid[ok], event_type="Service", start=s_start[ok], end=np.full(ok.sum(), NAT),
        primary_support_reason=psr[ok], service_type=LTS_COMMUNITY, service_component=comp[ok],
        delivery_mechanism=np.where(dp, "Direct Payment", np.where(rng.random(n) < 0.2,
                                    "CASSR Managed Personal Budget", "CASSR Commissioned Support"))[ok],
        unit_cost=np.round(rng.normal(23, 2.5, n), 2)[ok], planned_units_per_week=hours[ok],
        outcome="Provision of service"))
    state.lts_since[pid[ok]] = s_start[ok]
    out = pd.concat(frames, ignore_index=True)
    out["event_id"] = ids.events(len(out))
    return out


def close_and_review(
    rng: np.random.Generator, events: pd.DataFrame, death: np.ndarray, leave: np.ndarray,
    moves_in: pd.Series, ref: np.datetime64, ids,
) -> pd.DataFrame:
    """End open services (death, leaving, a move into a care home) and add yearly planned reviews.

    Args:
        moves_in: person_id -> date of a permanent care-home entry (ends support at home).
    """
    ev = events.copy()
    svc = (ev["event_type"] == "Service").to_numpy() & ev["end"].isna().to_numpy()
    pid = ev["person_id"].to_numpy()
    start = ev["start"].to_numpy().astype("datetime64[D]")
    home = (ev["service_type"] == LTS_COMMUNITY).to_numpy()
    into_home = moves_in.reindex(pid).to_numpy().astype("datetime64[D]")
    into_home = np.where(home & ~np.isnat(into_home) & (into_home > start), into_home, NOT_YET)
    # support at home also ends for other reasons (needs change, family takes over): mean 4 years
    natural = np.where(home, start + (rng.exponential(4 * 365, len(ev))).astype(int) * DAYS, NOT_YET)
    end = np.minimum(np.minimum(np.minimum(death[pid], leave[pid]), into_home), natural)
    end = np.where(end > ref, NAT, end)
    closed = svc & ~np.isnat(end)
    ev.loc[svc, "end"] = end[svc]
    why = np.where(end == death[pid], "NFA – Deceased", np.where(
        end == leave[pid], "NFA – Moved to another LA",
        np.where(end == natural, "NFA – Support ended: other reason", "Service ended as planned")))
    ev.loc[closed, "outcome"] = why[closed]
    # planned reviews of long-term support on each anniversary while it lasts
    lts = (ev["event_type"] == "Service").to_numpy() & ev["service_type"].str.startswith("Long Term").to_numpy()
    last = np.where(np.isnat(ev["end"].to_numpy().astype("datetime64[D]")), ref,
                    ev["end"].to_numpy().astype("datetime64[D]"))
    n_rev = np.where(lts, ((last - start).astype(np.int64) // 365).clip(0, 30), 0)
    rows = np.repeat(np.arange(len(ev)), n_rev)
    k = np.arange(rows.size) - np.repeat(np.cumsum(n_rev) - n_rev, n_rev) + 1
    when = start[rows] + (k * 365 + rng.integers(-30, 30, rows.size)).astype("timedelta64[D]")
    when = np.minimum(when, last[rows] - DAYS)
    unplanned = rng.random(rows.size) < 0.15
    reviews = event_frame(
        person_id=pid[rows], event_type="Review", start=when, end=when + rng.integers(0, 14, rows.size) * DAYS,
        primary_support_reason=ev["primary_support_reason"].to_numpy()[rows],
        review_reason=np.where(unplanned, "Unplanned", "Planned"),
        outcome=np.where(unplanned & (rng.random(rows.size) < 0.5), "Progress to Re-assessment / Unplanned Review",
                         "No change in package"),
    )
    reviews = reviews[reviews["start"].to_numpy() <= ref]
    reviews["event_id"] = ids.events(len(reviews))
    return pd.concat([ev, reviews], ignore_index=True)
