"""The council's records of help (data/raw/interventions/, contract §1) and its truth (data/truth/help/).

Children are identified by ``nhs_number`` and, where they have one, ``upn``, as a council's case-management
system holds them (a few records lack the NHS number). ``person_token`` is blank: only the web app writes it.
Cosmetic detail (teams, reasons, event dates after the offer, dosage) draws from its own stream, so it
moves no outcome.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipeline.core.synth_params import SynthParams
from pipeline.synthetic.help.costs import PROGRAMMES, UNIT_COSTS
from pipeline.synthetic.help.county import STREAM, HelpCounty
from pipeline.synthetic.help.truth import run_id

NHS_MISSING = 0.03  # share of offer and score rows whose NHS number the council did not record (a UPN is)
ROLLOUT_CAPACITY = 20  # families a ward's key workers take on per month
LOCALITIES = ("North", "South", "East", "West")
RULE = ("top {k} by score among children 0-17 living in the county, not looked after, not on a child protection "
        "plan and not listed or offered in the previous 12 months")
REASONS = {
    "professional": ("referred by school", "referred by health visitor", "referred by GP", "referred by police"),
    "self": ("family asked for help",),
    "below_cut": ("practitioner concern, below the cut",),
    "not_appropriate": ("needs met by universal services", "family moving away"),
    "already_known": ("already open to another service",),
}


def _ymd(dates: np.ndarray) -> np.ndarray:
    return pd.to_datetime(dates).strftime("%Y-%m-%d").to_numpy()


def identifiers(rng: np.random.Generator, person_id: np.ndarray, kids: pd.DataFrame, pupils: pd.DataFrame
                ) -> tuple[np.ndarray, np.ndarray]:
    """nhs_number and upn ("" where none) per row, as the council records them."""
    nhs = kids.set_index("person_id")["nhs_number"].reindex(person_id).fillna("").to_numpy(dtype=str)
    upn = pupils.set_index("person_id")["upn"].reindex(person_id).fillna("").to_numpy(dtype=str)
    nhs = np.where((upn != "") & (rng.random(person_id.size) < NHS_MISSING), "", nhs)
    return nhs, upn


def list_files(rng: np.random.Generator, scores: pd.DataFrame, capacity: int, kids: pd.DataFrame,
               pupils: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``list_runs.csv`` and ``list_scores.csv`` from the truth's score rows."""
    runs = scores.groupby("run_id", sort=True).agg(run_date=("run_date", "first"), scored_rows=("rank", "size"),
                                                   listed=("listed", "sum"))
    cut = scores[scores["listed"]].groupby("run_id")["score"].min()
    run_dates = runs["run_date"].to_numpy()
    list_runs = pd.DataFrame({
        "run_id": runs.index.to_numpy(), "run_date": _ymd(run_dates), "model": "care_entry",
        "release": [f"care_entry-{d.year if d.month > 3 else d.year - 1}.1" for d in pd.to_datetime(run_dates)],
        "capacity": runs["listed"].astype(int).to_numpy(), "cut_score": cut.reindex(runs.index).round(6).to_numpy(),
        "scored_rows": runs["scored_rows"].to_numpy(), "rule": [RULE.format(k=capacity)] * len(runs),
    })
    nhs, upn = identifiers(rng, scores["person_id"].to_numpy(), kids, pupils)
    list_scores = pd.DataFrame({
        "run_id": scores["run_id"].to_numpy(), "nhs_number": nhs, "upn": upn, "person_token": "",
        "score": scores["score"].round(6).to_numpy(), "rank": scores["rank"].to_numpy(),
        "listed": np.where(scores["listed"], "Y", "N"),
    })
    return list_runs, list_scores


