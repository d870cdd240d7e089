"""Match keys: the tokens each identifier becomes under its privacy action, for pseudonymise and linkage alike.

Identifiers are normalised (pipeline/privacy/normalise.py) before tokens are made. Shared domains are
deliberate: ``upn`` (current and former UPNs match), ``name`` / ``name_phonetic`` / ``name_initial``
(forename and surname, so a forename/surname swap can be seen) and ``dob_day_month`` (day and month, so
a day/month swap can be seen: ``dob_day_tok`` of one record equals ``dob_month_tok`` of the other).
:func:`identity_match_keys` is the one place clear identity fields become match keys, for the
pseudonymise stage and for on-the-fly linkage alike.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.privacy.actions import CLEAR_PRIVACY, Privacy, PseudonymisationError
from pipeline.privacy.normalise import (
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
    normalise_record_key,
    normalise_upn,
    phonetic,
    postcode_district,
    postcode_sector,
)
from pipeline.privacy.tokens import TokenMaker, as_token_maker, make_tokens

IDENTITY_FIELDS: Mapping[str, Privacy] = {
    "forename": Privacy.FORENAME, "surname": Privacy.SURNAME, "dob": Privacy.DOB, "sex": Privacy.KEEP,
    "postcode": Privacy.POSTCODE, "nhs_number": Privacy.NHS_NUMBER, "upn": Privacy.UPN,
}


def _as_dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, format="ISO8601", errors="raise")


def _two_digits(numbers: pd.Series) -> pd.Series:
    return numbers.map("{:02d}".format, na_action="ignore")


def _dob_outputs(values: pd.Series, column: str, key: TokenMaker) -> dict[str, pd.Series]:
    dates = _as_dates(values)
    clear = "" if column == "dob" else f"{column}_"
    month = dates.dt.month.astype("Int64")
    day = dates.dt.day.astype("Int64")
    return {
        f"{column}_tok": make_tokens(dates.dt.strftime("%Y-%m-%d"), "dob", key),
        f"{column}_year_tok": make_tokens(dates.dt.year.astype("Int64"), "dob_year", key),
        f"{column}_month_tok": make_tokens(_two_digits(month), "dob_day_month", key),
        f"{column}_day_tok": make_tokens(_two_digits(day), "dob_day_month", key),
        f"{clear}birth_year": dates.dt.year.astype("Int64"),
        f"{clear}birth_month": month,
    }


def _tokenised_outputs(values: pd.Series, privacy: Privacy, column: str, key: TokenMaker) -> dict[str, pd.Series]:
    if privacy is Privacy.RECORD_KEY:
        return {f"{column}_tok": make_tokens(normalise_record_key(values), column, key)}
    if privacy is Privacy.NHS_NUMBER:
        return {f"{column}_tok": make_tokens(normalise_nhs_number(values), "nhs_number", key)}
    if privacy is Privacy.UPN:
        return {f"{column}_tok": make_tokens(normalise_upn(values), "upn", key)}
    if privacy in (Privacy.FORENAME, Privacy.SURNAME):
        names = normalise_name(values)
        return {
            f"{column}_tok": make_tokens(names, "name", key),
            f"{column}_phon_tok": make_tokens(phonetic(names), "name_phonetic", key),
            f"{column}_initial_tok": make_tokens(names.str.slice(0, 1), "name_initial", key),
        }
    if privacy is Privacy.DOB:
        return _dob_outputs(values, column, key)
    if privacy is Privacy.POSTCODE:
        return {
            f"{column}_tok": make_tokens(normalise_postcode(values), "postcode", key),
            f"{column}_sector_tok": make_tokens(postcode_sector(values), "postcode_sector", key),
            f"{column}_district_tok": make_tokens(postcode_district(values), "postcode_district", key),
        }
    raise PseudonymisationError(f"{column}: unknown privacy action {privacy!r}")


def column_outputs(
    values: pd.Series, privacy: Privacy, column: str, key: bytes | TokenMaker
) -> dict[str, pd.Series]:
    """The output columns one staged column becomes under its privacy action (docs/contracts.md).

    ``lsoa_imd_decile`` for postcodes needs a lookup, so :func:`pseudonymise_table` adds it.
    Tokenised outputs are built once per distinct value and mapped back to the rows (a missing
    value gives missing outputs), since identifier columns repeat each value many times.
    """
    if privacy in CLEAR_PRIVACY:  # the ethnicity group is added by pseudonymise_table
        return {column: values}
    if privacy is Privacy.DROP:
        return {}
    maker = as_token_maker(key)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=values.dtype, name=values.name)
    made = _tokenised_outputs(distinct, privacy, column, maker)
    return {
        name: pd.Series(out.array.take(codes, allow_fill=True), index=values.index, dtype=out.dtype)
        for name, out in made.items()
    }


def identity_match_keys(df: pd.DataFrame, key: bytes | TokenMaker) -> pd.DataFrame:
    """Match keys for clear identity fields, exactly as :func:`pseudonymise_table` makes them.

    Args:
        df: any subset of ``forename``, ``surname``, ``dob`` (datetime64), ``sex``, ``postcode``,
            ``nhs_number``, ``upn``; other columns are ignored.
        key: the pseudonymisation key.

    Returns:
        Same index as ``df``: ``forename_tok``/``_phon_tok``/``_initial_tok``, the same for surname,
        ``dob_tok``, ``dob_year_tok``, ``dob_month_tok``, ``dob_day_tok``, ``birth_year``,
        ``birth_month``, ``sex``, ``postcode_tok``/``_sector_tok``/``_district_tok``,
        ``nhs_number_tok``, ``upn_tok`` — for the fields present.
    """
    maker = as_token_maker(key)
    outputs: dict[str, pd.Series] = {}
    for column in df.columns:
        if column in IDENTITY_FIELDS:
            outputs |= column_outputs(df[column], IDENTITY_FIELDS[column], column, maker)
    return pd.DataFrame(outputs, index=df.index)


def name_edit_tokens(values: pd.Series, key: bytes | TokenMaker) -> pd.Series:
    """Tokens of each normalised name and of every string one letter shorter, as a sorted list per row.

    Two names share a token exactly when they are within about one typing error: a letter added,
    dropped or changed, or two neighbouring letters swapped (``smith``/``smyth`` share ``smth``).
    Linkage compares the lists by intersection, so a typo counts as evidence without the name
    ever leaving its token. Each token stands for a name or a name less one letter, in its own
    domain ``name_edit`` (not comparable with ``name`` tokens); the list length tells the name's
    length. Missing names give NA.
    """
    names = normalise_name(values)
    # each distinct name once (names repeat), and the lists cut from one sorted array: a per-row Python
    # aggregation took most of link-pair's tokenising time
    distinct = pd.unique(names.dropna().to_numpy())
    owner = [i for i, s in enumerate(distinct) for _ in range(len({s, *(s[:j] + s[j + 1:] for j in range(len(s)))}))]
    flat = [v for s in distinct for v in {s, *(s[:j] + s[j + 1:] for j in range(len(s)))}]
    tokens = make_tokens(pd.Series(flat, dtype="string"), "name_edit", as_token_maker(key))
    kept = pd.DataFrame({"owner": owner, "token": tokens.to_numpy()}).dropna().sort_values(["owner", "token"])
    cuts = np.flatnonzero(np.diff(kept["owner"].to_numpy())) + 1
    lists = [part.tolist() for part in np.split(kept["token"].to_numpy(dtype=object), cuts)] if len(kept) else []
    by_name = pd.Series(lists, index=distinct[np.unique(kept["owner"].to_numpy())], dtype=object)
    lists = by_name.reindex(names.fillna("").to_numpy())  # "" is never a distinct name: missing stays NaN
    return pd.Series(lists.to_numpy(), index=values.index, dtype=object, name=values.name)


def postcode_tokens_beyond_uk(values: pd.Series, key: bytes | TokenMaker, column: str = "postcode") -> pd.DataFrame:
    """Tokens for postcodes that are not full UK postcodes, which :func:`identity_match_keys` leaves NA.

    - A partial UK postcode keeps what it has: ``"AB1 2"`` gives a sector and district token,
      ``"AB1"`` a district token (same domains as full postcodes, so they meet them there).
    - Any other code of 3-10 letters and digits (another country's postcode) is tokenised as
      written, upper-case without spaces, in the ``postcode`` domain; it agrees only with itself.

    Returns:
        Same index as ``values``: ``<column>_tok``, ``<column>_sector_tok``, ``<column>_district_tok``
        (NA where a full UK postcode or nothing usable was given).
    """
    maker = as_token_maker(key)
    spaced = values.astype("str").where(values.notna()).str.upper().str.strip().str.replace(r"\s+", " ", regex=True)
    compact = spaced.str.replace(" ", "", regex=False)
    is_uk = normalise_postcode(values).notna()
    # "AB12" alone is read as a district: without the space it cannot be told from "AB1 2"
    outward = spaced.str.extract(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?: ([0-9]))?$")
    partial = outward[0].notna() & ~is_uk
    sector = (outward[0] + " " + outward[1]).where(partial & outward[1].notna())
    district = outward[0].where(partial)
    foreign = compact.where(~is_uk & ~partial & compact.str.fullmatch(r"[A-Z0-9]{3,10}").fillna(False))
    return pd.DataFrame(
        {
            f"{column}_tok": make_tokens(foreign, "postcode", maker),
            f"{column}_sector_tok": make_tokens(sector, "postcode_sector", maker),
            f"{column}_district_tok": make_tokens(district, "postcode_district", maker),
        },
        index=values.index,
    )
