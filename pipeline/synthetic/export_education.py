"""School census tables, KS2 and NCCIS, as councils receive them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic import identities
from pipeline.synthetic.codes import (
    EXCLUSION_REASONS,
    NCCIS_EDUCATION,
    NCCIS_EMPLOYMENT,
    NCCIS_NEET,
    NCCIS_NOT_KNOWN,
    NCCIS_TRAINING,
    SEN_TYPES,
)
from pipeline.synthetic.formatting import format_dates, hex_ids
from pipeline.synthetic.records import postcode_at

CENSUS_DATE_FORMAT = "%Y-%b-%d 00:00:00"
LANGUAGE = {"White": "ENG", "Mixed": "ENG", "Asian": "URD", "Black": "ENG", "Other": "ARA"}


def census_dates(values) -> np.ndarray:
    return format_dates(values, CENSUS_DATE_FORMAT)


def assign_schools(kids: pd.DataFrame, hh: pd.DataFrame, years: pd.DataFrame) -> np.ndarray:
    """A 4-digit establishment number per pupil-year: primaries by neighbourhood, secondaries by district."""
    lsoa = hh["lsoa_code"].to_numpy()[kids["household_id"].to_numpy()[years["person_id"].to_numpy()]]
    lsoa_num = pd.Series(lsoa).str[-6:].astype(int).to_numpy()
    primary = 2000 + (lsoa_num // 7) % 1000
    secondary = 4000 + (lsoa_num // 60) % 500
    return np.where(years["nc_age"].to_numpy() >= 11, secondary, primary).astype(int)


def build_pupil_identities(
    rng: np.random.Generator, cfg: SynthParams, years: pd.DataFrame, school: np.ndarray, ident: pd.DataFrame
) -> pd.DataFrame:
    """Each pupil's UPN (temporary then permanent for some) and school-recorded identity.

    Returns:
        person_id, upn, temp_upn (or ''), forename, surname, dob.
    """
    first = years.assign(school=school).sort_values(["person_id", "census_year"]).drop_duplicates("person_id")
    upn = identities.upns(rng, "885", first["school"].to_numpy(), (first["census_year"].to_numpy() - 1) % 100)
    temp = identities.temporary_upns(
        rng, "885", first["school"].to_numpy(), (first["census_year"].to_numpy() - 1) % 100
    )
    has_temp = rng.random(len(first)) < cfg.identifier_noise.temporary_upn
    out = pd.DataFrame(
        {
            "person_id": first["person_id"].to_numpy(),
            "upn": upn,
            "temp_upn": np.where(has_temp, temp, ""),
            "first_year": first["census_year"].to_numpy(),
        }
    )
    return out.merge(ident, on="person_id", how="left")


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
    """
    keep = years["census_year"].to_numpy() >= cfg.first_census_year
    yrs = years[keep].reset_index(drop=True)
    sch = school[keep]
    p = pupils.set_index("person_id").reindex(yrs["person_id"])
    kid = kids.set_index("person_id").reindex(yrs["person_id"])
    n = len(yrs)
    row_id = hex_ids(rng, n)
    native = np.char.add("885", sch.astype(str))
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
    senprov = np.where(yrs["ehcp"], "E", np.where(yrs["sen_support"], "K", "N"))
    group = kid["ethnicity_group"].to_numpy()
    hid = kid["household_id"].to_numpy()
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
    attendance = pd.DataFrame(
        {
            "pupilonrolltableid": row_id[att["row"]],
            "NativeId": native[att["row"]],
            "termlysessiondetailsonrolltableid": hex_ids(rng, len(att), 8),
            "sessions": att["sessions"].astype(float).map("{:.1f}".format).to_numpy(),
            "attendancereason": att["attendancereason"].to_numpy(),
        }
    )
    susp = yrs["suspensions"].to_numpy().astype(int) + yrs["perm_excluded"].to_numpy().astype(int)
    er = np.repeat(np.arange(n), susp)
    is_perm = np.zeros(er.size, dtype=bool)
    last_of = np.r_[er[1:] != er[:-1], True] if er.size else is_perm
    is_perm = last_of & yrs["perm_excluded"].to_numpy()[er]
    start = yrs["census_date"].to_numpy().astype("datetime64[D]")[er] - rng.integers(1, 365, er.size).astype(
        "timedelta64[D]"
    )
    exclusions = pd.DataFrame(
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
    fsmperiod = pd.DataFrame(
        {
            "pupilonrolltableid": row_id[fsm["row"]],
            "NativeId": native[fsm["row"]],
            "fsmperiodtableid": hex_ids(rng, len(fsm), 8),
            "fsmstartdate": census_dates(fsm["start"].to_numpy()),
            "fsmenddate": census_dates(fsm["end"].to_numpy()),
        }
    )
    sen_r = np.flatnonzero(senprov != "N")
    n_needs = 1 + (rng.random(sen_r.size) < 0.3)
    sr = np.repeat(sen_r, n_needs)
    rank = np.concatenate([np.arange(1, k + 1) for k in n_needs]) if sen_r.size else np.array([], dtype=int)
    # a pupil's primary need is the same every year: draw it from a generator of its own
    person_type = np.random.default_rng(cfg.seed + 1).choice(
        SEN_TYPES, p=[0.14, 0.18, 0.03, 0.01, 0.22, 0.19, 0.02, 0.01, 0.005, 0.025, 0.14, 0.03], size=len(kids)
    )
    sentype = np.where(rank == 1, person_type[yrs["person_id"].to_numpy()[sr]], rng.choice(SEN_TYPES, sr.size))
    senneeds = pd.DataFrame(
        {
            "pupilonrolltableid": row_id[sr],
            "NativeId": native[sr],
            "senneedstableid": hex_ids(rng, sr.size, 8),
            "sentyperank": rank.astype(float).astype(str),
            "sentype": sentype,
        }
    )
    postcode = postcode_at(addresses, hid, yrs["census_date"].to_numpy(), rng, cfg.identifier_noise.postcode_lag)
    address = pd.DataFrame(
        {"pupilonrolltableid": row_id, "NativeId": native, "addresstableid": hex_ids(rng, n, 8), "postcode": postcode}
    )
    tables: dict[int, dict[str, pd.DataFrame]] = {}
    year_of_row = yrs["census_year"].to_numpy()
    for name, frame in (
        ("pupilonroll", pupil),
        ("termlysessiondetailsonroll", attendance),
        ("termlyexclusionsonroll", exclusions),
        ("fsmperiod", fsmperiod),
        ("senneeds", senneeds),
        ("addresses", address),
    ):
        row_year = pd.Series(year_of_row, index=row_id).reindex(frame["pupilonrolltableid"]).to_numpy()
        for y in np.unique(year_of_row):
            tables.setdefault(int(y), {})[name] = frame[row_year == y].reset_index(drop=True)
    return tables


def ks2_results(
    rng: np.random.Generator,
    years: pd.DataFrame,
    pupils: pd.DataFrame,
    engagement: np.ndarray,
    reference: np.datetime64,
) -> pd.DataFrame:
    """NPD-style KS2 scaled scores for pupils in Year 6 (none in 2020 and 2021: tests cancelled)."""
    y6 = years[(years["nc_age"] == 10) & ~years["census_year"].isin([2020, 2021])]
    y6 = y6[np.array([np.datetime64(f"{y}-07-01") for y in y6["census_year"]]) <= reference]
    eng = engagement[y6["person_id"].to_numpy()]
    sen = (y6["ehcp"] | y6["sen_support"]).to_numpy()
    base = 104 - 4.5 * eng - 5.0 * sen - 1.5 * y6["fsm"].to_numpy()
    read = np.clip(np.round(base + rng.normal(0, 5.5, len(y6))), 80, 120).astype(int).astype(str)
    mat = np.clip(np.round(base + rng.normal(0, 5.5, len(y6))), 80, 120).astype(int).astype(str)
    absent = rng.random(len(y6)) < 0.02 + 0.1 * y6["ehcp"].to_numpy()
    upn = pupils.set_index("person_id")["upn"].reindex(y6["person_id"]).to_numpy()
    yr = y6["census_year"].to_numpy()
    return pd.DataFrame(
        {
            "UPN": upn,
            "KS2_ACADYR": [f"{y - 1}/{y}" for y in yr],
            "KS2_READMRK": np.where(absent, "", read),
            "KS2_MATMRK": np.where(absent, "", mat),
        }
    )


def nccis_records(
    rng: np.random.Generator,
    cfg: SynthParams,
    kids: pd.DataFrame,
    neet: pd.DataFrame,
    pupils: pd.DataFrame,
    ident: pd.DataFrame,
    addresses: pd.DataFrame,
    hh: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NCCIS activity spells at academic age 16 and 17 for young people living in the county.

    Returns:
        (records in NCCIS format, key map person_id -> CCIS_ID for the ground truth).
    """
    ref = np.datetime64(cfg.reference_date)
    dob = kids["dob"].to_numpy().astype("datetime64[D]")
    born_y = dob.astype("datetime64[Y]").astype(int) + 1970
    after_aug = (dob - dob.astype("datetime64[Y]")).astype(int) >= 243
    start16 = ((born_y + 16 + after_aug) - 1970).astype("datetime64[Y]").astype("datetime64[D]") + np.timedelta64(
        243, "D"
    )
    present = (kids["arrive_date"].to_numpy() <= start16) & (kids["leave_date"].to_numpy() > start16) & (start16 <= ref)
    idx = np.flatnonzero(present)
    p_default = 0.05
    neet_map = neet.set_index("person_id")["outcome"]
    is_neet = neet_map.reindex(idx).to_numpy()
    missing = pd.isna(is_neet)
    is_neet = np.where(missing, rng.random(idx.size) < p_default, is_neet).astype(bool)
    bias = cfg.measurement_bias
    nk_mult = pd.Series(kids["ethnicity_group"].to_numpy()[idx]).map(bias.nccis_not_known_by_ethnicity).fillna(1.0)
    n_spells = rng.integers(2, 5, idx.size)
    sp = np.repeat(np.arange(idx.size), n_spells)
    pos = np.concatenate([np.arange(k) for k in n_spells])
    begin = (
        start16[idx][sp]
        + (pos * 730 // n_spells[sp]).astype("timedelta64[D]")
        + rng.integers(0, 40, sp.size).astype("timedelta64[D]")
    )
    neet_spell = is_neet[sp] & (pos == rng.integers(0, 4, idx.size)[sp] % n_spells[sp])
    eet = np.concatenate([NCCIS_EDUCATION * 3, NCCIS_EMPLOYMENT, NCCIS_TRAINING])
    code = np.where(neet_spell, rng.choice(NCCIS_NEET, sp.size), rng.choice(eet, sp.size))
    not_known = rng.random(sp.size) < bias.nccis_not_known_base * nk_mult.to_numpy()[sp] * np.where(is_neet[sp], 3, 1)
    code = np.where(not_known & ~neet_spell, rng.choice(NCCIS_NOT_KNOWN, sp.size), code)
    keep = begin <= ref
    sp, begin, code, pos = sp[keep], begin[keep], code[keep], pos[keep]
    pid = kids["person_id"].to_numpy()[idx]
    ccis = np.char.add("C", np.char.zfill(rng.choice(10**7, idx.size, replace=False).astype(str), 7))
    upn = pupils.set_index("person_id")["upn"].reindex(pid).fillna("").to_numpy(dtype=str)
    upn = np.where(rng.random(idx.size) < 0.06, "", upn)
    who = ident.set_index("person_id").reindex(pid)
    postcode = postcode_at(
        addresses, kids["household_id"].to_numpy()[idx], start16[idx], rng, cfg.identifier_noise.postcode_lag
    )
    acad_age = np.where(begin >= start16[idx][sp] + np.timedelta64(365, "D"), 17, 16)
    records = pd.DataFrame(
        {
            "CCIS_ID": ccis[sp],
            "UPN": upn[sp],
            "Forename": who["forename"].to_numpy()[sp],
            "Surname": who["surname"].to_numpy()[sp],
            "DOB": format_dates(who["dob"].to_numpy()[sp], "%d/%m/%Y"),
            "Gender": kids["sex"].to_numpy()[idx][sp],
            "Postcode": postcode[sp],
            "ActivityCode": code,
            "ActivityStartDate": format_dates(begin, "%d/%m/%Y"),
            "DateAscertained": format_dates(
                np.minimum(begin + rng.integers(0, 30, sp.size).astype("timedelta64[D]"), ref)
            , "%d/%m/%Y"),
            "AcademicAge": acad_age.astype(str),
        }
    )
    return records, pd.DataFrame({"person_id": pid, "record_key": ccis})
