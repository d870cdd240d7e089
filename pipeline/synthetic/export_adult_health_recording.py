"""How the NHS systems record a person: their copy of name and date of birth, NHS numbers sometimes missing
or mistyped, the postcode as of the record. Shared by the adults' health exporters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic import records

ISO = "%Y-%m-%d"
# how each system records: scale of name/DOB errors, NHS number missing and mistyped rates
RECORDING = {
    "nhs": (0.6, 0.0, 0.0),
    "ecds": (0.0, 0.03, 0.004),
    "gp": (0.4, 0.005, 0.002),
    "deaths": (0.3, 0.04, 0.005),
}


PART_ROWS = 500_000  # rows of the largest extracts formatted and written at a time (``synth`` with adults)


def row_parts(n: int, part_rows: int | None) -> list[slice]:
    """Slices over ``n`` rows, ``part_rows`` at a time; None (or 0) = one part. Always at least one part (an
    empty extract still writes its header)."""
    step = part_rows or max(n, 1)
    return [slice(lo, min(lo + step, n)) for lo in range(0, max(n, 1), step)]


def as_recorded_nhs(rng: np.random.Generator, numbers: np.ndarray, missing: float, mistyped: float) -> np.ndarray:
    """NHS numbers as a source holds them: some blank, some with two neighbouring digits swapped."""
    out = np.asarray(numbers, dtype=str).astype(object)
    n = len(out)
    swap = (rng.random(n) < mistyped) & (np.char.str_len(np.asarray(numbers, dtype=str)) == 10)
    at = rng.integers(0, 9, n)
    for i in np.flatnonzero(swap):
        digits = list(out[i])
        digits[at[i]], digits[at[i] + 1] = digits[at[i] + 1], digits[at[i]]
        out[i] = "".join(digits)
    out[rng.random(n) < missing] = ""
    return out.astype(str)


def address_on(addresses: pd.DataFrame, person_id: np.ndarray, when: np.ndarray, field: str, *,
               earliest_before_first: bool = True) -> np.ndarray:
    """Each person's address ``field`` (postcode, uprn) on each date, '' if none; before their first address,
    that first address's (``earliest_before_first``) or ''.

    Args:
        addresses: ``AdultLives.addresses`` (person_id, start and ``field``).
    """
    query = pd.DataFrame({"person_id": np.asarray(person_id, dtype=np.int64),
                          "when": np.asarray(when).astype("datetime64[s]"), "_row": np.arange(len(person_id))})
    hist = addresses[["person_id", "start", field]].assign(
        person_id=lambda a: a["person_id"].astype(np.int64), start=lambda a: a["start"].astype("datetime64[s]"))
    hist = hist.sort_values("start", kind="stable")
    found = pd.merge_asof(query.sort_values("when", kind="stable"), hist, left_on="when", right_on="start",
                          by="person_id", direction="backward")
    if earliest_before_first:
        found[field] = found[field].fillna(found["person_id"].map(hist.groupby("person_id")[field].first()))
    return found.sort_values("_row")[field].fillna("").astype(str).to_numpy(dtype=str)


def postcode_on(addresses: pd.DataFrame, person_id: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Each person's postcode on each date (their earliest address before they had one; '' if none)."""
    return address_on(addresses, person_id, when, "postcode")


def recorded_people(rng: np.random.Generator, cfg: SynthParams, people: pd.DataFrame, scale: float) -> pd.DataFrame:
    """One source's copy of ``people``'s forename, surname and date of birth (indexed by person_id)."""
    if scale == 0 or people.empty:
        return people.set_index("person_id")[["forename", "surname", "dob"]]
    return records.recorded_identity(rng, people, cfg.identifier_noise, scale=scale).set_index("person_id")
