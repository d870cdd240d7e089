"""Cell checks on a freshly read text frame, before any typing: what no export should ever hold.

- a NUL byte in a cell (binary junk, or a file cut and pasted from another format): row quarantined
  with ``nul_byte_in_<column>``;
- a cell longer than ``MAX_CELL_CHARS`` (a 50 MB "name" is a broken export or an attack, never a
  name): row quarantined with ``field_too_long_in_<column>``;
- a byte-order mark inside the file (two exports concatenated): the invisible character is removed
  so it cannot become part of a record key, and the value is flagged ``stray_bom``;
- a row repeating the header (the second file's header after concatenation): quarantined with
  ``repeated_header``.

Flags go into ``_reader_flags`` as ``<source column>:<rule>`` (``:<rule>`` for a whole row), which
``pipeline.ingest.tables`` turns into row-level reasons or field-level counts. Values are never logged.
"""

from __future__ import annotations

import pandas as pd

from pipeline.sources.readers import TEXT

MAX_CELL_CHARS = 10_000
BOM = "\ufeff"
# reader rules that quarantine the row (the rest are field-level notes); the first two name the column
ROW_RULES_WITH_COLUMN = frozenset({"nul_byte", "field_too_long"})
ROW_RULES = ROW_RULES_WITH_COLUMN | {"short_row", "truncated_last_line", "repeated_header"}
FIELD_RULES = frozenset({"stray_bom"})


def _add_flags(flags: pd.Series, mask: pd.Series, flag: str) -> pd.Series:
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return flags
    joined = (flags.where(flags.notna(), "") + ";" + flag).str.lstrip(";")
    return flags.where(~mask, joined)


def check_cells(frame: pd.DataFrame, columns: list[str], *, header_rows: bool = True) -> pd.DataFrame:
    """Flag NUL bytes, over-long cells and repeated header rows; strip stray byte-order marks.

    Args:
        frame: text frame from a reader (source column names, ``_source_file``, ``_source_row``,
            optionally ``_reader_flags``).
        columns: the source columns to check (the table's declared columns present in ``frame``;
            undeclared columns are dropped later and never reach staged data).
        header_rows: look for rows repeating the header (CSV only).

    Returns:
        ``frame`` with BOMs removed from ``columns`` and ``_reader_flags`` extended; ``attrs`` kept.
    """
    attrs = frame.attrs
    flags = frame["_reader_flags"] if "_reader_flags" in frame.columns else pd.Series(None, index=frame.index)
    flags = flags.astype(TEXT)
    # a reader's hints (found on the whole text at once) spare a scan of every cell when clean
    nul = attrs.get("may_hold_nul", True)
    bom = attrs.get("may_hold_bom", True)
    long = attrs.get("longest_record", MAX_CELL_CHARS + 1) > MAX_CELL_CHARS
    cleaned = {}
    for col in columns if nul or bom or long else []:
        text = frame[col]
        if not text.notna().any():
            continue
        if nul:
            flags = _add_flags(flags, text.str.contains("\x00", regex=False), f"{col}:nul_byte")
        if long:
            flags = _add_flags(flags, text.str.len() > MAX_CELL_CHARS, f"{col}:field_too_long")
        has_bom = text.str.contains(BOM, regex=False) if bom else None
        if has_bom is not None and has_bom.fillna(False).any():
            flags = _add_flags(flags, has_bom, f"{col}:stray_bom")
            cleaned[col] = text.str.replace(BOM, "", regex=False)
    out = frame.assign(**cleaned) if cleaned else frame
    if header_rows and columns:
        # the first column narrows the rows to compare (a header repeat matches every column)
        first = columns[0]
        candidates = out.index[out[first].str.strip().str.lower().eq(first.strip().lower()).fillna(False)]
        repeats = pd.Series(False, index=out.index)
        if len(candidates):
            same = pd.Series(True, index=candidates)
            for col in columns:
                same &= out.loc[candidates, col].str.strip().str.lower().eq(col.strip().lower()).fillna(False)
            repeats.loc[candidates] = same
        flags = _add_flags(flags, repeats, ":repeated_header")
    out = out.assign(_reader_flags=flags)
    out.attrs = attrs
    return out
