"""Refuse a date column that is mostly not in a format riskpipe reads, rather than guess per value.

Riskpipe reads ``dd/mm/yyyy``, ``yyyy-mm-dd`` and ``2025-Feb-16 00:00:00``. A file exported with US
dates (``mm/dd/yyyy``) is the danger: every date with a day of 12 or less parses, swapped, and only the
rest fail. A few failures in a column are typing slips (quarantined or nulled row by row); a large
share (or, in a small file, two or more dates that only read as ``mm/dd/yyyy``) means the whole column
is in another format, so the file is refused, naming the column, the
share, the first failing line and, where the failures read as ``mm/dd/yyyy``, saying so.
"""

from __future__ import annotations

import pandas as pd

from pipeline.sources.errors import IngestError
from pipeline.sources.spec import Kind, TableSpec

MIN_FAILURES = 3  # fewer failing values in a file's column are slips, handled row by row
MAX_FAILING_SHARE = 0.10  # above this share of a column's dates failing, the column's format is wrong
MIN_US_DATES = 2  # this many dates valid only as mm/dd/yyyy (above the share) mark a US column even in a small file


def check_date_formats(raw: pd.DataFrame, problems: pd.DataFrame, spec: TableSpec) -> None:
    """Raise when, in one file, a date column has many values in no format riskpipe reads.

    Args:
        raw: the table's text frame (canonical column names, ``_source_file``, ``_source_row``).
        problems: typing problems from ``coerce_columns`` (``row``, ``column``, ``rule``, ``level``).
        spec: the table's declaration (date columns are ``Kind.DATE``; messages use source names).

    Raises:
        IngestError: naming the file, the source column, the failing count and share, the first
            failing line, and how many failures are valid ``mm/dd/yyyy`` (US) dates.
    """
    tally = DateFormatTally(spec)
    tally.add(raw, problems)
    tally.check()


class DateFormatTally:
    """Counts per file and date column, added block by block, so a file read in row blocks is judged whole.

    For each (source file, date column): dates present, dates failing, failures valid as ``mm/dd/yyyy``
    and the first failing line. :meth:`check` applies the rule of :func:`check_date_formats` to the sums.
    """

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.present: dict[tuple[str, str], int] = {}
        self.failing: dict[tuple[str, str], list[int]] = {}  # (file, column) -> [count, us dates, first line]

    def add(self, raw: pd.DataFrame, problems: pd.DataFrame) -> None:
        """Count one block (``raw`` and its ``problems``, rows numbered as ``raw``'s index)."""
        failing = problems[problems["rule"].isin(["unparseable_date", "unparseable_dob"])]
        for col in (c for c in self.spec.columns if c.kind == Kind.DATE):
            # every block counts its dates present: a file's share is judged over all its blocks
            present = raw[col.name].str.strip().replace("", None).notna()
            for file, n in raw.loc[present, "_source_file"].value_counts().items():
                key = (str(file), col.name)
                self.present[key] = self.present.get(key, 0) + int(n)
            rows = failing.loc[failing["column"] == col.name, "row"]
            for file, group in raw.loc[rows].groupby("_source_file", sort=True):
                us = int(pd.to_datetime(group[col.name].str.strip(), format="%m/%d/%Y", errors="coerce").notna().sum())
                first = int(group["_source_row"].min())
                seen = self.failing.setdefault((str(file), col.name), [0, 0, first])
                seen[0] += len(group)
                seen[1] += us
                seen[2] = min(seen[2], first)

    def check(self) -> None:
        """Raise for the first (column in spec order, file in name order) whose failures mark a wrong format."""
        for col in (c for c in self.spec.columns if c.kind == Kind.DATE):
            mine = {f: v for (f, c), v in self.failing.items() if c == col.name}
            if sum(v[0] for v in mine.values()) < MIN_US_DATES:
                continue
            for file in sorted(mine):
                count, us, first = mine[file]
                total = self.present[(file, col.name)]
                share = count / total
                many_failures = count >= MIN_FAILURES and share > MAX_FAILING_SHARE
                # in a small file two dates that only read as mm/dd are evidence enough
                us_evidence = us >= MIN_US_DATES and us / total > MAX_FAILING_SHARE
                if not (many_failures or us_evidence):
                    continue
                hint = (
                    f"; {us} of them are valid as mm/dd/yyyy (US dates), so the day-12-or-less dates in this "
                    "column would be read with day and month swapped"
                    if us
                    else ""
                )
                raise IngestError(
                    file,
                    f"column {col.source}: {count} of {total} dates ({share:.0%}) are not dd/mm/yyyy, "
                    f"yyyy-mm-dd or yyyy-Mon-dd (first at line {first}){hint}; "
                    "re-export the column as dd/mm/yyyy or yyyy-mm-dd",
                )
