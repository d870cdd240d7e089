"""Unpaid caring: who cares for whom and when, the GP's carer codes, and carers' own social care.

Partners care for a partner whose frailty turns moderate (eFI > 0.24) or who develops dementia; parents
care for an adult son or daughter with a learning disability who lives at home (including parents aged
70+, Sheffield's cohort); people who need care and live alone are often helped by someone outside the
household. Caring ends at either person's death, a care-home move or leaving the county.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults.codes import CARER_DIRECT, PSR_CARER, SNOMED
from pipeline.synthetic.adults.health import gp_rows
from pipeline.synthetic.adults.people import NOT_YET
from pipeline.synthetic.adults.social_care import event_frame

NAT = np.datetime64("NaT", "D")
ADULT = np.timedelta64(6575, "D")


def need_onset(gp_events: pd.DataFrame, dementia_since: np.ndarray) -> np.ndarray:
    """Per person_id, when they came to need care: the 9th eFI deficit (eFI > 0.24) or dementia."""
    efi = gp_events[gp_events["concept"].str.startswith("efi_deficit:")
                    | gp_events["concept"].isin(["af", "stia", "ckd", "dm", "hf", "hyp", "chd", "ost", "pad", "copd"])]
    efi = efi.sort_values(["person_id", "date"])
    ninth = efi.groupby("person_id")["date"].nth(8)
    ninth_pid = efi.loc[ninth.index, "person_id"].to_numpy()
    out = dementia_since.copy()
    cur = out[ninth_pid]
    out[ninth_pid] = np.minimum(cur, ninth.to_numpy().astype("datetime64[D]"))
    return out


def caring_pairs(
    rng: np.random.Generator, people: pd.DataFrame, need: np.ndarray, ends: np.ndarray, ref: np.datetime64,
) -> pd.DataFrame:
    """Carer <-> cared-for pairs.

    Args:
        people: person_id, household_id, role, dob, arrive_date, learning_disability (row = person_id).
        need: per person_id, when they came to need care (NOT_YET = never).
        ends: per person_id, the day they stop living at home here (death, care home, leaving).

    Returns:
        carer_id, cared_for_id, start, end (NaT = ongoing), hours_per_week, relationship.
    """
    p = people[["person_id", "household_id", "role", "dob", "arrive_date"]].copy()
    p["adult_from"] = np.maximum(p["dob"].to_numpy().astype("datetime64[D]") + ADULT,
                                 p["arrive_date"].to_numpy().astype("datetime64[D]"))
    grown = p[p["role"] != "child"]
    pairs = grown.merge(grown, on="household_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["person_id_a"] != pairs["person_id_b"]]
    # partners: both adults of a two-adult household who are not parent and LD child
    spouse = pairs[pd.Series(pairs["role_a"] != "child").to_numpy()]
    ld = people["learning_disability"].to_numpy()
    spouse = spouse[~ld[spouse["person_id_a"]] & ~ld[spouse["person_id_b"]]]
    frames = [_pairs(spouse["person_id_a"].to_numpy(), spouse["person_id_b"].to_numpy(), need, "spouse",
                     rng.uniform(20, 100, len(spouse)))]
    # parents of an adult with LD at home (the new LD families and the county's own children)
    kids = people[ld & (people["role"] != "mother") & (people["role"] != "father")]
    par = kids[["person_id", "household_id", "dob", "arrive_date"]].merge(
        people.loc[people["role"].isin(["mother", "father", "older"]) & ~ld, ["person_id", "household_id", "dob"]],
        on="household_id", suffixes=("", "_parent"))
    par = par[par["dob_parent"].to_numpy() < par["dob"].to_numpy() - np.timedelta64(15 * 365, "D")]
    adult = np.maximum(par["dob"].to_numpy().astype("datetime64[D]") + ADULT,
                       par["arrive_date"].to_numpy().astype("datetime64[D]"))
    frames.append(_pairs(par["person_id_parent"].to_numpy(), par["person_id"].to_numpy(),
                         np.where(True, NOT_YET, NOT_YET), "parent", rng.uniform(35, 100, len(par)), start=adult))
    # someone from outside the household for half of those in need who live alone
    size = people.groupby("household_id")["person_id"].transform("size").to_numpy()
    alone = np.flatnonzero((size == 1) & (need < ref) & (rng.random(len(people)) < 0.5))
    helpers = people.loc[(people["role"] != "child") & ~ld, "person_id"].to_numpy()
    frames.append(_pairs(rng.choice(helpers, alone.size), alone, need, "other", rng.uniform(5, 35, alone.size)))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["carer_id"] != out["cared_for_id"]]
    # caring starts once both live here and the carer is an adult
    adult_from = p["adult_from"].to_numpy()
    out["start"] = np.maximum(np.maximum(out["start"].to_numpy(), adult_from[out["carer_id"].to_numpy()]),
                              p["arrive_date"].to_numpy().astype("datetime64[D]")[out["cared_for_id"].to_numpy()])
    end = np.minimum(ends[out["carer_id"].to_numpy()], ends[out["cared_for_id"].to_numpy()])
    keep = (end > out["start"].to_numpy()) & (out["start"].to_numpy() <= ref)
    out = out[keep].assign(end=np.where(end[keep] > ref, NAT, end[keep]))
    return out[["carer_id", "cared_for_id", "start", "end", "hours_per_week", "relationship"]].reset_index(drop=True)


def _pairs(carer, cared, need, relationship, hours, start=None) -> pd.DataFrame:
    begin = need[cared] if start is None else start
    return pd.DataFrame({"carer_id": np.asarray(carer, dtype=np.int64), "cared_for_id": np.asarray(cared, np.int64),
                         "start": np.asarray(begin).astype("datetime64[D]"), "hours_per_week": np.round(hours),
                         "relationship": relationship})


def carer_gp_codes(rng: np.random.Generator, caring: pd.DataFrame, people: pd.DataFrame, dementia: np.ndarray,
                   until: np.ndarray, ref: np.datetime64) -> pd.DataFrame:
    """The GP's carer code for about 45% of carers (recording varies by system, S31)."""
    c = caring[rng.random(len(caring)) < 0.45]
    cared = c["cared_for_id"].to_numpy()
    age = (ref - people["dob"].to_numpy().astype("datetime64[D]")[cared]).astype(np.int64) / 365.25
    concept = np.select([people["learning_disability"].to_numpy()[cared], dementia[cared], age >= 65],
                        ["carer_ld", "carer_dementia", "carer_elderly"], "carer")
    when = c["start"].to_numpy() + rng.integers(0, 365, len(c)).astype("timedelta64[D]")
    ok = when <= until[c["carer_id"].to_numpy()]
    return gp_rows(c["carer_id"].to_numpy()[ok], when[ok], np.full(ok.sum(), "carer"),
                   np.array([SNOMED[k] for k in concept[ok]], dtype=str))


