"""Key stage 2 results as the NPD holds them: reading and maths scaled scores at the end of Year 6."""

from __future__ import annotations

import numpy as np
import pandas as pd


def ks2_results(
    rng: np.random.Generator,
    years: pd.DataFrame,
    pupils: pd.DataFrame,
    engagement: np.ndarray,
    reference: np.datetime64,
) -> pd.DataFrame:
    """NPD-style KS2 scaled scores for pupils in Year 6 (none in 2020 and 2021: tests cancelled).

    Args:
        years: person_id, census_year, nc_age, ehcp, sen_support, fsm (``LifeCourse.school_years``).
        pupils: person_id, upn.
        engagement: latent disengagement per person_id (``LifeCourse.engagement``).

    Returns:
        UPN, KS2_ACADYR (e.g. 2018/2019), KS2_READMRK, KS2_MATMRK ('' when absent from the tests).
    """
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
