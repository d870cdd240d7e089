"""The case-management person table: one row per child known to children's social care.

Case-management systems write dates day/month/year (``DMY``); the SSDA903 and CIN census exports
read the recorded date of birth and UPN from this table, as a council's returns do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.formatting import format_dates
from pipeline.synthetic.records import group_error_factor, postcode_at

DMY = "%d/%m/%Y"


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
        kids: person_id, household_id, nhs_number, sex, ethnicity.
        ident: person_id, forename, surname, dob as social care recorded them.
        pupils: person_id, upn.
        addresses: from ``records.address_history``.
        last_contact: date of last social-care contact by person_id (for the recorded postcode).

    Returns:
        LAchildID, Forename, Surname, DOB (dd/mm/yyyy), Sex, NHSNumber, UPN (or UN1-UN7),
        Postcode, Ethnicity.
    """
    pid = ids["person_id"].to_numpy()
    kid = kids.set_index("person_id").reindex(pid)
    who = ident.set_index("person_id").reindex(pid)
    noise = cfg.identifier_noise
    extra = group_error_factor(kid["ethnicity_group"].to_numpy(), noise) if noise.extra_error_by_ethnicity else 1.0
    nhs_missing = rng.random(pid.size) < noise.nhs_missing_social_care * extra
    nhs = np.where(nhs_missing, "", kid["nhs_number"].to_numpy(dtype=str))
    upn = pupils.set_index("person_id")["upn"].reindex(pid).fillna("").to_numpy(dtype=str)
    unknown = (upn == "") | (rng.random(pid.size) < noise.upn_missing_social_care * extra)
    un_code = np.where(upn == "", "UN1", rng.choice(["UN2", "UN3", "UN4", "UN5", "UN6", "UN7"], pid.size))
    postcode = postcode_at(
        addresses, kid["household_id"].to_numpy(), last_contact.reindex(pid).to_numpy(), rng, noise.postcode_lag,
        noise=noise,
    )
    return pd.DataFrame(
        {
            "LAchildID": ids["la_child_id"].to_numpy(),
            "Forename": who["forename"].to_numpy(),
            "Surname": who["surname"].to_numpy(),
            "DOB": format_dates(who["dob"].to_numpy(), DMY),
            "Sex": kid["sex"].to_numpy(),
            "NHSNumber": nhs,
            "UPN": np.where(unknown, un_code, upn),
            "Postcode": postcode,
            "Ethnicity": kid["ethnicity"].to_numpy(),
        }
    )
