"""Base rates of the synthetic county, measured from its exports as a council would measure them.

Used by the tests (DOMAIN.md bands) and shown in the README; only the denominators (resident
under-18s) come from the simulated population. The whole population's rates (issue #17) are measured from
the adults' truth instead (``pipeline.synthetic.adults.truth_rates``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from lxml import etree

from pipeline.synthetic import County

NEET_CODES = {"540", "610", "615", "616", "619", "620", "630", "640", "650", "660", "670", "680"}
NOT_KNOWN = {"810", "820", "830"}


def resident_under_18(people: pd.DataFrame, when: pd.Timestamp) -> int:
    """Children living in the county and aged 0-17 on ``when``."""
    kids = people[people["role"] == "child"]
    age = (when - kids["dob"]).dt.days / 365.25
    return int(((kids["arrive_date"] <= when) & (kids["leave_date"] > when) & (age >= 0) & (age < 18)).sum())


def _cin_open_on(xml: bytes, when: pd.Timestamp) -> tuple[int, int]:
    """(children in need, children on a CP plan) on ``when`` from one CIN census return."""
    root = etree.fromstring(xml)
    cin = cp = 0
    for child in root.iter("Child"):
        open_ep = open_cp = False
        for det in child.iter("CINdetails"):
            ref = pd.Timestamp(det.findtext("CINreferralDate"))
            close = det.findtext("CINclosureDate")
            if ref <= when and (close is None or pd.Timestamp(close) > when):
                open_ep = True
            for plan in det.iter("ChildProtectionPlans"):
                start, end = plan.findtext("CPPstartDate"), plan.findtext("CPPendDate")
                if pd.Timestamp(start) <= when and (end is None or pd.Timestamp(end) > when):
                    open_cp = True
        cin += open_ep
        cp += open_cp
    return cin, cp


def measure_base_rates(county: County, year: int) -> dict[str, float]:
    """DOMAIN.md's base rates for the collection year ending 31 March ``year`` (census in January)."""
    when = pd.Timestamp(f"{year}-03-31")
    people = county.truth["people"]
    u18 = resident_under_18(people, when)
    header = county.csv[f"social_care/ssda903/{year}/header.csv"][0]
    eps = county.csv[f"social_care/ssda903/{year}/episodes.csv"][0]
    decom = pd.to_datetime(eps["DECOM"], format="%d/%m/%Y")
    lac = eps.loc[eps["DEC"] == "", "CHILD"].nunique()
    starts = eps[(eps["RNE"] == "S") & (decom > when - pd.Timedelta(days=365)) & (decom <= when)]
    cin, cp = _cin_open_on(county.xml[f"social_care/cin_census/cin_{year}.xml"], when)
    pre = f"education/school_census/{year}_spring_"
    pupils = county.csv[pre + "pupilonroll.csv"][0]
    n_pupils = len(pupils)
    fsm = county.csv[pre + "fsmperiod.csv"][0]
    sessions = county.csv[pre + "termlysessiondetailsonroll.csv"][0]
    absent = sessions.assign(s=sessions["sessions"].astype(float)).groupby("pupilonrolltableid")["s"].sum()
    possible = pupils.set_index("pupilonrolltableid")["termlysessionspossible"].astype(float)
    rate = absent.reindex(possible.index).fillna(0) / possible
    excl = county.csv[pre + "termlyexclusionsonroll.csv"][0]
    lac_children = header.merge(eps.loc[eps["DEC"] == "", ["CHILD"]].drop_duplicates(), on="CHILD")
    eth = (
        lac_children["ETHNIC"]
        .str[0]
        .map({"W": "White", "M": "Mixed", "A": "Asian", "B": "Black", "C": "Other", "O": "Other"})
    )
    return {
        "under_18": u18,
        "looked_after_per_10k": lac / u18 * 1e4,
        "entries_to_care_pct": len(starts["CHILD"].unique()) / u18 * 100,
        "children_in_need_per_10k": cin / u18 * 1e4,
        "cp_plans_per_10k": cp / u18 * 1e4,
        "fsm_pct": fsm.loc[fsm["fsmenddate"] == "", "pupilonrolltableid"].nunique() / n_pupils * 100,
        "ehcp_pct": (pupils["senprovision"] == "E").mean() * 100,
        "sen_support_pct": (pupils["senprovision"] == "K").mean() * 100,
        "persistent_absence_pct": (rate >= 0.10).mean() * 100,
        "suspensions_per_100": (excl["category"] == "FIXD").sum() / n_pupils * 100,
        "neet_or_not_known_16_17_pct": neet_or_not_known(county.csv["education/nccis.csv"][0], when) * 100,
        **{f"looked_after_{g.lower()}_pct": v * 100 for g, v in eth.value_counts(normalize=True).items()},
        "looked_after_male_pct": (
            header.set_index("CHILD")["SEX"].reindex(lac_children["CHILD"]).isin(["1", "M"]).mean() * 100
        ),
    }


