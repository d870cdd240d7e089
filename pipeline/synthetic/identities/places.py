"""Synthetic neighbourhoods (LSOAs) and postcodes that can never name a real place.

Postcodes use the area "RP", which is not a UK postcode area, so no generated postcode is real,
yet every one passes ``UK_POSTCODE_RE``. LSOA codes are drawn from E01100000-E01999999, above
the highest code ONS has issued (about E01035800 in 2021), so none names a real neighbourhood.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from pipeline.synthetic.identities.codepoints import digit_codepoints, from_codepoints

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
    codes = np.char.add(la_prefix, from_codepoints(digit_codepoints(numbers, 6)))
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
    postcode = np.char.add(np.char.add(outward, " "), from_codepoints(inward))
    return pd.DataFrame({"postcode": postcode.astype(str),
                         "lsoa_code": np.repeat(lsoas["lsoa_code"].to_numpy(dtype=str), per_lsoa)})
