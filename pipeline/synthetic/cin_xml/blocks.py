"""The blocks of a CIN census return, each built for a whole table at once.

Every ``*_blocks`` function returns its table with a ``frag`` column (the block's XML text per
row) or, for children, the ``<Child>`` blocks themselves. Elements are written in exactly the order
the schemas' sequences require. Two things are derived, as a case system would:
``InitialCPCtarget`` (15 working days after the section 47 start) and, unless ``cp_plans`` carries
a ``review_dates`` column, the statutory review schedule of each CP plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.cin_xml.fragments import coded, element, nest, repeated, wrap, xml_dates, xml_text
from pipeline.synthetic.cin_xml.schemas import FIRST_SEX_YEAR

_GENDER_CURRENT = {"M": "1", "F": "2", "U": "0", "1": "1", "2": "2", "0": "0", "9": "9"}
_SEX = {"M": "M", "F": "F", "U": "U", "1": "M", "2": "F", "0": "U", "9": "U"}
_YES_NO = {True: "1", False: "0", "1": "1", "0": "0", "true": "1", "false": "0"}  # True == 1, False == 0


def assessment_blocks(assessments: pd.DataFrame) -> pd.DataFrame:
    a = assessments.copy()
    factors = wrap("FactorsIdentifiedAtAssessment", repeated("AssessmentFactors", a["factors"], 6), 5)
    review = a["internal_review_date"] if "internal_review_date" in a else pd.Series(pd.NaT, index=a.index)
    a["frag"] = wrap("Assessments", element("AssessmentActualStartDate", xml_dates(a["start_date"]), 5)
                     + element("AssessmentInternalReviewDate", xml_dates(review), 5)
                     + element("AssessmentAuthorisationDate", xml_dates(a["authorisation_date"]), 5)
                     + factors, 4)
    return a


def cin_plan_blocks(cin_plans: pd.DataFrame) -> pd.DataFrame:
    p = cin_plans.copy()
    p["frag"] = wrap("CINPlanDates", element("CINPlanStartDate", xml_dates(p["start_date"]), 5)
                     + element("CINPlanEndDate", xml_dates(p["end_date"]), 5), 4)
    return p


def section47_blocks(section47: pd.DataFrame) -> pd.DataFrame:
    s = section47.copy()
    start = pd.to_datetime(s["start_date"]).to_numpy().astype("datetime64[D]")
    target = pd.Series(np.busday_offset(start, 15, roll="forward"), index=s.index)
    s["frag"] = wrap("Section47", element("S47ActualStartDate", xml_dates(s["start_date"]), 5)
                     + element("InitialCPCtarget", xml_dates(target), 5)
                     + element("DateOfInitialCPC", xml_dates(s["icpc_date"]), 5)
                     + element("ICPCnotRequired", coded(s["icpc_not_required"], _YES_NO, "section47",
                                                        "icpc_not_required"), 5), 4)
    return s


def review_dates(cp_plans: pd.DataFrame, reference_date: np.datetime64) -> pd.Series:
    """';'-joined CP review dates: 3 months after the start, then every 6 months, before the end.

    The schedule runs up to the plan end or ``reference_date``, whichever is first.
    """
    if "review_dates" in cp_plans:
        return cp_plans["review_dates"]
    if cp_plans.empty:
        return pd.Series("", index=cp_plans.index, dtype=str)
    start = pd.to_datetime(cp_plans["start_date"]).to_numpy().astype("datetime64[D]")
    end = pd.to_datetime(cp_plans["end_date"]).to_numpy().astype("datetime64[D]")
    last = np.where(np.isnat(end) | (end > reference_date), reference_date, end)
    count = np.maximum((last - start).astype(np.int64) - 91, -1) // 182 + 1
    plan = np.repeat(np.arange(len(start)), count)
    k = np.arange(len(plan)) - np.repeat(np.r_[0, np.cumsum(count)[:-1]], count)
    dates = pd.Series(np.datetime_as_string(start[plan] + 91 + 182 * k, unit="D"), index=plan)
    joined = dates.groupby(level=0).agg(";".join)
    return pd.Series(joined.reindex(np.arange(len(start)), fill_value="").to_numpy(), index=cp_plans.index)


def cp_plan_blocks(cp_plans: pd.DataFrame, reference_date: np.datetime64) -> pd.DataFrame:
    c = cp_plans.copy()
    previous = c["number_previous"].astype("Int64").astype(str)
    reviews = wrap("Reviews", repeated("CPPreviewDate", review_dates(c, reference_date), 6), 5)
    c["frag"] = wrap("ChildProtectionPlans", element("CPPstartDate", xml_dates(c["start_date"]), 5)
                     + element("CPPendDate", xml_dates(c["end_date"]), 5)
                     + element("InitialCategoryOfAbuse", xml_text(c["initial_category"]), 5)
                     + element("LatestCategoryOfAbuse", xml_text(c["latest_category"]), 5)
                     + element("NumberOfPreviousCPP", previous, 5) + reviews, 4)
    return c


def episode_blocks(episodes: pd.DataFrame, assessments: pd.DataFrame, cin_plans: pd.DataFrame,
                   section47: pd.DataFrame, cp_plans: pd.DataFrame) -> pd.DataFrame:
    """``CINdetails`` per episode, with its assessments, plans and enquiries (their ``frag``) nested."""
    e = episodes.copy()
    ids = e["episode_id"]
    if ids.duplicated().any():
        raise ValueError("episodes: episode_id is not unique")
    first_icpc = section47.groupby("episode_id")["icpc_date"].min() if len(section47) else pd.Series()
    icpc = pd.Series(pd.to_datetime(ids.map(first_icpc)).to_numpy(), index=e.index)
    nfa = coded(e["referral_nfa"], _YES_NO, "episodes", "referral_nfa")
    e["frag"] = wrap("CINdetails", element("CINreferralDate", xml_dates(e["referral_date"]), 4)
                     + element("ReferralSource", xml_text(e["referral_source"]), 4)
                     + element("PrimaryNeedCode", xml_text(e["primary_need"]), 4)
                     + element("CINclosureDate", xml_dates(e["closure_date"]), 4)
                     + element("ReasonForClosure", xml_text(e["closure_reason"]), 4)
                     + element("DateOfInitialCPC", xml_dates(icpc), 4)
                     + nest(assessments, "episode_id", ids, "start_date")
                     + nest(cin_plans, "episode_id", ids, "start_date")
                     + nest(section47, "episode_id", ids, "start_date")
                     + element("ReferralNFA", nfa, 4)
                     + nest(cp_plans, "episode_id", ids, "start_date"), 3)
    return e


def child_blocks(children: pd.DataFrame, episodes: pd.DataFrame, year: int) -> pd.Series:
    """``<Child>`` blocks of the children with at least one episode (``episodes`` carries ``frag``)."""
    c = children.copy()
    ids = c["la_child_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError("children: la_child_id is not unique")
    if year >= FIRST_SEX_YEAR:
        sex = element("Sex", coded(c["sex"], _SEX, "children", "sex"), 4)
    else:
        sex = element("GenderCurrent", coded(c["sex"], _GENDER_CURRENT, "children", "sex"), 4)
    expected = c["expected_dob"] if "expected_dob" in c else pd.Series(pd.NaT, index=c.index)
    identifiers = (element("LAchildID", xml_text(c["la_child_id"]), 4)
                   + element("UPN", xml_text(c["upn"]), 4)
                   + element("FormerUPN", xml_text(c["former_upn"]), 4)
                   + element("UPNunknown", xml_text(c["upn_unknown"]), 4)
                   + element("PersonBirthDate", xml_dates(c["dob"]), 4)
                   + element("ExpectedPersonBirthDate", xml_dates(expected), 4)
                   + sex
                   + element("PersonDeathDate", xml_dates(c["death_date"]), 4))
    characteristics = (element("Ethnicity", xml_text(c["ethnicity"]), 4)
                       + wrap("Disabilities", repeated("Disability", c["disabilities"], 5), 4))
    ep = episodes.assign(la_child_id=episodes["la_child_id"].astype(str))
    details = nest(ep, "la_child_id", ids, "referral_date")
    return wrap("Child", wrap("ChildIdentifiers", identifiers, 3)
                + wrap("ChildCharacteristics", characteristics, 3) + details, 2)[details != ""]
