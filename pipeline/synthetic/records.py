"""How each source records a person: its own version of their name, date of birth and address.

A source copies identity at first contact and keeps it, so its errors are stable within the source
and independent between sources — the realistic situation linkage must cope with.
"""

from __future__ import annotations

import hashlib

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
    fore, sur, dob = wider_errors(rng, fore, sur, dob, noise, scale * group_error_factor(group, noise))
    return pd.DataFrame({"person_id": people["person_id"].to_numpy(), "forename": fore, "surname": sur, "dob": dob})


WIDER_NAME_ERRORS = ("names_swapped", "forename_missing", "dob_part_missing", "dob_missing", "ocr_error",
                     "phonetic_respelling")
WIDER_POSTCODE_ERRORS = ("postcode_missing", "postcode_partial")


def wider_stream(rng: np.random.Generator) -> np.random.Generator:
    """A random stream for the wider errors, fixed by ``rng``'s state but drawing nothing from it: switching the
    wider errors on or off leaves every other draw of the county as it was (same seed, same records)."""
    digest = hashlib.sha256(repr(rng.bit_generator.state).encode()).digest()
    return np.random.default_rng([15, int.from_bytes(digest[:8], "little")])


def wider_errors(rng: np.random.Generator, fore: np.ndarray, sur: np.ndarray, dob: np.ndarray,
                 noise: IdentifierNoise, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The wider error patterns of ``identifier_noise`` (names swapped, blank forename, a date of birth's day or
    month unknown or the whole date blank, OCR and phonetic errors in names), each at its rate x ``scale`` per
    row; unchanged when all are 0."""
    if not any(getattr(noise, name) for name in WIDER_NAME_ERRORS):
        return fore, sur, dob
    wide = wider_stream(rng)
    fore, sur = identities.swap_names(wide, fore, sur, np.minimum(noise.names_swapped * scale, 1))
    for rate, fn in ((noise.ocr_error, identities.apply_ocr_errors),
                     (noise.phonetic_respelling, identities.apply_phonetic_respellings)):
        fore = _per_row(wide, fore, np.minimum(rate * scale, 1), fn)
        sur = _per_row(wide, sur, np.minimum(rate * scale, 1), fn)
    fore = identities.blank_values(wide, fore, np.minimum(noise.forename_missing * scale, 1))
    dob = identities.blank_dob_parts(wide, dob, np.minimum(noise.dob_part_missing * scale, 1))
    dob = identities.blank_values(wide, dob, np.minimum(noise.dob_missing * scale, 1), np.datetime64("NaT"))
    return fore, sur, dob


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
    noise: IdentifierNoise | None = None,
) -> np.ndarray:
    """The household's postcode on each date; with ``lag_rate`` the record still holds the previous one.

    Args:
        history: from ``address_history``.
        household_id, when: one per record.
        noise: with ``postcode_missing`` or ``postcode_partial`` above 0 (and ``rng``), that share of postcodes
            is left blank or cut to its outward code, from a stream of its own (``wider_stream``).
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
    recorded = history["postcode"].to_numpy()[pos]
    if rng is None or noise is None or not any(getattr(noise, name) for name in WIDER_POSTCODE_ERRORS):
        return recorded
    wide = wider_stream(rng)
    recorded = identities.partial_postcodes(wide, recorded, noise.postcode_partial)
    return identities.blank_values(wide, recorded.astype(str), noise.postcode_missing).astype(object)