def offer_events(rng: np.random.Generator, scores: pd.DataFrame, helped: HelpCounty, reference: np.datetime64,
                 kids: pd.DataFrame, pupils: pd.DataFrame) -> pd.DataFrame:
    """``offers.csv``: one row per event (offered, accepted/declined, started, ended; not_appropriate or
    already_known for a listed child a practitioner did not offer), events after the reference date left out."""
    rows = scores[scores["offered"] | (scores["listed"] & scores["override"])].reset_index(drop=True)
    n = len(rows)
    offered = rows["offered"].to_numpy()
    route = np.where(offered, rows["route"].to_numpy(dtype=str), "list")
    below_cut = offered & rows["override"].to_numpy()
    status0 = np.where(offered, "offered", np.where(rng.random(n) < 0.5, "not_appropriate", "already_known"))
    reason = np.full(n, "", dtype=object)
    for key, mask in (("professional", route == "professional"), ("self", route == "self"), ("below_cut", below_cut),
                      ("not_appropriate", status0 == "not_appropriate"), ("already_known", status0 == "already_known")):
        reason[mask] = rng.choice(REASONS[key], int(mask.sum()))
    pid = rows["person_id"].to_numpy()
    d0 = rows["offer_date"].to_numpy().astype("datetime64[D]")
    ward = helped.wards.at(helped.children.hid[pid], d0)
    nhs, upn = identifiers(rng, pid, kids, pupils)
    base = pd.DataFrame({
        "offer_id": [f"EHO-{i:06d}" for i in range(1, n + 1)], "nhs_number": nhs, "upn": upn, "person_token": "",
        "programme": "early_help_offer",
        "run_id": np.where(route == "list", rows["run_id"].to_numpy(dtype=str), ""), "route": route,
        "team": np.char.add("Early Help ", np.array(LOCALITIES)[ward % len(LOCALITIES)]),
        "override": np.where(rows["override"], "Y", "N"), "reason": reason,
        "recorded_by_role": rng.choice(["early help practitioner", "family support worker"], n),
    })
    accepted = rows["accepted"].to_numpy()
    decided = d0 + rng.integers(2, 15, n).astype("timedelta64[D]")
    started = decided + rng.integers(7, 29, n).astype("timedelta64[D]")
    ended = started + rng.integers(60, 241, n).astype("timedelta64[D]")
    events = [(np.ones(n, bool), status0, d0, ""),
              (offered, np.where(accepted, "accepted", "declined"), decided, ""),
              (offered & accepted, "started", started, ""),
              (offered & accepted, "ended", ended, (4 + rng.poisson(8, n)).astype(str))]
    parts = []
    for mask, status, date, dosage in events:
        keep = mask & (date <= reference)
        part = base[keep].assign(status=np.broadcast_to(status, n)[keep], date=_ymd(date[keep]),
                                 dosage=np.broadcast_to(np.asarray(dosage, dtype=object), n)[keep])
        parts.append(part)
    out = pd.concat(parts).sort_values(["offer_id", "date"], kind="stable", ignore_index=True)
    return out[["offer_id", "nhs_number", "upn", "person_token", "programme", "run_id", "route", "team", "status",
                "date", "override", "reason", "dosage", "recorded_by_role"]]


def area_files(helped: HelpCounty, cfg: SynthParams) -> dict[str, pd.DataFrame]:
    """``programmes.csv``, ``programme_rollout.csv``, ``recording_regime.csv``, ``unit_costs.csv``."""
    plan, brk = helped.areas, cfg.help.recording_break
    regime = pd.DataFrame([{
        "source": "social_care", "table": "cin_assessment", "field": "factors",
        "ward_code": plan.codes[plan.break_ward], "change_date": brk.start.isoformat(),
        "description": f"new domestic abuse screening question at assessment: factor {brk.code} recorded more "
                       "often in this ward from this date; no change in what happens to children",
    }])
    if brk.factor == 1:  # no break planted: the file says so by having no row
        regime = regime.iloc[:0]
    return {"programmes": pd.DataFrame(PROGRAMMES), "programme_rollout": plan.rollout(ROLLOUT_CAPACITY),
            "recording_regime": regime, "unit_costs": pd.DataFrame(UNIT_COSTS)}


def help_extracts(cfg: SynthParams, helped: HelpCounty, scores: pd.DataFrame, kids: pd.DataFrame,
                  pupils: pd.DataFrame) -> Iterator[tuple[str, str, object]]:
    """Yield ``("csv", rel, (frame, "utf-8"))`` for each interventions file and ``lsoa_ward.csv``."""
    rng = np.random.default_rng([cfg.seed, STREAM, 2])
    reference = np.datetime64(cfg.reference_date)
    list_runs, list_scores = list_files(rng, scores, helped.capacity, kids, pupils)
    yield "csv", "interventions/list_runs.csv", (list_runs, "utf-8")
    yield "csv", "interventions/list_scores.csv", (list_scores, "utf-8")
    yield "csv", "interventions/offers.csv", (offer_events(rng, scores, helped, reference, kids, pupils), "utf-8")
    for name, frame in area_files(helped, cfg).items():
        yield "csv", f"interventions/{name}.csv", (frame, "utf-8")
    yield "csv", "reference/lsoa_ward.csv", (helped.lsoa_ward, "utf-8")


__all__ = ["help_extracts", "run_id"]
