"""The CIN census XML return, written from flat tables, and its XSD check.

One file per collection year ending 31 March ``year``. Years up to 2024 follow
``CIN_schema_2024.xsd`` (``GenderCurrent`` 1/2/0/9); 2025 onwards follow ``CIN_schema_2026.xsd``
(``Sex`` M/F/U). Elements are written in exactly the order the schemas' sequences require.

The writer writes what it is given: choosing the children and episodes open in the year, and
blanking dates after the reference date, is the caller's job. Two things are derived, as a case
system would: ``InitialCPCtarget`` (15 working days after the section 47 start) and, unless
``cp_plans`` carries a ``review_dates`` column, the statutory review schedule of each CP plan
(first review 3 months after the start, then every 6 months, up to the plan end or the reference
date). The file is assembled as text, vectorised per table (an lxml tree of 15,000 children is
several times slower); every text value is XML-escaped.

- ``writer``: ``cin_census_xml`` (the public entry point) and the columns each table needs.
- ``blocks``: the Child, CINdetails, Assessments, Section47, CP plan and CIN plan blocks.
- ``fragments``: escaped text, element lines and nesting, a column at a time.
- ``schemas``: which XSD a year follows, and ``validate_cin_xml``.
"""

from __future__ import annotations

from pipeline.synthetic.cin_xml.schemas import FIRST_SEX_YEAR, XSD_DIR, validate_cin_xml, xsd_path
from pipeline.synthetic.cin_xml.writer import REQUIRED_COLUMNS, cin_census_xml

__all__ = ["FIRST_SEX_YEAR", "REQUIRED_COLUMNS", "XSD_DIR", "cin_census_xml", "validate_cin_xml", "xsd_path"]
