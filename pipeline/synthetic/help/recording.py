"""The planted recording break: from a date, one ward records a CIN assessment factor more often, with
no change in what happens (the true adversity that drives the factor is untouched).

Applied to the CIN census frames before they are written as XML. An assessment appears in every
collection year its episode is open, so which assessments gain the factor is decided once, by episode.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def plant_factor_break(
    rng: np.random.Generator, frames: dict[int, dict[str, pd.DataFrame]], ward_of_episode: pd.Series,
    ward: int, start: np.datetime64, code: str, factor: float,
) -> tuple[dict[int, dict[str, pd.DataFrame]], dict]:
    """Add ``code`` to the factors of assessments begun in ``ward`` from ``start``: (``factor`` - 1) times as many
    as the county's share of assessments with the code would give there, so it is recorded about ``factor``
    times as often.

    Args:
        frames: year -> CIN census frames (``cin_census_frames``); ``assessments`` has episode_id,
            start_date, factors (';'-joined; "21" = none).
        ward_of_episode: episode_id -> ward number of the child at the assessment's start.

    Returns:
        The frames with the break planted, and a summary: assessments in the ward from ``start``, those with
        the code before and after, and the county's share of assessments with it.
    """
    every = pd.concat([f["assessments"][["episode_id", "start_date", "factors"]] for f in frames.values()],
                      ignore_index=True).drop_duplicates("episode_id")
    here = every[(ward_of_episode.reindex(every["episode_id"]).to_numpy() == ward)
                 & (every["start_date"].to_numpy().astype("datetime64[D]") >= start)]
    with_code = every["factors"].str.split(";").apply(lambda codes: code in codes)
    has = with_code[here.index].to_numpy()
    # "as often" against the county's share, not the ward's own few: a small ward's count is mostly chance
    share = float(with_code.mean()) if len(every) else 0.0
    extra = min(int((~has).sum()), int(round((factor - 1) * share * len(here))))
    chosen = set(rng.choice(here["episode_id"].to_numpy()[~has], extra, replace=False).tolist()) if extra else set()
    out = {}
    for year, tables in frames.items():
        a = tables["assessments"].copy()
        hit = a["episode_id"].isin(chosen).to_numpy()
        old = a["factors"].to_numpy(dtype=object)
        a.loc[hit, "factors"] = [code if f == "21" else f"{f};{code}" for f in old[hit]]
        out[year] = {**tables, "assessments": a}
    before = int(has.sum())
    return out, {"assessments": len(here), "with_code_before": before, "with_code_after": before + extra,
                 "county_share_with_code": round(share, 4)}
