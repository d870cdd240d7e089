"""NHS numbers and UPNs with real-format check characters (DOMAIN.md "Identifiers").

- NHS numbers come from the 9000000000-9999999999 test range, so no real patient is named.
- UPNs carry a real-format check letter; ``stdnum.gb.upn`` also checks the LA number against the
  list of real LA numbers, so pass a real one (e.g. "938") when the UPNs must pass ``stdnum``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.synthetic.identities.codepoints import digit_codepoints, from_codepoints, to_codepoints

UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
"""Check-letter table: a letter's value is its index (no I, O or S)."""

_NHS_WEIGHTS = np.arange(10, 1, -1)
_UPN_WEIGHTS = np.arange(2, 14)
_UPN_SERIALS = 999  # permanent serials 001-999
_TEMP_SERIALS = 100 * len(UPN_ALPHABET)  # temporary: 2 digits + a letter


# ---------------------------------------------------------------- NHS numbers
def nhs_check_digit(body9: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit of 9-digit integers (10 means the body is never issued)."""
    digits = digit_codepoints(body9, 9).astype(np.int64) - ord("0")
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
    mat = to_codepoints(body12, 12)
    values = _UPN_VALUE[np.minimum(mat, 127)]
    if (np.strings.str_len(body12) != 12).any() or (mat > 127).any() or (values < 0).any():
        raise ValueError("UPN body must be 12 characters from digits and letters other than I, O, S")
    return from_codepoints(_UPN_LETTERS[(values @ _UPN_WEIGHTS) % 23][:, None])


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
    body[:, 3:7] = digit_codepoints(school, 4)
    body[:, 7:9] = digit_codepoints(year, 2)
    body[:, 9:12] = tail
    check = to_codepoints(upn_check_letter(from_codepoints(body)), 1)
    return from_codepoints(np.hstack([check, body]))


def upns(rng: np.random.Generator, la_code: str, school_ids: np.ndarray, year2: np.ndarray) -> np.ndarray:
    """Unique permanent UPNs: check letter + LA (3) + establishment (4) + year (2) + serial (3).

    Args:
        la_code: the issuing LA number, e.g. "938".
        school_ids: 4-digit establishment numbers (str or int), one per child.
        year2: the 2-digit issue year (e.g. year of school entry mod 100), one per child.
    """
    school = np.asarray(school_ids).astype(np.int64)
    year, serial = _allocate_serials(rng, school, year2, _UPN_SERIALS)
    return _upn_from_parts(la_code, school, year, digit_codepoints(serial + 1, 3))


def temporary_upns(rng: np.random.Generator, la_code: str, school_ids: np.ndarray,
                   year2: np.ndarray) -> np.ndarray:
    """Unique temporary UPNs: as a UPN, but the serial is 2 digits and a letter (from ``UPN_ALPHABET``).

    The check letter covers the final letter by its table value, so ``stdnum.gb.upn.is_valid``
    accepts these (it allows a letter as the 13th character) and the CIN XSD pattern
    ``[A-Za-z]\\d{11}(\\d|[A-Za-z])`` matches. A temporary UPN can never equal a permanent one.
    """
    school = np.asarray(school_ids).astype(np.int64)
    year, serial = _allocate_serials(rng, school, year2, _TEMP_SERIALS)
    tail = np.hstack([digit_codepoints(serial // len(UPN_ALPHABET), 2),
                      _UPN_LETTERS[serial % len(UPN_ALPHABET)][:, None]])
    return _upn_from_parts(la_code, school, year, tail)
