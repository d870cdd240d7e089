"""The spring school census as councils receive it: six linked tables per census year.

Every table carries ``pupilonrolltableid`` (a hex row id of the pupil-year) and ``NativeId``
(LA + establishment), dates as "2019-Jan-17 00:00:00" and numbers as text, like the MIS extracts.
The tables are drawn for all years at once, in a fixed order (the order is part of the output:
the same seed gives the same county only if it never changes), then split by census year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.codes import EXCLUSION_REASONS, SEN_TYPES
from pipeline.synthetic.formatting import format_dates, hex_ids
from pipeline.synthetic.records import postcode_at

CENSUS_DATE_FORMAT = "%Y-%b-%d 00:00:00"
LANGUAGE = {"White": "ENG", "Mixed": "ENG", "Asian": "URD", "Black": "ENG", "Other": "ARA"}


def census_dates(values) -> np.ndarray:
    """Dates in the census extract's text format ('' where missing)."""
    return format_dates(values, CENSUS_DATE_FORMAT)


def school_census_tables(
    rng: np.random.Generator,
    cfg: SynthParams,
    years: pd.DataFrame,
    kids: pd.DataFrame,
    hh: pd.DataFrame,
    pupils: pd.DataFrame,
    school: np.ndarray,
    addresses: pd.DataFrame,
) -> dict[int, dict[str, pd.DataFrame]]:
    """The six census tables for every spring census from ``cfg.first_census_year``.

    Args:
        years: lifecourse.school_years (one row per pupil per census).
        pupils: from build_pupil_identities.
        school: establishment per row of ``years`` (from assign_schools).

    Returns:
        census year -> table name (pupilonroll, termlysessiondetailsonroll, termlyexclusionsonroll,
        fsmperiod, senneeds, addresses) -> frame.
    """
    keep = years["census_year"].to_numpy() >= cfg.first_census_year
    yrs = years[keep].reset_index(drop=True)
    sch = school[keep]
    p = pupils.set_index("person_id").reindex(yrs["person_id"])
    kid = kids.set_index("person_id").reindex(yrs["person_id"])
    row_id = hex_ids(rng, len(yrs))
    native = np.char.add("885", sch.astype(str))
    senprov = np.where(yrs["ehcp"], "E", np.where(yrs["sen_support"], "K", "N"))
    pupil, possible = _pupils_on_roll(rng, yrs, sch, p, kid, row_id, native, senprov)
    frames = {
        "pupilonroll": pupil,
        "termlysessiondetailsonroll": _attendance(rng, yrs, possible, row_id, native),
        "termlyexclusionsonroll": _exclusions(rng, yrs, row_id, native, senprov),
        "fsmperiod": _fsm_periods(rng, yrs, row_id, native),
        "senneeds": _sen_needs(rng, cfg, yrs, len(kids), row_id, native, senprov),
        "addresses": _addresses(rng, cfg, yrs, kid, addresses, row_id, native),
    }
    tables: dict[int, dict[str, pd.DataFrame]] = {}
    year_of_row = yrs["census_year"].to_numpy()
    for name, frame in frames.items():
        row_year = pd.Series(year_of_row, index=row_id).reindex(frame["pupilonrolltableid"]).to_numpy()
        for y in np.unique(year_of_row):
            tables.setdefault(int(y), {})[name] = frame[row_year == y].reset_index(drop=True)
    return tables


