"""Identifiers, names and the recording noise the synthetic county puts on them.

Everything here is vectorised over numpy arrays and deterministic given the ``rng`` passed in
(one ``np.random.Generator``; the same seed gives the same output). Identifiers follow the real
rules (DOMAIN.md "Identifiers") so ingest's validators and ``python-stdnum`` accept them:

- NHS numbers come from the 9000000000-9999999999 test range, so no real patient is named.
- UPNs carry a real-format check letter; ``stdnum.gb.upn`` also checks the LA number against the
  list of real LA numbers, so pass a real one (e.g. "938") when the UPNs must pass ``stdnum``.
- Postcodes use the area "RP", which is not a UK postcode area, so no generated postcode is real,
  yet every one passes ``UK_POSTCODE_RE``. LSOA codes are drawn from E01100000-E01999999, above
  the highest code ONS has issued (about E01035800 in 2021), so none names a real neighbourhood.

Name pools are lists of common names by heritage, most common first, with Zipf-like weights so
that "Smith", "Khan" and "Mohammed" recur as often as linkage must expect.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.synthetic.name_pools import (
    _FORENAME_WIDTH,
    _HERITAGES,
    FORENAME_POOLS,
    FORENAME_VARIANTS,
    GROUP_HERITAGE,
    SURNAME_POOLS,
)

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
"""Check-letter table: a letter's value is its index (no I, O or S)."""

UK_POSTCODE_RE = re.compile(
    r"^(?:GIR 0AA|"
    r"(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2})$"
)
"""A UK postcode in canonical form (upper case, one space): outward AA9A/A9A/A9/A99/AA9/AA99 with
the letters each position allows, inward digit + two letters never C I K M O V."""

POSTCODE_AREA = "RP"  # not a UK postcode area: nothing generated can be a real address
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # 20 letters: 400 units per sector
_DISTRICT_SUFFIXES = "ABEHMNPRVWXY"  # letters allowed in the 4th outward position (AA9A)

_NHS_WEIGHTS = np.arange(10, 1, -1)
_UPN_WEIGHTS = np.arange(2, 14)
_UPN_SERIALS = 999  # permanent serials 001-999
_TEMP_SERIALS = 100 * len(UPN_ALPHABET)  # temporary: 2 digits + a letter


