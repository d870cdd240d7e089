"""Read a CLD submission's linked-person fields as rows: one per ``Adult_n_Linked_Person_ID`` given.

A CLD row for a carer names up to three people cared for (``Adult_1/2/3_Linked_Person_ID``, Release 2).
Those are other people's record keys, so ``cld_carer_link`` stages each under the person key's own
name (``la_person_id``), one row per link, keeping the CLD row's ``_source_file`` and ``_source_row``:
the carer is whoever ``cld_event`` read from that same row. Submissions before Release 2 carry no such
columns and give no links.
"""

from __future__ import annotations

import pandas as pd

from pipeline.sources.errors import IngestError

LINK_SLOTS = (1, 2, 3)
TRACE = ("_source_file", "_source_row", "_reader_flags")
CARRIED = ("Reporting_Period_End_Date",)


def linked_person_rows(frame: pd.DataFrame, file: str) -> pd.DataFrame:
    """One row per non-blank ``Adult_n_Linked_Person_ID`` of ``frame`` (a CLD file read as text).

    Args:
        frame: text frame of one CLD file: source column names (matched case-insensitively),
            ``_source_file``, ``_source_row`` and ``_reader_flags``.
        file: the file's name as reported (for errors).

    Returns:
        ``Linked_Person_ID``, ``Linked_Person_Slot`` (1-3), ``CLD_Row`` (the line of the CLD row, so two
        rows linking the same person are not taken for duplicates), ``Reporting_Period_End_Date`` and
        the trace columns, rows in file order then slot order; ``attrs`` kept.

    Raises:
        IngestError: the file has no ``Reporting_Period_End_Date`` column (not a CLD submission).
    """
    by_lower = {str(c).lower(): c for c in frame.columns}
    missing = [c for c in CARRIED if c.lower() not in by_lower]
    if missing:
        raise IngestError(file, f"required column(s) missing for cld_carer_link: {', '.join(missing)}")
    trace = [c for c in TRACE if c in frame.columns]
    carried = [by_lower[c.lower()] for c in CARRIED]
    parts = []
    for slot in LINK_SLOTS:
        column = by_lower.get(f"adult_{slot}_linked_person_id")
        if column is None:
            given = pd.Series(False, index=frame.index)
            ids = pd.Series(None, index=frame.index, dtype="str")
        else:
            ids = frame[column]
            given = ids.notna() & ids.astype("str").str.strip().ne("")
        part = frame.loc[given, [*trace, *carried]].copy()
        part.columns = [*trace, *CARRIED]
        part.insert(0, "CLD_Row", part["_source_row"].astype("str") if "_source_row" in part else None)
        part.insert(0, "Linked_Person_Slot", pd.Series(str(slot), index=part.index, dtype="str"))
        part.insert(0, "Linked_Person_ID", ids[given].astype("str"))
        parts.append(part)
    out = pd.concat(parts)
    if "_source_row" in out.columns:
        out = out.sort_values(["_source_row", "Linked_Person_Slot"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs = dict(frame.attrs)
    return out