def _pupils_on_roll(
    rng: np.random.Generator,
    yrs: pd.DataFrame,
    sch: np.ndarray,
    p: pd.DataFrame,
    kid: pd.DataFrame,
    row_id: np.ndarray,
    native: np.ndarray,
    senprov: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The pupilonroll table (one row per pupil-year) and the sessions possible of each row.

    The UPN of a pupil's first census is the temporary one where they had one; later censuses
    carry it as ``formerupn``. A pupil who changed school entered it during the year before.
    """
    n = len(yrs)
    is_first = yrs["census_year"].to_numpy() == p["first_year"].to_numpy()
    temp = p["temp_upn"].to_numpy(dtype=str)
    upn = np.where(is_first & (temp != ""), temp, p["upn"].to_numpy(dtype=str))
    former = np.where(~is_first & (temp != ""), temp, "")
    prev_school = pd.Series(sch).groupby(yrs["person_id"].to_numpy()).shift(1).to_numpy()
    moved = ~pd.isna(prev_school) & (prev_school != sch)
    entry = np.where(
        moved | is_first,
        yrs["census_date"].to_numpy().astype("datetime64[D]") - rng.integers(20, 330, n).astype("timedelta64[D]"),
        kid["dob"].to_numpy().astype("datetime64[D]") + np.timedelta64(4 * 365 + 200, "D"),
    )
    nc = yrs["nc_age"].to_numpy().astype(int) - 4
    possible = rng.integers(136, 147, n)
    group = kid["ethnicity_group"].to_numpy()
    pupil = pd.DataFrame(
        {
            "pupilonrolltableid": row_id,
            "NativeId": native,
            "dob": census_dates(p["dob"].to_numpy()),
            "surname": p["surname"].to_numpy(),
            "forename": p["forename"].to_numpy(),
            "middlenames": kid["middlenames"].to_numpy(),
            "preferredsurname": "",
            "formersurname": "",
            "upn": upn,
            "formerupn": former,
            "sex": kid["sex"].to_numpy(),
            "entrydate": census_dates(entry),
            "termlysessionspossible": possible.astype(str),
            "ethnicity": kid["ethnicity"].to_numpy(),
            "language": pd.Series(group).map(LANGUAGE).to_numpy(),
            "enrolstatus": "C",
            "senprovision": senprov,
            "ncyearactual": np.where(nc == 0, "R", nc.astype(str)),
        }
    )
    return pupil, possible


def _attendance(
    rng: np.random.Generator, yrs: pd.DataFrame, possible: np.ndarray, row_id: np.ndarray, native: np.ndarray
) -> pd.DataFrame:
    """termlysessiondetailsonroll: absent sessions by reason (I, M, C authorised; O, U unauthorised)."""
    absent = rng.binomial(possible, yrs["absence_rate"].to_numpy())
    unauth = rng.binomial(absent, yrs["unauth_share"].to_numpy())
    auth = absent - unauth
    illness = rng.binomial(auth, 0.7)
    medical = rng.binomial(auth - illness, 0.4)
    other_auth = auth - illness - medical
    late = rng.binomial(unauth, 0.15)
    sessions = {"I": illness, "M": medical, "C": other_auth, "O": unauth - late, "U": late}
    att = []
    for code, count in sessions.items():
        has = count > 0
        att.append(pd.DataFrame({"row": np.flatnonzero(has), "sessions": count[has], "attendancereason": code}))
    att = pd.concat(att, ignore_index=True).sort_values("row", kind="stable")
    return pd.DataFrame(
        {
            "pupilonrolltableid": row_id[att["row"]],
            "NativeId": native[att["row"]],
            "termlysessiondetailsonrolltableid": hex_ids(rng, len(att), 8),
            "sessions": att["sessions"].astype(float).map("{:.1f}".format).to_numpy(),
            "attendancereason": att["attendancereason"].to_numpy(),
        }
    )


def _exclusions(
    rng: np.random.Generator, yrs: pd.DataFrame, row_id: np.ndarray, native: np.ndarray, senprov: np.ndarray
) -> pd.DataFrame:
    """termlyexclusionsonroll: one row per suspension (FIXD), the last a permanent exclusion (PERM)."""
    n = len(yrs)
    susp = yrs["suspensions"].to_numpy().astype(int) + yrs["perm_excluded"].to_numpy().astype(int)
    er = np.repeat(np.arange(n), susp)
    is_perm = np.zeros(er.size, dtype=bool)
    last_of = np.r_[er[1:] != er[:-1], True] if er.size else is_perm
    is_perm = last_of & yrs["perm_excluded"].to_numpy()[er]
    start = yrs["census_date"].to_numpy().astype("datetime64[D]")[er] - rng.integers(1, 365, er.size).astype(
        "timedelta64[D]"
    )
    return pd.DataFrame(
        {
            "pupilonrolltableid": row_id[er],
            "NativeId": native[er],
            "termlyexclusionsonrolltableid": hex_ids(rng, er.size, 8),
            "startdate": census_dates(start),
            "sessions": np.where(is_perm, 0, rng.integers(1, 11, er.size)).astype(float).astype(str),
            "reason1": rng.choice(EXCLUSION_REASONS, er.size),
            "reason2": "",
            "reason3": "",
            "category": np.where(is_perm, "PERM", "FIXD"),
            "senprovision": senprov[er],
        }
    )


def _fsm_periods(rng: np.random.Generator, yrs: pd.DataFrame, row_id: np.ndarray, native: np.ndarray) -> pd.DataFrame:
    """fsmperiod: current free-school-meal spells (open) and spells ended since the last census."""
    fsm_rows = []
    for col, ended in (("fsm_since", False), ("fsm_ended_since", True)):
        s = yrs[col].to_numpy().astype("datetime64[D]")
        has = ~np.isnat(s)
        r = np.flatnonzero(has)
        end = (
            (
                yrs["census_date"].to_numpy().astype("datetime64[D]")[r]
                - rng.integers(10, 120, r.size).astype("timedelta64[D]")
            )
            if ended
            else np.full(r.size, np.datetime64("NaT", "D"))
        )
        fsm_rows.append(pd.DataFrame({"row": r, "start": s[r], "end": end}))
    fsm = pd.concat(fsm_rows, ignore_index=True).sort_values("row", kind="stable")
    return pd.DataFrame(
        {
            "pupilonrolltableid": row_id[fsm["row"]],
            "NativeId": native[fsm["row"]],
            "fsmperiodtableid": hex_ids(rng, len(fsm), 8),
            "fsmstartdate": census_dates(fsm["start"].to_numpy()),
            "fsmenddate": census_dates(fsm["end"].to_numpy()),
        }
    )


def _sen_needs(
    rng: np.random.Generator,
    cfg: SynthParams,
    yrs: pd.DataFrame,
    n_children: int,
    row_id: np.ndarray,
    native: np.ndarray,
    senprov: np.ndarray,
) -> pd.DataFrame:
    """senneeds: one or two ranked needs per pupil-year with SEN provision (E or K)."""
    sen_r = np.flatnonzero(senprov != "N")
    n_needs = 1 + (rng.random(sen_r.size) < 0.3)
    sr = np.repeat(sen_r, n_needs)
    rank = np.concatenate([np.arange(1, k + 1) for k in n_needs]) if sen_r.size else np.array([], dtype=int)
    # a pupil's primary need is the same every year: draw it from a generator of its own
    person_type = np.random.default_rng(cfg.seed + 1).choice(
        SEN_TYPES, p=[0.14, 0.18, 0.03, 0.01, 0.22, 0.19, 0.02, 0.01, 0.005, 0.025, 0.14, 0.03], size=n_children
    )
    sentype = np.where(rank == 1, person_type[yrs["person_id"].to_numpy()[sr]], rng.choice(SEN_TYPES, sr.size))
    return pd.DataFrame(
        {
            "pupilonrolltableid": row_id[sr],
            "NativeId": native[sr],
            "senneedstableid": hex_ids(rng, sr.size, 8),
            "sentyperank": rank.astype(float).astype(str),
            "sentype": sentype,
        }
    )


def _addresses(
    rng: np.random.Generator,
    cfg: SynthParams,
    yrs: pd.DataFrame,
    kid: pd.DataFrame,
    addresses: pd.DataFrame,
    row_id: np.ndarray,
    native: np.ndarray,
) -> pd.DataFrame:
    """addresses: the postcode the school held at each census (sometimes the one before a move)."""
    hid = kid["household_id"].to_numpy()
    postcode = postcode_at(addresses, hid, yrs["census_date"].to_numpy(), rng, cfg.identifier_noise.postcode_lag,
                           noise=cfg.identifier_noise)
    return pd.DataFrame(
        {
            "pupilonrolltableid": row_id,
            "NativeId": native,
            "addresstableid": hex_ids(rng, len(yrs), 8),
            "postcode": postcode,
        }
    )