# ---------------------------------------------------------------- string matrices
def _codepoints(strings: np.ndarray, width: int | None = None) -> np.ndarray:
    """(n, width) uint32 matrix of the strings' code points, zero padded."""
    arr = np.asarray(strings, dtype=str)
    width = width or max(int(arr.dtype.itemsize // 4), 1)
    return np.ascontiguousarray(arr.astype(f"<U{width}")).view(np.uint32).reshape(len(arr), width)


def _strings(codepoints: np.ndarray) -> np.ndarray:
    """Inverse of ``_codepoints``: trailing zeros are dropped by numpy's fixed-width strings."""
    mat = np.ascontiguousarray(codepoints, dtype=np.uint32)
    return mat.view(f"<U{mat.shape[1]}").ravel()


def _replaced(base: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A copy of string array ``base`` with ``values`` at ``rows`` (widened to fit them)."""
    values = np.asarray(values, dtype=str)
    width = max(base.dtype.itemsize, values.dtype.itemsize, 4) // 4
    out = base.astype(f"<U{width}")
    out[rows] = values
    return out


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) code-point matrix of non-negative integers written with leading zeros."""
    values = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers % 10 + ord("0")).astype(np.uint32)


# ---------------------------------------------------------------- NHS numbers
def nhs_check_digit(body9: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit of 9-digit integers (10 means the body is never issued)."""
    digits = _digits(body9, 9).astype(np.int64) - ord("0")
    check = 11 - (digits @ _NHS_WEIGHTS) % 11
    return np.where(check == 11, 0, check)


def nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` unique NHS numbers from the test range 9000000000-9999999999 with valid check digits."""
    found = np.empty(0, dtype=np.int64)
    while len(found) < n:
        need = n - len(found)
        body = rng.integers(900_000_000, 1_000_000_000, size=int(need * 1.15) + 16)
        check = nhs_check_digit(body)
        numbers = body[check != 10] * 10 + check[check != 10]
        found = pd.unique(np.concatenate([found, numbers]))
    return found[:n].astype("<U10")


# ---------------------------------------------------------------- UPNs
_UPN_VALUE = np.full(128, -1, dtype=np.int64)
for _i, _c in enumerate(UPN_ALPHABET):
    _UPN_VALUE[ord(_c)] = _i
for _d in range(10):
    _UPN_VALUE[ord("0") + _d] = _d  # digits follow the 23 letters in the table, so value ≡ d (mod 23)
_UPN_LETTERS = np.array([ord(c) for c in UPN_ALPHABET], dtype=np.uint32)


def upn_check_letter(body12: np.ndarray) -> np.ndarray:
    """Check letters for the 12 characters that follow it in a UPN (DOMAIN.md algorithm).

    Raises:
        ValueError: a body is not 12 characters from digits and ``UPN_ALPHABET``.
    """
    body12 = np.asarray(body12, dtype=str)
    mat = _codepoints(body12, 12)
    values = _UPN_VALUE[np.minimum(mat, 127)]
    if (np.strings.str_len(body12) != 12).any() or (mat > 127).any() or (values < 0).any():
        raise ValueError("UPN body must be 12 characters from digits and letters other than I, O, S")
    return _strings(_UPN_LETTERS[(values @ _UPN_WEIGHTS) % 23][:, None])


def _allocate_serials(rng: np.random.Generator, school_ids: np.ndarray, year2: np.ndarray,
                      capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """Give every child a (year, serial) unique within its school.

    Children of one school and year are numbered in random order. When a school-year's serials
    run out, the overflow moves to the next year's serial space (year + 1, mod 100), after the
    children already numbered there, and so on: deterministic and unique for any n.
    """
    school = np.asarray(school_ids).astype(np.int64)
    if (school < 0).any() or (school > 9999).any():
        raise ValueError("school (establishment) ids must be 4-digit numbers")
    year = np.asarray(year2, dtype=np.int64) % 100
    serial = np.full(len(school), -1, dtype=np.int64)
    used = np.zeros(10_000 * 100, dtype=np.int64)
    pending = rng.permutation(len(school))
    for _ in range(100):
        if len(pending) == 0:
            break
        key = school[pending] * 100 + year[pending]
        order = np.argsort(key, kind="stable")
        pending, key = pending[order], key[order]
        starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
        group_start = np.repeat(starts, np.diff(np.r_[starts, len(key)]))
        candidate = used[key] + np.arange(len(key)) - group_start
        fits = candidate < capacity
        serial[pending[fits]] = candidate[fits]
        np.add.at(used, key[fits], 1)
        pending = pending[~fits]
        year[pending] = (year[pending] + 1) % 100
    if len(pending):
        raise ValueError("more children than a school's 100 years of UPN serials can number")
    return year, serial


def _upn_from_parts(la_code: str, school: np.ndarray, year: np.ndarray, tail: np.ndarray) -> np.ndarray:
    if not re.fullmatch(r"\d{3}", la_code):
        raise ValueError("la_code must be a 3-digit LA number")
    n = len(school)
    body = np.empty((n, 12), dtype=np.uint32)
    body[:, 0:3] = [ord(c) for c in la_code]
    body[:, 3:7] = _digits(school, 4)
    body[:, 7:9] = _digits(year, 2)
    body[:, 9:12] = tail
    check = _codepoints(upn_check_letter(_strings(body)), 1)
    return _strings(np.hstack([check, body]))


def upns(rng: np.random.Generator, la_code: str, school_ids: np.ndarray, year2: np.ndarray) -> np.ndarray:
    """Unique permanent UPNs: check letter + LA (3) + establishment (4) + year (2) + serial (3).

    Args:
        la_code: the issuing LA number, e.g. "938".
        school_ids: 4-digit establishment numbers (str or int), one per child.
        year2: the 2-digit issue year (e.g. year of school entry mod 100), one per child.
    """
    school = np.asarray(school_ids).astype(np.int64)
    year, serial = _allocate_serials(rng, school, year2, _UPN_SERIALS)
    return _upn_from_parts(la_code, school, year, _digits(serial + 1, 3))


def temporary_upns(rng: np.random.Generator, la_code: str, school_ids: np.ndarray,
                   year2: np.ndarray) -> np.ndarray:
    """Unique temporary UPNs: as a UPN, but the serial is 2 digits and a letter (from ``UPN_ALPHABET``).

    The check letter covers the final letter by its table value, so ``stdnum.gb.upn.is_valid``
    accepts these (it allows a letter as the 13th character) and the CIN XSD pattern
    ``[A-Za-z]\\d{11}(\\d|[A-Za-z])`` matches. A temporary UPN can never equal a permanent one.
    """
    school = np.asarray(school_ids).astype(np.int64)
    year, serial = _allocate_serials(rng, school, year2, _TEMP_SERIALS)
    tail = np.hstack([_digits(serial // len(UPN_ALPHABET), 2),
                      _UPN_LETTERS[serial % len(UPN_ALPHABET)][:, None]])
    return _upn_from_parts(la_code, school, year, tail)


# ---------------------------------------------------------------- names
def _zipf_weights(n: int, offset: float) -> np.ndarray:
    """Zipf-Mandelbrot weights 1/(rank + offset): the first names of a pool are the common ones."""
    w = 1.0 / (np.arange(1, n + 1) + offset)
    return w / w.sum()


def _draw_heritage(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """A heritage per person (index into ``_HERITAGES``), drawn from their group's blend."""
    codes, uniques = pd.factorize(np.asarray(group, dtype=object), use_na_sentinel=False)
    out = np.empty(len(codes), dtype=np.int64)
    for i, name in enumerate(uniques):
        rows = np.flatnonzero(codes == i)
        blend = GROUP_HERITAGE.get(name, GROUP_HERITAGE["Unknown"])
        keys = np.array([_HERITAGES.index(k) for k in blend])
        probs = np.array(list(blend.values()), dtype=float)
        out[rows] = keys[rng.choice(len(keys), size=len(rows), p=probs / probs.sum())]
    return out


def _draw_from_pools(rng: np.random.Generator, heritage: np.ndarray,
                     pools: dict[str, list[str]], offset: float) -> np.ndarray:
    width = max(len(name) for pool in pools.values() for name in pool)
    out = np.empty(len(heritage), dtype=f"<U{width}")
    for key, pool in pools.items():
        rows = np.flatnonzero(heritage == _HERITAGES.index(key))
        if len(rows):
            pick = rng.choice(len(pool), size=len(rows), p=_zipf_weights(len(pool), offset))
            out[rows] = np.array(pool)[pick]
    return out


def surnames(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """A surname per person, from pools by heritage blended per ethnicity group.

    Args:
        group: ethnicity group per person: White, Mixed, Asian, Black or Other (anything else
            draws from a national blend).
    """
    return _draw_from_pools(rng, _draw_heritage(rng, group), SURNAME_POOLS, offset=6.0)


def forenames(rng: np.random.Generator, group: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """A forename per person by ethnicity group and sex (M/F; anything else draws either)."""
    heritage = _draw_heritage(rng, group)
    sex = np.asarray(sex, dtype=object)
    male = np.where(pd.Series(sex).isin(["M", "F"]).to_numpy(), sex == "M", rng.random(len(sex)) < 0.5)
    out = np.empty(len(heritage), dtype=f"<U{_FORENAME_WIDTH}")
    for s, rows in (("M", np.flatnonzero(male)), ("F", np.flatnonzero(~male))):
        out[rows] = _draw_from_pools(rng, heritage[rows], {k: v[s] for k, v in FORENAME_POOLS.items()},
                                      offset=3.0)
    return out


def middlenames(rng: np.random.Generator, group: np.ndarray, sex: np.ndarray,
                empty_rate: float = 0.4) -> np.ndarray:
    """A middle name per person (empty string for about ``empty_rate`` of them)."""
    names = forenames(rng, group, sex)
    return np.where(rng.random(len(names)) < empty_rate, "", names)


# ---------------------------------------------------------------- recording noise
def _case_like(values: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """Upper-case ``values`` where the original was written in capitals."""
    values = np.asarray(values, dtype=str)
    return np.where(np.strings.isupper(np.asarray(originals, dtype=str)), np.strings.upper(values), values)


def apply_forename_variants(rng: np.random.Generator, names: np.ndarray, rate: float) -> np.ndarray:
    """Replace a name by a nickname or another transliteration with probability ``rate``.

    Names without a known variant (``FORENAME_VARIANTS``) are left unchanged, as are all others
    not drawn. Lookup ignores case; capitals are kept.
    """
    names = np.asarray(names, dtype=str)
    codes, uniques = pd.factorize(names)
    options = [FORENAME_VARIANTS.get(str(u).title(), ()) for u in uniques]
    counts = np.array([len(o) for o in options] + [0], dtype=np.int64)
    flat = np.array([v for o in options for v in o] + [""], dtype=str)
    offsets = np.r_[0, np.cumsum(counts[:-1])]
    n_opts = counts[codes]
    change = (rng.random(len(names)) < rate) & (n_opts > 0)
    pick = offsets[codes[change]] + (rng.random(int(change.sum())) * n_opts[change]).astype(np.int64)
    return _replaced(names, change, _case_like(flat[pick], names[change]))


_KEYBOARD_ROWS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}
_NEIGHBOURS = np.zeros((128, 6), dtype=np.uint32)
_N_NEIGHBOURS = np.zeros(128, dtype=np.int64)
for _k, _v in _KEYBOARD_ROWS.items():
    for _case in (str.lower, str.upper):
        _NEIGHBOURS[ord(_case(_k)), : len(_v)] = [ord(_case(c)) for c in _v]
        _N_NEIGHBOURS[ord(_case(_k))] = len(_v)


def _neighbour(rng: np.random.Generator, chars: np.ndarray) -> np.ndarray:
    """A random keyboard neighbour of each letter (same case); 0 where ``chars`` is not a letter."""
    idx = np.minimum(chars, 127)
    n = np.where(chars < 128, _N_NEIGHBOURS[idx], 0)
    pick = (rng.random(len(chars)) * np.maximum(n, 1)).astype(np.int64)
    return np.where(n > 0, _NEIGHBOURS[idx, pick], 0).astype(np.uint32)


def _one_edit(rng: np.random.Generator, strings: np.ndarray) -> np.ndarray:
    """Apply exactly one edit (Damerau-Levenshtein distance 1) to each non-empty string."""
    k = len(strings)
    length = np.strings.str_len(strings).astype(np.int64)
    width = int(length.max())
    mat = np.zeros((k, width + 2), dtype=np.uint32)
    mat[:, :width] = _codepoints(strings, width)
    rows = np.arange(k)
    lo = (length >= 2).astype(np.int64)  # keep the first letter (and so the case style) when we can
    op = rng.integers(0, 4, size=k)  # 0 substitute, 1 transpose, 2 delete, 3 insert
    u = rng.random(k)
    op = np.where((op == 1) & (length < 3), 0, op)
    op = np.where((op == 2) & (length == 1), 3, op)
    pos = np.select(
        [op == 1, op == 3],
        [1 + (u * (length - 2)).astype(np.int64), 1 + (u * length).astype(np.int64)],
        lo + (u * (length - lo)).astype(np.int64),
    )
    pos = np.minimum(pos, np.where(op == 3, length, length - 1))
    here, after = mat[rows, pos], mat[rows, pos + 1]
    substitute = _neighbour(rng, here)
    op = np.where((op == 0) & (substitute == 0), 2, op)
    swappable = (_N_NEIGHBOURS[np.minimum(here, 127)] > 0) & (_N_NEIGHBOURS[np.minimum(after, 127)] > 0)
    op = np.where((op == 1) & ((here == after) | ~swappable), 2, op)
    previous = mat[rows, np.maximum(pos - 1, 0)]
    inserted = np.strings.lower(_strings(_neighbour(rng, previous)[:, None]))
    inserted = np.where(inserted == "", "e", inserted)  # after a hyphen or apostrophe
    inserted = _codepoints(_case_like(inserted, strings), 1)[:, 0]

    j = np.arange(width + 1)[None, :]
    p = pos[:, None]
    o = op[:, None]
    src = np.select(
        [o == 2, o == 3, (o == 1) & (j == p), (o == 1) & (j == p + 1)],
        [j + (j >= p), j - (j > p), j + 1, j - 1],
        j,
    )
    out = np.take_along_axis(mat, src, axis=1)
    out[rows, pos] = np.select([op == 0, op == 3], [substitute, inserted], out[rows, pos])
    return _strings(out)


def apply_typos(rng: np.random.Generator, strings: np.ndarray, rate: float) -> np.ndarray:
    """With probability ``rate`` make one typing error in a (non-empty) string.

    The error is a substitution by a keyboard neighbour, a transposition of adjacent letters, a
    deletion or an insertion (a neighbour of the previous key), so the result is always at
    Damerau-Levenshtein distance 1. The first character is kept when the string has two or more,
    and inserted letters follow the string's case (all capitals or not).
    """
    strings = np.asarray(strings, dtype=str)
    hit = (rng.random(len(strings)) < rate) & (np.strings.str_len(strings) > 0)
    if not hit.any():
        return strings.copy()
    return _replaced(strings, hit, _one_edit(rng, strings[hit]))


def apply_surname_changes(rng: np.random.Generator, surnames_: np.ndarray, rate: float,
                          group: np.ndarray) -> np.ndarray:
    """With probability ``rate`` change a surname: hyphenate it with another or replace it.

    Half the changes hyphenate (either order) with a surname from the person's group pool, half
    replace it; a surname that is already double-barrelled loses one half instead of growing.
    The new part always differs from the old surname.
    """
    old = np.asarray(surnames_, dtype=str)
    group = np.asarray(group, dtype=object)
    hit = np.flatnonzero(rng.random(len(old)) < rate)
    new = surnames(rng, group[hit])
    same = np.flatnonzero(np.strings.lower(new) == np.strings.lower(old[hit]))
    while len(same):
        new[same] = surnames(rng, group[hit[same]])
        same = same[np.strings.lower(new[same]) == np.strings.lower(old[hit[same]])]
    new = _case_like(new, old[hit])
    first, _, second = np.strings.partition(old[hit], "-")
    mode = rng.random(len(hit))
    changed = np.where(mode < 0.25, new + "-" + old[hit], old[hit] + "-" + new)
    changed = np.where(mode >= 0.5, new, changed)
    changed = np.where(second != "", np.where(mode < 0.5, first, second), changed)
    return _replaced(old, hit, changed)


def _date_parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    day = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _make_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dates from parts, and whether each part-triple was a real date."""
    start = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    days_in_month = ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(np.int64)
    valid = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month)
    return start.astype("datetime64[D]") + (np.clip(day, 1, days_in_month) - 1), valid


def apply_dob_errors(rng: np.random.Generator, dob: np.ndarray, swap_rate: float,
                     typo_rate: float) -> np.ndarray:
    """Day/month swaps and one-off slips in dates of birth.

    A date whose day and month can be swapped (day <= 12 and day != month) is swapped with
    probability ``swap_rate`` (so about 36% x ``swap_rate`` of all dates change this way).
    Independently, with probability ``typo_rate`` a date moves one day or one year (either way);
    29 February moved by a year moves by a day instead. NaT stays NaT.

    Returns:
        datetime64[D] array.
    """
    dates = np.asarray(dob, dtype="datetime64[D]").copy()
    ok = ~np.isnat(dates)
    year, month, day = _date_parts(np.where(ok, dates, np.datetime64("2000-01-01")))
    swap = ok & (day <= 12) & (day != month) & (rng.random(len(dates)) < swap_rate)
    swapped, _ = _make_dates(year, day, month)
    dates = np.where(swap, swapped, dates)

    typo = ok & (rng.random(len(dates)) < typo_rate)
    sign = np.where(rng.random(len(dates)) < 0.5, -1, 1)
    by_year = rng.random(len(dates)) < 0.5
    year, month, day = _date_parts(np.where(ok, dates, np.datetime64("2000-01-01")))
    moved_year, valid = _make_dates(year + sign, month, day)
    moved = np.where(by_year & valid, moved_year, dates + sign.astype("timedelta64[D]"))
    return np.where(typo, moved, dates)


# ---------------------------------------------------------------- places
def _district_names(n: int) -> list[str]:
    names = [f"{POSTCODE_AREA}{d}" for d in range(1, 100)]
    names += [f"{POSTCODE_AREA}{d}{s}" for d in range(1, 10) for s in _DISTRICT_SUFFIXES]
    if n > len(names):
        raise ValueError(f"at most {len(names)} postcode districts in one area")
    return names[:n]


def make_lsoas(rng: np.random.Generator, n: int, la_prefix: str = "E01",
               lsoas_per_district: int = 12) -> pd.DataFrame:
    """``n`` unique synthetic LSOA codes, in runs of neighbouring codes sharing a postcode district.

    Returns:
        DataFrame with ``lsoa_code`` (e.g. E01234567) and ``district`` (e.g. RP4).
    """
    numbers = np.sort(rng.choice(900_000, size=n, replace=False) + 100_000)
    codes = np.char.add(la_prefix, _strings(_digits(numbers, 6)))
    n_districts = min(max(int(np.ceil(n / lsoas_per_district)), 1), 99 + 9 * len(_DISTRICT_SUFFIXES))
    district = np.array(_district_names(n_districts))[np.arange(n) * n_districts // max(n, 1)]
    return pd.DataFrame({"lsoa_code": codes.astype(str), "district": district})


def make_postcodes(rng: np.random.Generator, lsoas: pd.DataFrame, per_lsoa: int) -> pd.DataFrame:
    """``per_lsoa`` unique postcodes for each LSOA, all of one LSOA in one postcode sector.

    Each district has ten sectors (digits 0-9) of 400 units (two letters from the 20 the inward
    code allows); a district's LSOAs are spread over its sectors and share them when there are
    more than ten.

    Args:
        lsoas: ``lsoa_code`` and ``district`` (from ``make_lsoas``).

    Returns:
        DataFrame with ``postcode`` (e.g. "RP4 7XB") and ``lsoa_code``, one row per postcode.

    Raises:
        ValueError: a district has too many LSOAs for its sectors at ``per_lsoa``.
    """
    district = lsoas["district"].to_numpy(dtype=str)
    dist_codes, dist_uniques = pd.factorize(district)
    order = np.argsort(dist_codes, kind="stable")
    size = np.bincount(dist_codes)
    rank = np.empty(len(district), dtype=np.int64)
    rank[order] = np.arange(len(district)) - np.repeat(np.r_[0, np.cumsum(size)[:-1]], size)
    per_sector = np.ceil(size / 10).astype(np.int64)[dist_codes]
    if (per_sector * per_lsoa > 400).any():
        raise ValueError("too many postcodes per LSOA for ten 400-unit sectors per district")
    sector = rank // per_sector
    slot = rank % per_sector
    # each (district, sector) gets its own random order of the 400 units; LSOAs take slices of it
    sector_key = dist_codes * 10 + sector
    sector_codes, sector_uniques = pd.factorize(sector_key)
    units = np.argsort(rng.random((len(sector_uniques), 400)), axis=1)
    take = slot[:, None] * per_lsoa + np.arange(per_lsoa)[None, :]
    unit = units[sector_codes[:, None], take].ravel()
    letters = np.array([ord(c) for c in _INWARD_LETTERS], dtype=np.uint32)
    inward = np.stack([np.full(len(unit), ord("0"), dtype=np.uint32) + np.repeat(sector, per_lsoa),
                       letters[unit // 20], letters[unit % 20]], axis=1)
    outward = np.repeat(district, per_lsoa)
    postcode = np.char.add(np.char.add(outward, " "), _strings(inward))
    return pd.DataFrame({"postcode": postcode.astype(str),
                         "lsoa_code": np.repeat(lsoas["lsoa_code"].to_numpy(dtype=str), per_lsoa)})