def carer_events(rng: np.random.Generator, caring: pd.DataFrame, services: pd.DataFrame, self_funder: np.ndarray,
                 gone: np.ndarray, ref: np.datetime64, ids) -> pd.DataFrame:
    """Carer assessments and support for carers of people the council supports (client type Carer).

    Args:
        gone: per person_id, death or leaving the county (NOT_YET = neither).
    """
    until = np.minimum(gone, ref)
    first = services.groupby("person_id")["start"].min()
    c = caring[caring["cared_for_id"].isin(first.index) & ~self_funder[caring["carer_id"].to_numpy()]]
    c = c[rng.random(len(c)) < np.where(c["relationship"] == "other", 0.2, 0.45)]
    n = len(c)
    carer, cared = c["carer_id"].to_numpy(), c["cared_for_id"].to_numpy()
    begin = np.maximum(c["start"].to_numpy().astype("datetime64[D]"),
                       first.reindex(cared).to_numpy().astype("datetime64[D]"))
    a_start = begin + rng.integers(0, 120, n).astype("timedelta64[D]")
    a_end = a_start + rng.integers(1, 21, n).astype("timedelta64[D]")
    support = rng.random(n) < 0.55
    hours = c["hours_per_week"].to_numpy()
    common = {"client_type": "Carer", "primary_support_reason": PSR_CARER, "linked_person_id": cared}
    assess = event_frame(person_id=carer, event_type="Assessment", start=a_start, end=a_end,
                         assessment_type="Carer assessment", hours_caring=hours,
                         outcome=np.where(support, "Progress to Support Planning / Services",
                                          "NFA – Information & Advice / Signposting only"), **common)
    s_start = a_end + rng.integers(7, 30, n).astype("timedelta64[D]")
    s_end = s_start + rng.integers(30, 365, n).astype("timedelta64[D]")
    serv = event_frame(
        person_id=carer, event_type="Service", start=s_start, end=s_end, service_type=CARER_DIRECT,
        service_component=rng.choice(np.array(["Carer Respite", "Carer Sitting Service", "Other Carer Support"]), n),
        delivery_mechanism=np.where(rng.random(n) < 0.5, "Direct Payment", "CASSR Commissioned Support"),
        unit_cost=np.round(rng.normal(250, 60, n).clip(40), 2), planned_units_per_week=1.0,
        outcome="Service ended as planned", hours_caring=hours, **common)[support]
    out = pd.concat([assess[a_start <= until[carer]], serv[s_start[support] <= until[carer[support]]]],
                    ignore_index=True)
    end = np.minimum(out["end"].to_numpy().astype("datetime64[D]"), gone[out["person_id"].to_numpy()])
    out["end"] = np.where(end > ref, NAT, end)
    out["event_id"] = ids.events(len(out))
    return out
