"""How each source records a person: its own version of their name, date of birth and address.

A source copies identity at first contact and keeps it, so its errors are stable within the source
and independent between sources — the realistic situation linkage must cope with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.synth_params import IdentifierNoise
from pipeline.synthetic import identities


def recorded_identity(
    rng: np.random.Generator, people: pd.DataFrame, noise: IdentifierNoise, *, scale: float = 1.0
) -> pd.DataFrame:
    """One source's recorded forename, surname and date of birth for ``people``.

    Args:
        people: person_id, forename, surname, dob, ethnicity_group.
        scale: multiplies every error rate (school records are cleaner than case notes).

    Returns:
        person_id, forename, surname, dob (datetime64[D]) as the source holds them.
    """
    minority = people["ethnicity_group"].to_numpy() != "White"
    group = people["ethnicity_group"].to_numpy()
    mult = np.where(minority, noise.minority_extra_error, 1.0) * scale * group_error_factor(group, noise)
    fore = people["forename"].to_numpy(dtype=str)
    sur = people["surname"].to_numpy(dtype=str)
    fore = _per_row(rng, fore, noise.forename_variant * mult, identities.apply_forename_variants)
    fore = _per_row(rng, fore, noise.name_typo * mult, identities.apply_typos)
    sur = identities.apply_surname_changes(rng, sur, noise.surname_change * scale, group)
    sur = _per_row(rng, sur, noise.name_typo * mult, identities.apply_typos)
    # a planted group fault also multiplies that group's date-of-birth slips (plain rates otherwise: same draws)
    extra = group_error_factor(group, noise) if noise.extra_error_by_ethnicity else 1.0
    dob = identities.apply_dob_errors(
        rng, people["dob"].to_numpy().astype("datetime64[D]"), np.minimum(noise.dob_day_month_swap * scale * extra, 1),
        np.minimum(noise.dob_typo * scale * extra, 1)
    )
    return pd.DataFrame({"person_id": people["person_id"].to_numpy(), "forename": fore, "surname": sur, "dob": dob})


def group_error_factor(group: np.ndarray, noise: IdentifierNoise) -> np.ndarray:
    """Per row, ``identifier_noise.extra_error_by_ethnicity`` for the row's ethnicity group (1 elsewhere)."""
    return pd.Series(group).map(noise.extra_error_by_ethnicity).fillna(1.0).to_numpy(dtype=float)


def _per_row(rng, values: np.ndarray, rate: np.ndarray, fn) -> np.ndarray:
    """Apply a noise function with a per-row rate (drawn as: rows chosen first, then fn at rate 1)."""
    chosen = rng.random(len(values)) < rate
    out = values.astype(object)  # object: a longer replacement must never be cut to the old width
    if chosen.any():
        out[chosen] = fn(rng, values[chosen], 1.0)
    return out.astype(str)


def address_history(
    rng: np.random.Generator, hh: pd.DataFrame, moves: pd.DataFrame, postcodes: pd.DataFrame
) -> pd.DataFrame:
    """Every household's addresses over time.

    Returns:
        household_id, from_date, postcode, lsoa_code — sorted by household and date; the first
        address of each household runs from 1900-01-01.
    """
    by_lsoa = postcodes.groupby("lsoa_code")["postcode"].apply(np.array)
    first = pd.DataFrame(
        {"household_id": hh["household_id"], "from_date": np.datetime64("1900-01-01"), "lsoa_code": hh["lsoa_code"]}
    )
    later = moves.rename(columns={"move_date": "from_date"})
    hist = pd.concat([first, later], ignore_index=True)
    pools = by_lsoa.reindex(hist["lsoa_code"]).to_numpy()
    pick = rng.integers(0, 1 << 30, len(hist))
    hist["postcode"] = [p[i % len(p)] for p, i in zip(pools, pick, strict=True)]
    hist["from_date"] = hist["from_date"].astype("datetime64[s]")
    return hist.sort_values(["household_id", "from_date"], ignore_index=True)


def postcode_at(
    history: pd.DataFrame,
    household_id: np.ndarray,
    when: np.ndarray,
    rng: np.random.Generator | None = None,
    lag_rate: float = 0.0,
) -> np.ndarray:
    """The household's postcode on each date; with ``lag_rate`` the record still holds the previous one.

    Args:
        history: from ``address_history``.
        household_id, when: one per record.
    """
    key = history["household_id"].to_numpy().astype(np.float64) * 1e6 + (
        history["from_date"].to_numpy().astype("datetime64[D]").astype(np.int64) + 30000
    )
    q = household_id.astype(np.float64) * 1e6 + (np.asarray(when).astype("datetime64[D]").astype(np.int64) + 30000)
    pos = np.searchsorted(key, q, side="right") - 1
    if rng is not None and lag_rate > 0:
        prev_same = (pos > 0) & (history["household_id"].to_numpy()[np.maximum(pos - 1, 0)] == household_id)
        lag = prev_same & (rng.random(len(pos)) < lag_rate)
        # a lag only applies to a recent move (within a year of the record date)
        recent = (
            np.asarray(when).astype("datetime64[D]") - history["from_date"].to_numpy()[pos].astype("datetime64[D]")
        ) < np.timedelta64(365, "D")
        pos = np.where(lag & recent, pos - 1, pos)
    return history["postcode"].to_numpy()[pos]
