"""The vocabulary of a source-table spec: columns, types, code lists, keys and privacy actions.

A spec is data, not code (after liia-tools): ingest reads it to parse, validate and report; pseudonymise
reads the privacy action of every column to decide what survives. A column with no privacy action
cannot be declared, so a new column can never slip through pseudonymisation by omission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pipeline.privacy.actions import Privacy


class Kind(StrEnum):
    """Canonical type of a staged column."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    DATE = "date"
    BOOL = "bool"


@dataclass(frozen=True)
class Column:
    """One canonical column of a staged table.

    Attributes:
        name: canonical snake_case name in data/staged.
        source: the column name in the source file (matched case-insensitively).
        kind: canonical type.
        privacy: what pseudonymise does with it (required, keyword-only: there is no default).
        required: the source file must contain this column (file-level error if not).
        row_required: a row with no usable value is quarantined (e.g. the record key, date of birth).
        codes: allowed codes; others are flagged (field-level) and kept or nulled per ``on_bad_code``.
        validator: name of a field check (``nhs_number``, ``upn``, ``postcode``), flagged when failing.
        on_invalid: ``null`` (value removed, counted) or ``flag`` (value kept, counted).
        recode: source code -> canonical code, applied before the code list (e.g. SEX 1 -> M).
        valid_range: inclusive (low, high) for numbers; values outside are flagged.
        future_ok: a date after the extract date is expected (e.g. a planned end date), not impossible.
    """

    name: str
    source: str
    kind: Kind = Kind.STR
    privacy: Privacy = field(kw_only=True)  # required: no column without a privacy action
    required: bool = True
    row_required: bool = False
    codes: frozenset[str] | None = None
    validator: str | None = None
    on_invalid: str = "flag"
    recode: Mapping[str, str] | None = None
    valid_range: tuple[float, float] | None = None
    future_ok: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A staged table and how to read it from its source files."""

    name: str
    source: str  # the name of the Source that declares it (pipeline/sources/registry.py)
    description: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    files: str = ""  # glob under the source's raw folder
    extra: dict = field(default_factory=dict)
    reader: str = "csv"  # csv | cin_xml (one XML file gives several tables)
    from_path: tuple[str, ...] = ()  # columns the reader derives from the file path (census_date, ...)
    date_order: tuple[tuple[str, str], ...] = ()  # (earlier, later): later < earlier quarantines the row
    # an extract many councils do not hold (GP, ONS deaths, ECDS): absent files are reported, not an error
    optional: bool = False
    # columns a row must hold at least one of (identifiers of an event file): a row with none is quarantined
    # as ``no_<a>_<b>_or_<c>``
    identified_by: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")
