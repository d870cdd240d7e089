"""Recording errors beyond typing slips: names the wrong way round, blanks, OCR and phonetic errors, partial
postcodes.

The synthetic county's default errors (name_errors, dob_errors) are the ones riskpipe's linkage was built on.
These are the other patterns public linkage benchmarks (FEBRL) and real extracts hold, so that linkage can be
tried on errors it was not tuned to. Each function changes about ``rate`` of the values; capitals are kept.
"""

from __future__ import annotations

import re

import numpy as np

# characters a scanner reads as others (both ways where the confusion goes both ways)
OCR_CONFUSIONS = {
    "m": "rn", "rn": "m", "d": "cl", "cl": "d", "w": "vv", "vv": "w", "h": "b", "b": "h", "e": "c", "c": "e",
    "u": "v", "v": "u", "i": "l", "l": "i", "o": "0", "n": "h", "g": "q", "q": "g", "a": "o",
}
# spellings that sound alike (English), tried in order; the first that applies to a name is used
PHONETIC_RESPELLINGS = (
    ("ph", "f"), ("f", "ph"), ("ck", "k"), ("k", "c"), ("c", "k"), ("ee", "ea"), ("ea", "ee"), ("ie", "y"),
    ("y", "ie"), ("ou", "ow"), ("z", "s"), ("s", "z"), ("ll", "l"), ("tt", "t"), ("nn", "n"), ("th", "t"),
    ("ai", "ay"), ("ay", "ai"), ("i", "y"), ("ei", "ie"), ("x", "ks"),
)
_OCR_PATTERN = re.compile("|".join(sorted((re.escape(k) for k in OCR_CONFUSIONS), key=len, reverse=True)))


def _case_like(value: str, original: str) -> str:
    return value.upper() if original.isupper() else value


def _chosen(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def swap_names(rng: np.random.Generator, forename: np.ndarray, surname: np.ndarray, rate: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Forename and surname recorded the other way round, with probability ``rate`` per record."""
    forename, surname = np.asarray(forename, dtype=object), np.asarray(surname, dtype=object)
    swap = _chosen(rng, len(forename), rate)
    return np.where(swap, surname, forename).astype(str), np.where(swap, forename, surname).astype(str)


def blank_values(rng: np.random.Generator, values: np.ndarray, rate: float, blank=""):
    """``values`` with about ``rate`` of them replaced by ``blank`` (a missing field)."""
    values = np.asarray(values)
    return np.where(_chosen(rng, len(values), rate), np.asarray(blank, dtype=values.dtype), values)


def blank_dob_parts(rng: np.random.Generator, dob: np.ndarray, rate: float) -> np.ndarray:
    """With probability ``rate`` a date of birth loses a part, recorded as systems fill it in: an unknown day as
    the 1st of the month (half of them), an unknown day and month as 1 January."""
    dob = np.asarray(dob, dtype="datetime64[D]")
    hit = _chosen(rng, len(dob), rate) & ~np.isnat(dob)
    year_only = rng.random(len(dob)) < 0.5
    first_of_month = dob.astype("datetime64[M]").astype("datetime64[D]")
    first_of_year = dob.astype("datetime64[Y]").astype("datetime64[D]")
    return np.where(hit, np.where(year_only, first_of_year, first_of_month), dob)


def _ocr_one(rng: np.random.Generator, name: str) -> str:
    lower = name.lower()
    spots = [m for m in _OCR_PATTERN.finditer(lower) if m.start() > 0 or len(lower) < 2]
    if not spots:
        return name
    spot = spots[int(rng.integers(len(spots)))]
    changed = lower[: spot.start()] + OCR_CONFUSIONS[spot.group()] + lower[spot.end():]
    return _case_like(changed if not name[:1].isupper() or name.isupper() else changed[:1].upper() + changed[1:],
                      name)


def apply_ocr_errors(rng: np.random.Generator, names: np.ndarray, rate: float) -> np.ndarray:
    """With probability ``rate`` one character (or pair) of a name is read as a look-alike (``OCR_CONFUSIONS``:
    m/rn, d/cl, h/b, e/c, i/l ...); the first letter is kept, as typing errors keep it."""
    names = np.asarray(names, dtype=object)
    hit = np.flatnonzero(_chosen(rng, len(names), rate))
    for i in hit:
        names[i] = _ocr_one(rng, str(names[i]))
    return names.astype(str)


def _respell_one(name: str) -> str:
    lower = name.lower()
    for old, new in PHONETIC_RESPELLINGS:
        at = lower.find(old, 1)  # never the first letter: the respelling of a sound inside the name
        if at > 0:
            changed = lower[:at] + new + lower[at + len(old):]
            return changed.upper() if name.isupper() else changed[:1].upper() + changed[1:] if name[:1].isupper() \
                else changed
    return name


def apply_phonetic_respellings(rng: np.random.Generator, names: np.ndarray, rate: float) -> np.ndarray:
    """With probability ``rate`` a name is spelt as it sounds another way (``PHONETIC_RESPELLINGS``: ph/f, ck/k,
    ee/ea, ie/y ...; the first rule that applies after the first letter). A name none applies to is unchanged."""
    names = np.asarray(names, dtype=object)
    hit = np.flatnonzero(_chosen(rng, len(names), rate))
    for i in hit:
        names[i] = _respell_one(str(names[i]))
    return names.astype(str)


def partial_postcodes(rng: np.random.Generator, postcodes: np.ndarray, rate: float) -> np.ndarray:
    """With probability ``rate`` a postcode is recorded by its outward code only (``RP1 2AB`` -> ``RP1``)."""
    postcodes = np.asarray(postcodes, dtype=object)
    hit = np.flatnonzero(_chosen(rng, len(postcodes), rate))
    for i in hit:
        value = postcodes[i]
        if isinstance(value, str) and " " in value.strip():
            postcodes[i] = value.strip().split(" ")[0]
    return postcodes
