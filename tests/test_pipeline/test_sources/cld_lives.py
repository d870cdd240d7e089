"""Small hand-made adults' true lives (the AdultLives contract) for the adult social care tests.

Each of ``n`` people has a request; most go on to an assessment and a service (long-term residential,
nursing or community support, or reablement), some ended, some open, and a review a year in. Every
fifth has a carer with an assessment and support of their own (linked to them); every seventh has a
carer the council knows nothing of directly (a candidate carer known by association).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.adults import AdultLives
from pipeline.synthetic.identities.identifiers import nhs_numbers

SERVICES = (  # (service type as H5 may write it, component)
    ("Long Term Support: Residential Care", "Long Term Residential Care"),
    ("Long term support: Nursing care", "Long Term Nursing Care"),
    ("Long Term Support: Community", "Home Support"),
    ("Short Term Support: ST-Max", "Reablement"),
)
NAT = pd.NaT


def _event(pid, kind, start, end, **fields) -> dict:
    base = {"person_id": pid, "event_type": kind, "start": start, "end": end, "client_type": "Service user",
            "primary_support_reason": "Physical Support: Personal care support", "route_of_access": "",
            "assessment_type": "", "service_type": "", "service_component": "", "delivery_mechanism": "",
            "unit_cost": np.nan, "planned_units_per_week": np.nan, "outcome": "", "review_reason": "",
            "hours_caring": np.nan, "linked_person_id": -1}
    return base | fields


def person_events(rng: np.random.Generator, pid: int) -> list[dict]:
    """One service user's true events: request, then maybe assessment, service and review."""
    request = pd.Timestamp("2022-09-01") + pd.Timedelta(days=int(rng.integers(0, 1250)))
    self_funded = rng.random() < 0.1
    outcome = "NFA - Self-funded client (inc. 12wk disregard)" if self_funded else "Progress to Assessment"
    out = [_event(pid, "Request", request, request + pd.Timedelta(days=7), route_of_access="Community",
                  outcome=outcome)]
    if self_funded:
        return out
    assess = request + pd.Timedelta(days=14)
    out.append(_event(pid, "Assessment", assess, assess + pd.Timedelta(days=20),
                      assessment_type="Long term assessment", outcome="Progress to support planning or services"))
    service_type, component = SERVICES[int(rng.integers(0, len(SERVICES)))]
    start = assess + pd.Timedelta(days=30)
    end = NAT if rng.random() < 0.4 else start + pd.Timedelta(days=int(rng.integers(30, 700)))
    out.append(_event(pid, "Service", start, end, service_type=service_type, service_component=component,
                      delivery_mechanism="CASSR Commissioned Support", unit_cost=float(rng.integers(200, 1400)),
                      planned_units_per_week=1.0,
                      outcome="NFA - Support ended as planned" if end is not NAT else ""))
    if end is NAT or end - start > pd.Timedelta(days=400):
        review = start + pd.Timedelta(days=365)
        out.append(_event(pid, "Review", review, review, review_reason="Planned",
                          outcome="Continuation of support or services"))
    return out


def carer_events(pid: int, cared_for: int, start: pd.Timestamp) -> list[dict]:
    """A carer's assessment and direct support, linked to the person they care for."""
    carer = {"client_type": "Carer", "primary_support_reason": "Social Support: Support to Carer",
             "linked_person_id": cared_for, "hours_caring": 35.0}
    return [
        _event(pid, "Assessment", start, start + pd.Timedelta(days=10), assessment_type="Carer Assessment",
               outcome="Progress to support planning or services", **carer),
        _event(pid, "Service", start + pd.Timedelta(days=20), start + pd.Timedelta(days=20), **carer,
               service_type="Carer Support: Direct to Carer", service_component="Other Carer Support",
               delivery_mechanism="Direct Payment", unit_cost=300.0, planned_units_per_week=0.0,
               outcome="NFA - Support ended as planned"),
    ]


def small_lives(seed: int = 7, n: int = 120) -> AdultLives:
    """A county of ``n`` service users, their carers and unsupported carers (see the module docstring)."""
    rng = np.random.default_rng(seed)
    events, caring = [], []
    people_ids = list(range(1000, 1000 + n))
    next_id = 5000
    for pid in people_ids:
        mine = person_events(rng, pid)
        events += mine
        if pid % 5 == 0 or pid % 7 == 0:
            carer, next_id = next_id, next_id + 1
            caring.append({"carer_id": carer, "cared_for_id": pid, "start": pd.Timestamp("2015-01-01"), "end": NAT,
                           "hours_per_week": 50.0, "relationship": "parent"})
            if pid % 5 == 0:
                events += carer_events(carer, pid, pd.Timestamp("2024-05-01") + pd.Timedelta(days=pid % 300))
    everyone = np.array(people_ids + list(range(5000, next_id)))
    m = len(everyone)
    dob = pd.to_datetime("1935-01-01") + pd.to_timedelta(rng.integers(0, 365 * 60, m), unit="D")
    died = rng.random(m) < 0.15
    death = pd.Series(pd.to_datetime("2025-06-01") + pd.to_timedelta(rng.integers(0, 250, m), unit="D"))
    people = pd.DataFrame({
        "person_id": everyone.astype(np.int64), "household_id": everyone.astype(np.int64),
        "role": "older", "dob": dob, "sex": np.where(rng.random(m) < 0.55, "F", "M"),
        "ethnicity": rng.choice(["WBRI", "WOTH", "APKN", "BAFR", "MWBC"], m),
        "forename": rng.choice(["Margaret", "John", "Aisha", "Peter", "Grace"], m),
        "surname": rng.choice(["Smith", "Khan", "Okafor", "Jones", "Brown"], m),
        "nhs_number": nhs_numbers(rng, m), "arrive_date": pd.NaT, "leave_date": pd.NaT,
        "death_date": death.where(died), "death_cause_icd10": "", "death_place": "",
        "learning_disability": rng.random(m) < 0.05, "gp_practice": "M85001", "lsoa_code": "E01000001",
        "imd_decile": 5, "self_funder": False,
    })
    people["ethnicity_group"] = people["ethnicity"].str[0].map({"W": "White", "A": "Asian", "B": "Black",
                                                                 "M": "Mixed"})
    addresses = pd.DataFrame({
        "person_id": everyone.astype(np.int64), "uprn": [f"{100000000000 + i}" for i in range(m)],
        "postcode": [f"IP{1 + i % 30} {i % 10}AB" for i in range(m)], "lsoa_code": "E01000001",
        "start": pd.Timestamp("1990-01-01"), "end": pd.NaT,
    })
    asc = pd.DataFrame(events)
    asc.insert(1, "event_id", np.arange(len(asc), dtype=np.int64))
    empty = pd.DataFrame()
    return AdultLives(people=people, addresses=addresses, gp_registrations=empty, gp_events=empty,
                      medications=empty, admissions=empty, attendances=empty, outpatients=empty,
                      care_home_entries=empty, asc_events=asc, caring=pd.DataFrame(caring), adversity=empty)
