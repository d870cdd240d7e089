"""What a raw file's path says: census date from a school census file name, collection year from
an SSDA903 year folder or a CIN file name, and the year inferred when the path says nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from pipeline.sources.readers import repeated_text

_CENSUS_YEAR = re.compile(r"(?<!\d)(\d{4})_spring_", re.IGNORECASE)
_YEAR_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def third_thursday_of_january(year: int) -> date:
    """Spring census day: the third Thursday of January of ``year``."""
    first = date(year, 1, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=14)


def census_date_from_name(name: str) -> date | None:
    """``2025_spring_pupilonroll.csv`` -> 2025-01-16; None when the name carries no year."""
    match = _CENSUS_YEAR.search(name)
    return third_thursday_of_january(int(match.group(1))) if match else None


def collection_year_from_path(path: Path) -> int | None:
    """Collection year (ending 31 March) from a ``YYYY`` folder or a ``cin_YYYY.xml`` name."""
    if re.fullmatch(r"(19|20)\d{2}", path.parent.name):
        return int(path.parent.name)
    match = _YEAR_IN_NAME.search(path.stem)
    return int(match.group(1)) if match else None


def infer_collection_year(dates: pd.Series) -> int | None:
    """The collection year (ending 31 March) holding the latest of ``dates``.

    Used for SSDA903 files with no year folder: a return holds episodes open in its year, so its
    latest start or end date falls inside it.
    """
    latest = dates.max()
    if pd.isna(latest):
        return None
    return latest.year + 1 if (latest.month, latest.day) > (3, 31) else latest.year


def add_path_columns(
    frame: pd.DataFrame,
    spec_from_path: tuple[str, ...],
    *,
    census_date: date | None,
    collection_year: int | None,
) -> pd.DataFrame:
    """Add the columns a spec derives from the path (as text, typed later like any column)."""
    values = {
        "census_date": census_date.isoformat() if census_date else None,
        "collection_year": str(collection_year) if collection_year else None,
    }
    return frame.assign(**{name: repeated_text(values[name], frame.index) for name in spec_from_path})