def neet_or_not_known(nccis: pd.DataFrame, when: pd.Timestamp) -> float:
    """Share of 16-17 year olds tracked on ``when`` whose current activity is NEET or not known."""
    start = pd.to_datetime(nccis["ActivityStartDate"], format="%d/%m/%Y")
    dob = pd.to_datetime(nccis["DOB"], format="%d/%m/%Y", errors="coerce")
    cur = nccis.assign(start=start)[start <= when].sort_values("start").groupby("CCIS_ID").tail(1)
    age = (when - dob.reindex(cur.index)).dt.days / 365.25
    cur = cur[(age >= 16) & (age < 18)]
    return float(cur["ActivityCode"].isin(NEET_CODES | NOT_KNOWN).mean()) if len(cur) else float("nan")


def neet_gradient(county: County) -> dict[str, float]:
    """NEET-by-18 (true outcome) relative risk for SEND, FSM and care-experienced Year 9 pupils.

    Attributes come from the exports (Year 9 census SEN provision and open FSM period; any SSDA903
    episode before the census); the outcome and the record-to-person map from the ground truth.
    """
    truth = county.truth["outcome_neet18"]
    pmap = county.truth["person_map"]
    school = pmap[pmap["source"] == "school"].set_index("record_key")["person_id"]
    care_ids = pmap[pmap["source"] == "social_care"].set_index("record_key")["person_id"]
    starts = pd.concat([f for k, (f, _) in county.csv.items() if k.endswith("episodes.csv")])
    starts = starts.assign(
        person_id=care_ids.reindex(starts["CHILD"]).to_numpy(), decom=pd.to_datetime(starts["DECOM"], format="%d/%m/%Y")
    )
    first_care = starts.groupby("person_id")["decom"].min()
    rows = []
    for key, (pupils, _) in county.csv.items():
        if not key.endswith("_spring_pupilonroll.csv"):
            continue
        year = int(key.split("/")[-1][:4])
        fsm = county.csv[key.replace("pupilonroll", "fsmperiod")][0]
        y9 = pupils[pupils["ncyearactual"] == "9"]
        rows.append(
            pd.DataFrame(
                {
                    "person_id": school.reindex(y9["upn"]).to_numpy(),
                    "year": year,
                    "send": (y9["senprovision"] != "N").to_numpy(),
                    "fsm": y9["pupilonrolltableid"]
                    .isin(fsm.loc[fsm["fsmenddate"] == "", "pupilonrolltableid"])
                    .to_numpy(),
                }
            )
        )
    y9 = pd.concat(rows, ignore_index=True)
    truth = truth.assign(year=truth["index_date"].dt.year).merge(y9, on=["person_id", "year"])
    census = pd.to_datetime(truth["index_date"])
    truth["care"] = first_care.reindex(truth["person_id"]).to_numpy() < census.to_numpy()
    out = {"n": float(len(truth)), "prevalence": float(truth["outcome"].mean())}
    for col in ("send", "fsm", "care"):
        grp = truth.groupby(col)["outcome"].mean()
        out[f"{col}_ratio"] = float(grp.get(True, np.nan) / grp.get(False, np.nan))
    return out

