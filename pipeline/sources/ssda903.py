"""SSDA903 specifics: the XML form of the return, and SEX codes that changed in 2024/25.

The CSV return is read like any CSV; some systems export the same return as XML
(``EXPSSDA903/CHILD/HEADER`` + ``EPISODE``), flattened here to the CSV's column names.
"""

from __future__ import annotations

import pandas as pd
from lxml import etree

HEADER_FIELDS = {
    "CHILD": "CHILDID",
    "SEX": "SEX",
    "DOB": "DOB",
    "ETHNIC": "ETHNIC",
    "UPN": "UPN",
    "MOTHER": "MOTHER",
    "MC_DOB": "MC_DOB",
}
EPISODE_FIELDS = {
    "DECOM": "DECOM",
    "RNE": "RNE",
    "LS": "LS",
    "CIN": "CIN",
    "PLACE": "PL",
    "PLACE_PROVIDER": "PLACE_PROVIDER",
    "DEC": "DEC",
    "REC": "REC",
    "REASON_PLACE_CHANGE": "REASON_PLACE_CHANGE",
    "HOME_POST": "HOME_POST",
    "PL_POST": "PL_POST",
    "URN": "URN",
}
OLD_SEX, NEW_SEX = frozenset({"1", "2"}), frozenset({"M", "F", "U"})


def _text(parent, tag: str) -> str | None:
    value = parent.findtext(tag) if parent is not None else None
    return value.strip() if value and value.strip() else None


def flatten_903_xml(tree: etree._ElementTree, file: str) -> dict[str, pd.DataFrame]:
    """Flatten an ``EXPSSDA903`` document to ``cla_header`` and ``cla_episode`` text frames.

    Columns take the CSV return's names; ``_source_row`` is the line of the HEADER/EPISODE element.
    """
    headers, episodes = [], []
    for child in tree.getroot().iterfind("CHILD"):
        header = child.find("HEADER")
        child_id = _text(header, "CHILDID")
        row = header.sourceline if header is not None else child.sourceline
        headers.append({**{k: _text(header, v) for k, v in HEADER_FIELDS.items()}, "_source_row": row})
        for ep in child.iterfind("EPISODE"):
            episodes.append(
                {
                    "CHILD": child_id,
                    **{k: _text(ep, v) for k, v in EPISODE_FIELDS.items()},
                    "_source_row": ep.sourceline,
                }
            )
    frames = {
        "cla_header": pd.DataFrame(headers, columns=[*HEADER_FIELDS, "_source_row"]),
        "cla_episode": pd.DataFrame(episodes, columns=["CHILD", *EPISODE_FIELDS, "_source_row"]),
    }
    return {
        name: frame.astype({c: "str" for c in frame.columns if c != "_source_row"})
        .astype({"_source_row": "int64"})
        .assign(_source_file=file)
        for name, frame in frames.items()
    }


def flag_sex_code_year(frame: pd.DataFrame, year: int | None) -> pd.DataFrame:
    """Flag SEX codes from the other coding era (1/2 to 2023/24, M/F/U from 2024/25).

    Both eras map to canonical M/F/U; a mismatch is still counted (``SEX:sex_code_other_year``)
    because it usually means a file sits in the wrong year folder.
    """
    if year is None or "SEX" not in frame.columns:
        return frame
    expected_old = year <= 2024
    codes = frame["SEX"].astype("str").str.strip().str.upper()
    wrong = codes.isin(list(NEW_SEX if expected_old else OLD_SEX))
    flag = pd.Series("SEX:sex_code_other_year", index=frame.index, dtype="str").where(wrong, None)
    existing = (
        frame["_reader_flags"] if "_reader_flags" in frame.columns else pd.Series(None, index=frame.index)
    )
    combined = existing.astype("str").str.cat(flag, sep=";", na_rep="").str.strip(";")
    return frame.assign(_reader_flags=combined.where(combined != "", None).astype("str"))
