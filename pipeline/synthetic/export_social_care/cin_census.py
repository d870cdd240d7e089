"""The CIN census: per collection year, the flat tables the CIN XML writer (``cin_xml``) takes.

Only what had happened by the reference date is held: referrals after it are dropped, and
closures, authorisations and plan ends after it are blank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.codes import CIN_CLOSURE, CP_CATEGORY, CP_CATEGORY_WEIGHTS, REFERRAL_SOURCES
from pipeline.synthetic.export_social_care.case_records import DMY
from pipeline.synthetic.lifecourse.calendar import year_start

FACTOR_RULES = (("dv", "3B", 0.75, 0.03), ("mh", "4B", 0.7, 0.04), ("sub", "1B", 0.45, 0.02), ("sub", "2B", 0.45, 0.02))
"""(adversity column, factor code, chance recorded when present, chance recorded when absent)."""


def assessment_factors(rng: np.random.Generator, refs: pd.DataFrame) -> np.ndarray:
    """Factors identified at assessment, ';'-joined, from the household's true adversity (with noise).

    Args:
        refs: dv, mh, sub (bool), age, need, poverty per referral.
    """
    parts = []
    for col, code, p_yes, p_no in FACTOR_RULES:
        hit = rng.random(len(refs)) < np.where(refs[col].to_numpy(), p_yes, p_no)
        parts.append(np.where(hit, code, ""))
    teen = refs["age"].to_numpy() >= 12
    need = refs["need"].to_numpy()
    for code, cond in (
        ("4A", teen & (rng.random(len(refs)) < 0.1 + 0.1 * (need > 2))),
        ("16A", rng.random(len(refs)) < 0.12 + 0.08 * (refs["poverty"].to_numpy() > 1)),
        ("17A", rng.random(len(refs)) < 0.12),
        ("18B", rng.random(len(refs)) < 0.05),
        ("14A", teen & (rng.random(len(refs)) < 0.08)),
        ("10A", teen & (rng.random(len(refs)) < 0.04)),
    ):
        parts.append(np.where(cond, code, ""))
    joined = np.zeros(len(refs), dtype="<U64")
    for part in parts:
        sep = np.where((joined != "") & (part != ""), ";", "")
        joined = np.strings.add(np.strings.add(joined, sep), part.astype("<U4"))
    return np.where(joined == "", "21", joined)


def cin_census_frames(
    rng: np.random.Generator,
    cfg: SynthParams,
    referrals: pd.DataFrame,
    cp_plans: pd.DataFrame,
    persons: pd.DataFrame,
    ids: pd.DataFrame,
    kids: pd.DataFrame,
) -> dict[int, dict[str, pd.DataFrame]]:
    """Per collection year, the frames the CIN XML writer takes (children, episodes, assessments,
    section47, cp_plans), holding only what had happened by the reference date.

    Args:
        referrals, cp_plans: ``LifeCourse.referrals`` and ``LifeCourse.cp_plans``.
        persons: the case-management person table (``case_records.csc_persons``).
        ids: person_id, la_child_id.
        kids: person_id, sex, ethnicity.
    """
    ref = np.datetime64(cfg.reference_date)
    # two referrals of one child on one day are one referral in a case-management system
    refs = (
        referrals[referrals["referral_date"] <= ref]
        .drop_duplicates(["person_id", "referral_date"])
        .reset_index(drop=True)
    )
    refs["factors"] = assessment_factors(rng, refs)
    refs["source"] = rng.choice(REFERRAL_SOURCES, len(refs))
    refs["primary_need"] = np.where(
        refs["dv"] | refs["sub"] | refs["mh"],
        "N1",
        rng.choice(["N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"], len(refs)),
    )
    refs["closure_reason"] = rng.choice(CIN_CLOSURE, len(refs))
    cps = cp_plans[(cp_plans["cpp_start"] <= ref) & cp_plans["referral_id"].isin(refs["referral_id"])].copy()
    cps["category"] = rng.choice(CP_CATEGORY, len(cps), p=CP_CATEGORY_WEIGHTS)
    la_id = ids.set_index("person_id")["la_child_id"]
    csc = persons.set_index("LAchildID")
    kid = kids.set_index("person_id")
    out = {}
    for year in range(cfg.first_social_care_year, cfg.reference_date.year + 1):
        ys, ye = year_start(year), year_start(year + 1)
        closure = refs["closure_date"].to_numpy()
        sel = (refs["referral_date"].to_numpy() < ye) & (closure >= ys)
        r = refs[sel]
        if r.empty:
            continue
        closed = (r["closure_date"].to_numpy() < ye) & (r["closure_date"].to_numpy() <= ref)
        cids = la_id.reindex(r["person_id"]).to_numpy()
        episodes = pd.DataFrame(
            {
                "la_child_id": cids,
                "episode_id": r["referral_id"].to_numpy(),
                "referral_date": r["referral_date"].to_numpy(),
                "referral_source": r["source"].to_numpy(),
                "primary_need": r["primary_need"].to_numpy(),
                "closure_date": np.where(closed, r["closure_date"].to_numpy(), np.datetime64("NaT", "D")),
                "closure_reason": np.where(closed, r["closure_reason"].to_numpy(), None),
                "referral_nfa": r["nfa"].to_numpy(),
            }
        )
        assessed = r[~r["nfa"].to_numpy() & (r["assessment_start"].to_numpy() <= min(ye, ref))]
        auth = assessed["assessment_auth"].to_numpy()
        assessments = pd.DataFrame(
            {
                "episode_id": assessed["referral_id"].to_numpy(),
                "start_date": assessed["assessment_start"].to_numpy(),
                "authorisation_date": np.where(auth <= ref, auth, np.datetime64("NaT", "D")),
                "factors": assessed["factors"].to_numpy(),
            }
        )
        s47 = assessed[assessed["s47"].to_numpy()]
        plans = cps[cps["referral_id"].isin(r["referral_id"])]
        has_cp = s47["referral_id"].isin(plans["referral_id"]).to_numpy()
        section47 = pd.DataFrame(
            {
                "episode_id": s47["referral_id"].to_numpy(),
                "start_date": s47["assessment_start"].to_numpy(),
                "icpc_date": np.where(
                    has_cp, s47["assessment_start"].to_numpy() + np.timedelta64(12, "D"), np.datetime64("NaT", "D")
                ),
                "icpc_not_required": ~has_cp,
            }
        )
        plan_end = plans["cpp_end"].to_numpy()
        cp_frame = pd.DataFrame(
            {
                "episode_id": plans["referral_id"].to_numpy(),
                "start_date": plans["cpp_start"].to_numpy(),
                "end_date": np.where((plan_end < ye) & (plan_end <= ref), plan_end, np.datetime64("NaT", "D")),
                "initial_category": plans["category"].to_numpy(),
                "latest_category": plans["category"].to_numpy(),
                "number_previous": np.zeros(len(plans), dtype=int),
            }
        )
        pids = r["person_id"].unique()
        c_ids = la_id.reindex(pids).to_numpy()
        upn = csc["UPN"].reindex(c_ids).to_numpy(dtype=str)
        is_un = pd.Series(upn).str.startswith("UN").to_numpy()
        children = pd.DataFrame(
            {
                "la_child_id": c_ids,
                "upn": np.where(is_un, None, upn),
                "former_upn": None,
                "upn_unknown": np.where(is_un, upn, None),
                "dob": pd.to_datetime(csc["DOB"].reindex(c_ids), format=DMY).to_numpy(),
                "sex": kid["sex"].reindex(pids).to_numpy(),
                "ethnicity": kid["ethnicity"].reindex(pids).to_numpy(),
                "disabilities": "",
                "death_date": np.datetime64("NaT", "D"),
            }
        )
        out[year] = {
            "children": children,
            "episodes": episodes,
            "assessments": assessments,
            "section47": section47,
            "cp_plans": cp_frame,
        }
    return out
