"""NCCIS: the activity (education, employment, training, NEET or not known) of 16 and 17 year olds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.codes import NCCIS_EDUCATION, NCCIS_EMPLOYMENT, NCCIS_NEET, NCCIS_NOT_KNOWN, NCCIS_TRAINING
from pipeline.synthetic.formatting import format_dates
from pipeline.synthetic.records import postcode_at


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

    Args:
        kids: person_id, household_id, dob, sex, ethnicity_group, arrive_date, leave_date.
        neet: person_id, outcome (``LifeCourse.neet_truth``): who is NEET at some point.
        pupils: person_id, upn.
        ident: person_id, forename, surname, dob as the NCCIS recorded them.
        addresses: from ``records.address_history``.

    Returns:
        (records in NCCIS format: CCIS_ID, UPN, Forename, Surname, DOB, Gender, Postcode,
        ActivityCode, ActivityStartDate, DateAscertained, AcademicAge; key map person_id ->
        record_key (CCIS_ID) for the ground truth).
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
        addresses, kids["household_id"].to_numpy()[idx], start16[idx], rng, cfg.identifier_noise.postcode_lag,
        noise=cfg.identifier_noise,
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
                np.minimum(begin + rng.integers(0, 30, sp.size).astype("timedelta64[D]"), ref), "%d/%m/%Y"
            ),
            "AcademicAge": acad_age.astype(str),
        }
    )
    return records, pd.DataFrame({"person_id": pid, "record_key": ccis})
