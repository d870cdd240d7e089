"""The SSDA903 return (children looked after): placement episodes and the yearly header and episodes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.codes import (
    CARE_END_REASON,
    CARE_END_WEIGHTS,
    CIN_CODE_WEIGHTS,
    CIN_CODES,
    LEGAL_STATUS,
    LEGAL_STATUS_WEIGHTS,
    PLACE_PROVIDER,
    PLACEMENT,
    PLACEMENT_WEIGHTS,
)
from pipeline.synthetic.export_social_care.case_records import DMY
from pipeline.synthetic.formatting import format_dates
from pipeline.synthetic.lifecourse.calendar import year_start


def care_episodes(rng: np.random.Generator, care: pd.DataFrame, reference: np.datetime64) -> pd.DataFrame:
    """Split each period of care into placement episodes (SSDA903 rows before formatting).

    Args:
        care: periods of care: person_id, start, end, aged_out (``LifeCourse.care``).

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
    """SSDA903 header and episodes for each collection year (episodes open at any point in the year).

    Args:
        episodes: from ``care_episodes``.
        persons: the case-management person table (``case_records.csc_persons``).
        ids: person_id, la_child_id.
        kids: person_id, sex, ethnicity.

    Returns:
        year -> {"header": CHILD, SEX, DOB, ETHNIC, UPN, MOTHER, MC_DOB; "episodes": CHILD, DECOM,
        RNE, LS, CIN, PLACE, PLACE_PROVIDER, DEC, REC, REASON_PLACE_CHANGE, HOME_POST, PL_POST, URN}.
    """
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
                "DECOM": format_dates(ep["decom"].to_numpy(), DMY),
                "RNE": ep["rne"].to_numpy(),
                "LS": ep["ls"].to_numpy(),
                "CIN": ep["cin"].to_numpy(),
                "PLACE": ep["place"].to_numpy(),
                "PLACE_PROVIDER": ep["provider"].to_numpy(),
                "DEC": np.where(still_open, "", format_dates(dec_y, DMY)),
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
