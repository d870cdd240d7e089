"""Pupils as schools know them: an establishment per pupil-year, UPNs and the school-recorded identity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic import identities


def assign_schools(kids: pd.DataFrame, hh: pd.DataFrame, years: pd.DataFrame) -> np.ndarray:
    """A 4-digit establishment number per pupil-year: primaries by neighbourhood, secondaries by district.

    Args:
        kids: household_id per child (index = person_id).
        hh: lsoa_code per household (index = household_id).
        years: person_id, nc_age per pupil-year (``LifeCourse.school_years``).
    """
    lsoa = hh["lsoa_code"].to_numpy()[kids["household_id"].to_numpy()[years["person_id"].to_numpy()]]
    lsoa_num = pd.Series(lsoa).str[-6:].astype(int).to_numpy()
    primary = 2000 + (lsoa_num // 7) % 1000
    secondary = 4000 + (lsoa_num // 60) % 500
    return np.where(years["nc_age"].to_numpy() >= 11, secondary, primary).astype(int)


def build_pupil_identities(
    rng: np.random.Generator, cfg: SynthParams, years: pd.DataFrame, school: np.ndarray, ident: pd.DataFrame
) -> pd.DataFrame:
    """Each pupil's UPN (temporary then permanent for some) and school-recorded identity.

    Args:
        years: person_id, census_year per pupil-year; ``school`` is aligned to it.
        ident: person_id, forename, surname, dob as the school recorded them.

    Returns:
        person_id, upn, temp_upn (or ''), first_year, forename, surname, dob.
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
