"""Children's social care extracts: case-management persons, SSDA903 returns, CIN census XML, early help."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.codes import (
    CARE_END_REASON,
    CARE_END_WEIGHTS,
    CIN_CLOSURE,
    CIN_CODE_WEIGHTS,
    CIN_CODES,
    CP_CATEGORY,
    CP_CATEGORY_WEIGHTS,
    LEGAL_STATUS,
    LEGAL_STATUS_WEIGHTS,
    PLACE_PROVIDER,
    PLACEMENT,
    PLACEMENT_WEIGHTS,
    REFERRAL_SOURCES,
)
from pipeline.synthetic.formatting import format_dates
from pipeline.synthetic.lifecourse import year_start
from pipeline.synthetic.records import postcode_at

DMY = "%d/%m/%Y"


def _dmy(values: np.ndarray) -> np.ndarray:
    return format_dates(values, DMY)


def csc_persons(
    rng: np.random.Generator,
    cfg: SynthParams,
    ids: pd.DataFrame,
    kids: pd.DataFrame,
    ident: pd.DataFrame,
    pupils: pd.DataFrame,
    addresses: pd.DataFrame,
    last_contact: pd.Series,
) -> pd.DataFrame:
    """The case-management person table: one row per child known to social care.

    Args:
        ids: person_id, la_child_id for every child known to social care.
        last_contact: date of last social-care contact by person_id (for the recorded postcode).
    """
    pid = ids["person_id"].to_numpy()
    kid = kids.set_index("person_id").reindex(pid)
    who = ident.set_index("person_id").reindex(pid)
    noise = cfg.identifier_noise
    nhs = np.where(rng.random(pid.size) < noise.nhs_missing_social_care, "", kid["nhs_number"].to_numpy(dtype=str))
    upn = pupils.set_index("person_id")["upn"].reindex(pid).fillna("").to_numpy(dtype=str)
    unknown = (upn == "") | (rng.random(pid.size) < noise.upn_missing_social_care)
    un_code = np.where(upn == "", "UN1", rng.choice(["UN2", "UN3", "UN4", "UN5", "UN6", "UN7"], pid.size))
    postcode = postcode_at(
        addresses, kid["household_id"].to_numpy(), last_contact.reindex(pid).to_numpy(), rng, noise.postcode_lag
    )
    return pd.DataFrame(
        {
            "LAchildID": ids["la_child_id"].to_numpy(),
            "Forename": who["forename"].to_numpy(),
            "Surname": who["surname"].to_numpy(),
            "DOB": _dmy(who["dob"].to_numpy()),
            "Sex": kid["sex"].to_numpy(),
            "NHSNumber": nhs,
            "UPN": np.where(unknown, un_code, upn),
            "Postcode": postcode,
            "Ethnicity": kid["ethnicity"].to_numpy(),
        }
    )


def care_episodes(rng: np.random.Generator, care: pd.DataFrame, reference: np.datetime64) -> pd.DataFrame:
    """Split each period of care into placement episodes (SSDA903 rows before formatting).

    Returns:
        person_id, period, decom, dec (NaT = open at the reference date), rne, ls, cin, place,
        provider, rec.
    """
    care = care[care["start"] <= reference].reset_index(drop=True)
    start = care["start"].to_numpy().astype("datetime64[D]")
    end = care["end"].to_numpy().astype("datetime64[D]")
    length = (end - start).astype(int)
    n_eps = 1 + np.minimum(rng.poisson(length / 500), 3)
    r = np.repeat(np.arange(len(care)), n_eps)
    pos = np.concatenate([np.arange(k) for k in n_eps])
    decom = start[r] + (length[r] * pos // n_eps[r]).astype("timedelta64[D]")
    dec = np.r_[decom[1:], decom[:1]]
    last = pos == n_eps[r] - 1
    dec = np.where(last, end[r], dec)
    dec = np.where(dec > reference, np.datetime64("NaT", "D"), dec)
    ls = rng.choice(LEGAL_STATUS, len(care), p=LEGAL_STATUS_WEIGHTS)[r]
    rec = np.where(last, rng.choice(CARE_END_REASON, r.size, p=CARE_END_WEIGHTS), "X1")
    rec = np.where(last & care["aged_out"].to_numpy()[r], "E17", rec)
    rec = np.where(np.isnat(dec), "", rec)
    return pd.DataFrame(
        {
            "person_id": care["person_id"].to_numpy()[r],
            "period": r,
            "decom": decom,
            "dec": dec,
            "rne": np.where(pos == 0, "S", "P"),
            "ls": ls,
            "cin": rng.choice(CIN_CODES, len(care), p=CIN_CODE_WEIGHTS)[r],
            "place": rng.choice(PLACEMENT, r.size, p=PLACEMENT_WEIGHTS),
            "provider": rng.choice(PLACE_PROVIDER, r.size),
            "rec": rec,
        }
    )


def ssda903_returns(
    rng: np.random.Generator,
    cfg: SynthParams,
    episodes: pd.DataFrame,
    persons: pd.DataFrame,
    ids: pd.DataFrame,
    kids: pd.DataFrame,
) -> dict[int, dict[str, pd.DataFrame]]:
    """SSDA903 header and episodes for each collection year (episodes open at any point in the year)."""
    la_id = ids.set_index("person_id")["la_child_id"]
    csc = persons.set_index("LAchildID")
    kid = kids.set_index("person_id")
    out = {}
    for year in range(cfg.first_social_care_year, cfg.reference_date.year + 1):
        ys, ye = year_start(year), year_start(year + 1)
        dec = episodes["dec"].to_numpy().astype("datetime64[D]")
        open_in = (episodes["decom"].to_numpy() < ye) & (np.isnat(dec) | (dec >= ys))
        ep = episodes[open_in]
        if ep.empty:
            continue
        dec_y = ep["dec"].to_numpy().astype("datetime64[D]")
        still_open = np.isnat(dec_y) | (dec_y >= ye)
        child = la_id.reindex(ep["person_id"]).to_numpy()
        episodes_out = pd.DataFrame(
            {
                "CHILD": child,
                "DECOM": _dmy(ep["decom"].to_numpy()),
                "RNE": ep["rne"].to_numpy(),
                "LS": ep["ls"].to_numpy(),
                "CIN": ep["cin"].to_numpy(),
                "PLACE": ep["place"].to_numpy(),
                "PLACE_PROVIDER": ep["provider"].to_numpy(),
                "DEC": np.where(still_open, "", _dmy(dec_y)),
                "REC": np.where(still_open, "", ep["rec"].to_numpy()),
                "REASON_PLACE_CHANGE": np.where(ep["rec"].to_numpy() == "X1", "CARPL", ""),
                "HOME_POST": "",
                "PL_POST": "",
                "URN": "SC" + pd.Series(rng.integers(100000, 999999, len(ep))).astype(str),
            }
        )
        pids = ep["person_id"].unique()
        sex = kid["sex"].reindex(pids).to_numpy()
        sex = np.where(sex == "M", "1", "2") if year <= 2024 else sex
        cids = la_id.reindex(pids).to_numpy()
        header = pd.DataFrame(
            {
                "CHILD": cids,
                "SEX": sex,
                "DOB": csc["DOB"].reindex(cids).to_numpy(),
                "ETHNIC": kid["ethnicity"].reindex(pids).to_numpy(),
                "UPN": csc["UPN"].reindex(cids).to_numpy(),
                "MOTHER": "",
                "MC_DOB": "",
            }
        )
        out[year] = {"header": header, "episodes": episodes_out}
    return out


FACTOR_RULES = (("dv", "3B", 0.75, 0.03), ("mh", "4B", 0.7, 0.04), ("sub", "1B", 0.45, 0.02), ("sub", "2B", 0.45, 0.02))


def assessment_factors(rng: np.random.Generator, refs: pd.DataFrame) -> np.ndarray:
    """Factors identified at assessment, ';'-joined, from the household's true adversity (with noise)."""
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
    section47, cp_plans), holding only what had happened by the reference date."""
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


def early_help_records(rng: np.random.Generator, cfg: SynthParams, eh: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
    """Early help episodes in riskpipe's documented format (ISO dates)."""
    ref = np.datetime64(cfg.reference_date)
    eh = eh[eh["start"] <= ref].reset_index(drop=True)
    end = eh["end"].to_numpy()
    open_ = end > ref
    return pd.DataFrame(
        {
            "EHEpisodeID": np.char.add("EH", np.char.zfill(np.arange(1, len(eh) + 1).astype(str), 7)),
            "LAchildID": ids.set_index("person_id")["la_child_id"].reindex(eh["person_id"]).to_numpy(),
            "StartDate": format_dates(eh["start"], "%Y-%m-%d"),
            "EndDate": np.where(open_, "", format_dates(end, "%Y-%m-%d")),
            "ReferralSource": rng.choice(
                ["school", "health", "police", "family", "other"], len(eh), p=[0.4, 0.2, 0.15, 0.15, 0.1]
            ),
            "LeadAgency": rng.choice(["school", "family_hub", "health_visitor", "youth_service"], len(eh)),
            "ClosureReason": np.where(
                open_,
                "",
                rng.choice(
                    ["STEPDOWN", "ESCALATED", "DISENGAGED", "NEEDS_MET", "MOVED"],
                    len(eh),
                    p=[0.2, 0.15, 0.15, 0.45, 0.05],
                ),
            ),
        }
    )
